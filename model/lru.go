package model

// lru is a byte-bounded least-recently-used set of mailbox working sets, a
// backend's memory cache. Nodes live in one slice and link by index.
type lru struct {
	capacity, used int64
	idx            map[int32]int32 // mailbox -> node
	nodes          []lruNode
	head, tail     int32 // most and least recently used
	free           int32
}

type lruNode struct {
	key        int32
	bytes      int64
	prev, next int32
}

func newLRU(capacity int64) *lru {
	return &lru{capacity: capacity, idx: make(map[int32]int32), head: -1, tail: -1, free: -1}
}

// touch marks key as just used with the given size and reports whether it
// was cached already. A miss inserts it and evicts the least recently used
// entries until the cache fits.
func (c *lru) touch(key int32, bytes int64) bool {
	if n, ok := c.idx[key]; ok {
		c.used += bytes - c.nodes[n].bytes
		c.nodes[n].bytes = bytes
		c.unlink(n)
		c.pushFront(n)
		c.evict()
		return true
	}
	if bytes > c.capacity {
		return false
	}
	var n int32
	if c.free >= 0 {
		n = c.free
		c.free = c.nodes[n].next
	} else {
		c.nodes = append(c.nodes, lruNode{})
		n = int32(len(c.nodes) - 1)
	}
	c.nodes[n] = lruNode{key: key, bytes: bytes}
	c.idx[key] = n
	c.used += bytes
	c.pushFront(n)
	c.evict()
	return false
}

// drop removes key (its data was invalidated).
func (c *lru) drop(key int32) {
	n, ok := c.idx[key]
	if !ok {
		return
	}
	c.remove(n)
}

func (c *lru) evict() {
	for c.used > c.capacity && c.tail >= 0 {
		c.remove(c.tail)
	}
}

func (c *lru) remove(n int32) {
	c.unlink(n)
	delete(c.idx, c.nodes[n].key)
	c.used -= c.nodes[n].bytes
	c.nodes[n].next = c.free
	c.free = n
}

func (c *lru) unlink(n int32) {
	p, x := c.nodes[n].prev, c.nodes[n].next
	if p >= 0 {
		c.nodes[p].next = x
	} else {
		c.head = x
	}
	if x >= 0 {
		c.nodes[x].prev = p
	} else {
		c.tail = p
	}
}

func (c *lru) pushFront(n int32) {
	c.nodes[n].prev = -1
	c.nodes[n].next = c.head
	if c.head >= 0 {
		c.nodes[c.head].prev = n
	}
	c.head = n
	if c.tail < 0 {
		c.tail = n
	}
}
