package strategies

import (
	"fmt"
	"math"
	"net/netip"
	"time"
)

// Move tells the model that a director changed a user's backend outside a
// login: a HOST-RESET-USERS move, a HOST-FLUSH, or a host removal.
type Move struct {
	// Hash is the user hash ([UserHash]) of the moved entry. The director
	// keys its user table by hash, so a move (and its kick, which Dovecot
	// sends as KICK-DIRECTOR-HASH) applies to every user with this hash.
	Hash uint32
	// User is the name of the last user whose login refreshed the entry.
	User string
	// From is the backend the user was assigned to.
	From int
	// To is the user's new backend, or -1 when the entry was deleted and
	// the user's next login is hashed afresh.
	To int
	// Kicked is true when the director kicks the user's existing sessions
	// (HOST-RESET-USERS), false when they stay where they are until they
	// end by themselves (HOST-FLUSH, host removal).
	Kicked bool
	// At is when the move starts: the user's sessions are kicked then.
	// Moves beyond director_max_parallel_moves wait for earlier ones.
	At time.Duration
	// Done is when new logins for the user are let through again, to To.
	Done time.Duration
}

// userEntry is one entry of the director's user table.
type userEntry struct {
	hash    uint32
	backend int32
	user    string
	stamp   int64 // last refresh, whole seconds, as Dovecot's time_t
	// a move in progress (HOST-RESET-USERS): until moveAt the user stays on
	// backend; from moveAt it belongs to moveTo; logins wait until moveDone.
	moving           bool
	moveTo           int32
	moveAt, moveDone time.Duration
	prev, next       int32 // refresh-order list, -1 terminated
}

// placement is how a director-style router hashes a new user to a backend.
type placement uint8

const (
	placeRing    placement = iota // Dovecot's MD5 ring
	placeBounded                  // the ring with bounded loads
	placeMaglev                   // a Maglev lookup table
)

// Director is a Dovecot 2.3 director (or a variant with a different
// placement function) in front of the backends. It reproduces the
// director's behaviour:
//
//   - Placement of a user with no entry: the MD5 ring, bit for bit (see
//     [UserHash]; each usable backend has vhost_count points, point i at
//     MD5("<ip>-<i>"); the first point at or above the user's hash, with
//     Dovecot's binary search and wrap-around). Backends marked down, or
//     with vhost count 0, have no points. A dead backend that nothing has
//     marked down keeps its points.
//   - The user table: an entry lives until director_user_expire after the
//     user's last request (Dovecot counts whole seconds) and always wins
//     over the ring. Every request renews it, including a login that then
//     fails at the backend. Marking a host down keeps its entries: their
//     users keep being sent to it until they expire, are flushed or reset.
//     Adding a host or changing vhost counts moves nobody.
//   - HOST-RESET-USERS ([Director.ResetUsers]) moves each of a host's users
//     whose ring backend differs, kicking its sessions, at most
//     director_max_parallel_moves at a time, each taking the ring round
//     trip plus director_user_kick_delay; logins wait while a move runs.
//     HOST-FLUSH ([Director.FlushHost]) deletes the host's entries without
//     kicking.
//   - A new user waits while the ring is not synced (SyncDelay after a host
//     change); with no usable backend the login fails after the 30 s
//     request timeout.
//
// Several directors are modelled as one with a ring sync delay. With a
// single director (Directors 1) a near-expiry user simply proceeds, as in
// Dovecot when the director has no ring neighbour. With several, a user in
// the near-expiry window (the last 10 % of director_user_expire, clamped to
// 3..30 s) whose ring backend differs from its entry is moved there after a
// USER-WEAK round trip (SyncDelay), without kicking its sessions. Tags,
// the request queue's ordering, ring handshakes and per-director state are
// not modelled.
type Director struct {
	name     string
	place    placement
	p        DirectorParams
	epsilon  float64
	backends []Backend
	texts    []string
	vhosts   []int
	down     []bool
	removed  []bool

	ring    []ringPoint
	maglev  []int32
	mgSize  int
	dirty   bool
	usable  int // backends with ring points
	sumW    int // their total weight
	synced  time.Duration
	entries []userEntry
	free    []int32
	index   map[uint32]int32
	head    int32
	tail    int32
	loads   []int
	users   int
}

// newDirector returns a director-style router over backends.
func newDirector(name string, pl placement, backends []Backend, p Params) (*Director, error) {
	d := &Director{
		name:    name,
		place:   pl,
		p:       p.Director,
		epsilon: p.Bounded.Epsilon,
		mgSize:  p.Maglev.TableSize,
		index:   make(map[uint32]int32),
		head:    -1,
		tail:    -1,
		dirty:   true,
	}
	for _, b := range backends {
		if _, err := d.AddHost(0, b); err != nil {
			return nil, err
		}
	}
	d.synced = 0 // a director starts with its ring synced
	return d, nil
}

// Name returns the strategy's name.
func (d *Director) Name() string { return d.name }

// Params returns the director's settings.
func (d *Director) Params() DirectorParams { return d.p }

// AddHost adds a backend (doveadm director add) and returns its index.
// Nobody moves: existing users keep their entries, and only users without
// one may be hashed to the new host.
func (d *Director) AddHost(now time.Duration, b Backend) (int, error) {
	if err := checkDirectorBackend(b); err != nil {
		return 0, err
	}
	for i, o := range d.backends {
		if o.Addr == b.Addr && !d.removed[i] {
			return 0, fmt.Errorf("strategies: backend %s configured twice", b.Addr)
		}
	}
	d.backends = append(d.backends, b)
	d.texts = append(d.texts, ipText(b.Addr))
	d.vhosts = append(d.vhosts, b.Weight)
	d.down = append(d.down, false)
	d.removed = append(d.removed, false)
	d.loads = append(d.loads, 0)
	d.changed(now)
	return len(d.backends) - 1, nil
}

func checkDirectorBackend(b Backend) error {
	if !b.Addr.IsValid() {
		return fmt.Errorf("strategies: backend address is not set")
	}
	if b.Addr.Zone() != "" {
		return fmt.Errorf("strategies: backend %s: a director backend cannot have a zone", b.Addr)
	}
	if b.Weight < 0 || b.Weight > MaxVhostCount {
		return fmt.Errorf("strategies: backend %s: vhost count %d is outside 0..%d", b.Addr, b.Weight, MaxVhostCount)
	}
	return nil
}

// SetVhostCount changes a backend's vhost count (doveadm director add
// with a new count). Nobody moves until their entries expire or are
// flushed.
func (d *Director) SetVhostCount(now time.Duration, backend, count int) error {
	if err := checkDirectorBackend(Backend{Addr: d.backends[backend].Addr, Weight: count}); err != nil {
		return err
	}
	d.vhosts[backend] = count
	d.changed(now)
	return nil
}

// SetDown marks a backend down or up (HOST-DOWN, HOST-UP). It only changes
// the ring: the backend's users keep their entries.
func (d *Director) SetDown(now time.Duration, backend int, down bool) {
	if d.down[backend] == down {
		return
	}
	d.down[backend] = down
	d.changed(now)
}

// IsDown reports whether a backend is marked down.
func (d *Director) IsDown(backend int) bool { return d.down[backend] }

// changed records a host change: the ring is rebuilt on next use and the
// director ring is unsynced for SyncDelay.
func (d *Director) changed(now time.Duration) {
	d.dirty = true
	if s := now + d.p.SyncDelay; s > d.synced {
		d.synced = s
	}
}

// Closed does nothing: a director keeps no connection counts.
func (d *Director) Closed(Request, int) {}

// Route sends a login to its user's backend, creating or renewing the
// user's entry.
func (d *Director) Route(req Request) Decision {
	return d.route(req.Now, req.User, UserHash(req.User))
}

func (d *Director) route(now time.Duration, user string, hash uint32) Decision {
	sec := int64(now / time.Second)
	d.expire(now)
	dec := Decision{Entry: -1, Hops: 1, TerminatesTLS: true}
	if i, ok := d.index[hash]; ok && d.expired(&d.entries[i], now) {
		d.remove(i) // out of order behind a user being kicked
	}
	if i, ok := d.index[hash]; ok {
		e := &d.entries[i]
		settle(e, now)
		if e.moving {
			if now >= e.moveAt {
				e.backend = e.moveTo
				dec.Delay = e.moveDone - now
			}
		} else if d.p.Directors > 1 && d.nearExpiring(e, sec) {
			if now < d.synced {
				dec.Delay = d.synced - now
			}
			if b := d.pick(hash); b >= 0 && b != int(e.backend) {
				d.assign(e, int32(b))
				dec.Delay += d.p.SyncDelay
			}
		}
		e.user = user
		d.refresh(i, sec)
		dec.Backend = int(e.backend)
		return dec
	}
	if now < d.synced {
		dec.Delay = d.synced - now
	}
	b := d.pick(hash)
	if b < 0 {
		dec.Backend = -1
		dec.Delay = directorRequestTimeout
		return dec
	}
	d.add(hash, user, int32(b), sec)
	dec.Backend = b
	return dec
}

// ProxyRefresh returns how often a login proxy refreshes the entry of a
// user whose proxied session stays open: the director hands the login
// process proxy_refresh = director_user_expire/2 with every backend it
// returns (director/login-connection.c, login_host_callback), and the
// login process writes the user's name to the director's proxy-notify
// FIFO that often while the session lasts (login-common/login-proxy.c,
// login_proxy_detach and login_proxy_notify).
func (d *Director) ProxyRefresh() time.Duration { return d.p.UserExpire / 2 }

// Notify is the director's handling of a login proxy's refresh
// (director/notify-connection.c, notify_update_user): the user's entry,
// if it has one, is renewed as a request would renew it; a user without
// one is ignored.
func (d *Director) Notify(now time.Duration, user string) {
	d.expire(now)
	if i, ok := d.index[UserHash(user)]; ok {
		d.refresh(i, int64(now/time.Second))
	}
}

// Lookup returns the backend the user's entry names, without renewing it,
// or ok false when the user has no (unexpired) entry.
func (d *Director) Lookup(now time.Duration, user string) (backend int, ok bool) {
	d.expire(now)
	i, ok := d.index[UserHash(user)]
	if !ok || d.expired(&d.entries[i], now) {
		return -1, false
	}
	e := &d.entries[i]
	settle(e, now)
	if e.moving && now >= e.moveAt {
		return int(e.moveTo), true
	}
	return int(e.backend), true
}

// HashBackend returns the backend a user without an entry would be sent to
// now, or -1 when no backend is usable.
func (d *Director) HashBackend(user string) int { return d.pick(UserHash(user)) }

// Users returns the number of entries in the user table at now.
func (d *Director) Users(now time.Duration) int {
	d.expire(now)
	return d.users
}

// Loads appends to dst the number of user entries assigned to each backend
// at now, counting a user being moved at its new backend.
func (d *Director) Loads(now time.Duration, dst []int) []int {
	d.expire(now)
	return append(dst, d.loads...)
}

// ResetUsers is HOST-RESET-USERS (doveadm director flush): each user of
// backend whose ring backend is now different is moved there and its
// sessions are kicked; if no backend is usable, the user's sessions are
// kicked and its entry deleted. Users are taken in the table's refresh
// order, director_max_parallel_moves at a time; each move takes SyncDelay
// (the USER-MOVE and USER-KILLED rounds) plus director_user_kick_delay.
// Each moved user's entry is renewed. Users whose entries expire before
// their move starts are dropped, so their next login is hashed afresh.
func (d *Director) ResetUsers(now time.Duration, backend int) []Move {
	sec := int64(now / time.Second)
	d.expire(now)
	step := d.p.SyncDelay + d.p.UserKickDelay
	var moves []Move
	n := 0
	for i := d.head; i >= 0; {
		e := &d.entries[i]
		next := e.next
		settle(e, now)
		if int(e.backend) != backend || e.moving {
			i = next
			continue
		}
		to := d.pick(e.hash)
		if to == backend {
			i = next
			continue
		}
		at := now
		if d.p.MaxParallelMoves > 0 {
			at += time.Duration(n/d.p.MaxParallelMoves) * step
		}
		n++
		m := Move{Hash: e.hash, User: e.user, From: backend, To: to, Kicked: true, At: at, Done: at + step}
		if to < 0 {
			m.Done = at
			d.remove(i)
		} else {
			e.moving = true
			e.moveTo = int32(to)
			e.moveAt = at
			e.moveDone = at + step
			d.loads[backend]--
			d.loads[to]++
			d.refresh(i, sec)
		}
		moves = append(moves, m)
		i = next
	}
	return moves
}

// FlushHost is HOST-FLUSH (doveadm director flush -F): every entry of
// backend is deleted without kicking its sessions; the users' next logins
// are hashed afresh. The host change goes round the ring (SyncDelay).
func (d *Director) FlushHost(now time.Duration, backend int) []Move {
	d.expire(now)
	moves := d.dropHost(now, backend)
	d.changed(now)
	return moves
}

// RemoveHost is HOST-REMOVE: the backend leaves the ring for good and its
// entries are deleted without kicking. Its index stays reserved.
func (d *Director) RemoveHost(now time.Duration, backend int) []Move {
	d.expire(now)
	d.removed[backend] = true
	moves := d.dropHost(now, backend)
	d.changed(now)
	return moves
}

// Readd puts a removed backend back into the ring with the given vhost
// count (doveadm director add HOST VHOSTS after a remove), or, for a
// backend still in the ring, sets its vhost count. Nobody moves.
func (d *Director) Readd(now time.Duration, backend, vhosts int) error {
	if backend < 0 || backend >= len(d.backends) {
		return fmt.Errorf("strategies: backend %d does not exist", backend)
	}
	if err := checkDirectorBackend(Backend{Addr: d.backends[backend].Addr, Weight: vhosts}); err != nil {
		return err
	}
	d.removed[backend] = false
	d.vhosts[backend] = vhosts
	d.changed(now)
	return nil
}

// IsRemoved reports whether a backend was removed from the ring.
func (d *Director) IsRemoved(backend int) bool { return d.removed[backend] }

func (d *Director) dropHost(now time.Duration, backend int) []Move {
	var moves []Move
	for i := d.head; i >= 0; {
		e := &d.entries[i]
		next := e.next
		cur := e.backend
		if e.moving {
			cur = e.moveTo
		}
		if int(cur) == backend {
			moves = append(moves, Move{Hash: e.hash, User: e.user, From: backend, To: -1, At: now, Done: now})
			d.remove(i)
		}
		i = next
	}
	return moves
}

// nearExpiring reports whether e is in the near-expiry window: the last
// 10 % of director_user_expire, clamped to 3..30 s (user-directory.c).
func (d *Director) nearExpiring(e *userEntry, sec int64) bool {
	exp := int64(d.p.UserExpire / time.Second)
	win := min(max(exp/10, 3), 30)
	return sec > e.stamp+exp-win
}

// expire drops the entries whose last refresh is director_user_expire or
// longer ago, oldest first. As in Dovecot, an expired user whose kick is
// still running stays, and so do the entries behind it until it is done.
func (d *Director) expire(now time.Duration) {
	for d.head >= 0 && d.expired(&d.entries[d.head], now) {
		d.remove(d.head)
	}
}

// expired reports whether e has expired at now and is not being kicked.
func (d *Director) expired(e *userEntry, now time.Duration) bool {
	exp := int64(d.p.UserExpire / time.Second)
	if e.stamp+exp > int64(now/time.Second) {
		return false
	}
	return !(e.moving && now >= e.moveAt && now < e.moveDone)
}

// settle completes e's move if it is over by now.
func settle(e *userEntry, now time.Duration) {
	if e.moving && now >= e.moveDone {
		e.backend = e.moveTo
		e.moving = false
	}
}

// assign gives a settled entry a new backend.
func (d *Director) assign(e *userEntry, b int32) {
	d.loads[e.backend]--
	d.loads[b]++
	e.backend = b
}

func (d *Director) add(hash uint32, user string, b int32, sec int64) {
	var i int32
	if n := len(d.free); n > 0 {
		i = d.free[n-1]
		d.free = d.free[:n-1]
	} else {
		d.entries = append(d.entries, userEntry{})
		i = int32(len(d.entries) - 1)
	}
	d.entries[i] = userEntry{hash: hash, backend: b, user: user, stamp: sec, prev: -1, next: -1}
	d.index[hash] = i
	d.loads[b]++
	d.users++
	d.link(i)
}

func (d *Director) remove(i int32) {
	e := &d.entries[i]
	b := e.backend
	if e.moving {
		b = e.moveTo
	}
	d.loads[b]--
	d.users--
	delete(d.index, e.hash)
	d.unlink(i)
	*e = userEntry{}
	d.free = append(d.free, i)
}

// refresh renews entry i at sec and moves it to the list's tail, keeping
// the list in refresh order. A stamp earlier than the tail's (a move
// scheduled for a time already passed) keeps the tail's order.
func (d *Director) refresh(i int32, sec int64) {
	e := &d.entries[i]
	if sec > e.stamp {
		e.stamp = sec
	}
	if d.tail == i {
		return
	}
	d.unlink(i)
	if d.tail >= 0 && d.entries[d.tail].stamp > e.stamp {
		e.stamp = d.entries[d.tail].stamp
	}
	d.link(i)
}

func (d *Director) link(i int32) {
	e := &d.entries[i]
	e.prev, e.next = d.tail, -1
	if d.tail >= 0 {
		d.entries[d.tail].next = i
	} else {
		d.head = i
	}
	d.tail = i
}

func (d *Director) unlink(i int32) {
	e := &d.entries[i]
	if e.prev >= 0 {
		d.entries[e.prev].next = e.next
	} else {
		d.head = e.next
	}
	if e.next >= 0 {
		d.entries[e.next].prev = e.prev
	} else {
		d.tail = e.prev
	}
	e.prev, e.next = -1, -1
}

func (d *Director) usableHost(i int) bool {
	return !d.down[i] && !d.removed[i] && d.vhosts[i] > 0
}

// rebuild recomputes the ring (or Maglev table) after a host change.
func (d *Director) rebuild() {
	d.dirty = false
	d.usable, d.sumW = 0, 0
	for i := range d.backends {
		if d.usableHost(i) {
			d.usable++
			d.sumW += d.vhosts[i]
		}
	}
	switch d.place {
	case placeMaglev:
		d.maglev = buildMaglev(d.maglev, d.mgSize, d.texts, d.vhosts, d.usableHost)
	default:
		d.ring = buildRing(d.ring, d.backends, d.texts, d.vhosts, d.usableHost)
	}
}

// pick returns the backend a user without an entry is assigned to, or -1.
func (d *Director) pick(hash uint32) int {
	if d.dirty {
		d.rebuild()
	}
	switch d.place {
	case placeMaglev:
		if d.usable == 0 {
			return -1
		}
		return int(d.maglev[hash%uint32(len(d.maglev))])
	case placeBounded:
		return d.pickBounded(hash)
	}
	i := ringIndex(d.ring, hash)
	if i < 0 {
		return -1
	}
	return int(d.ring[i].backend)
}

// capacity returns backend b's bounded-load capacity with users assigned
// users: ⌈(1+ε)·users·w_b/W⌉.
func (d *Director) capacity(b, users int) int {
	return int(math.Ceil((1 + d.epsilon) * float64(users) * float64(d.vhosts[b]) / float64(d.sumW)))
}

// pickBounded walks the ring from the user's point to the first backend
// whose load is below its capacity, counting the new user in n.
func (d *Director) pickBounded(hash uint32) int {
	start := ringIndex(d.ring, hash)
	if start < 0 {
		return -1
	}
	n := d.users + 1
	for k := 0; k < len(d.ring); k++ {
		b := int(d.ring[(start+k)%len(d.ring)].backend)
		if d.loads[b] < d.capacity(b, n) {
			return b
		}
	}
	return int(d.ring[start].backend)
}

// BackendAddr returns a backend's configured address.
func (d *Director) BackendAddr(i int) netip.Addr { return d.backends[i].Addr }
