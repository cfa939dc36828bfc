package experiments

import (
	"errors"
	"fmt"
	"sort"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
)

// Pos is a position in a spec file: 1-based line and byte column.
type Pos struct {
	Line, Col int
}

// tkind is the shape of a TOML tree node.
type tkind int

const (
	tTable tkind = iota + 1
	tArray
	tScalar
)

// tnode is a TOML value with the positions of its key and value, so that
// every problem found while mapping it onto a struct can be reported where
// it is in the file.
type tnode struct {
	kind   tkind
	keyPos Pos // the key naming this node (a table header's key part)
	valPos Pos // the value itself; keyPos for tables and empty arrays
	offset int // byte offset of the key, for ordering sweep keys

	keys []string // table: keys in order of first appearance
	kids map[string]*tnode

	items []*tnode // array, including arrays of tables
	aot   bool     // array of tables ([[x]])

	sk   unstable.Kind // scalar: TOML kind
	data string        // scalar: decoded string or raw literal
}

func (n *tnode) child(key string) *tnode {
	if n.kind != tTable {
		return nil
	}
	return n.kids[key]
}

func (n *tnode) add(key string, c *tnode) {
	if n.kids == nil {
		n.kids = map[string]*tnode{}
	}
	n.keys = append(n.keys, key)
	n.kids[key] = c
}

// tomlType names the TOML type of n for messages.
func (n *tnode) tomlType() string {
	switch n.kind {
	case tTable:
		return "a table"
	case tArray:
		return "an array"
	}
	switch n.sk {
	case unstable.String:
		return "a string"
	case unstable.Integer:
		return "an integer"
	case unstable.Float:
		return "a float"
	case unstable.Bool:
		return "a boolean"
	default:
		return "a date-time"
	}
}

// syntaxError is a TOML syntax error with its position.
type syntaxError struct {
	pos Pos
	msg string
}

// parseTree parses data into a positioned tree. It first lets go-toml decode
// the document, which checks everything TOML forbids (syntax, keys defined
// twice, tables redefined), then walks go-toml's AST to record positions.
func parseTree(data []byte) (*tnode, *syntaxError) {
	var scratch map[string]any
	if err := toml.Unmarshal(data, &scratch); err != nil {
		var de *toml.DecodeError
		if errors.As(err, &de) {
			line, col := de.Position()
			msg := de.Error()
			if len(msg) > 6 && msg[:6] == "toml: " {
				msg = msg[6:]
			}
			return nil, &syntaxError{pos: Pos{line, col}, msg: msg}
		}
		return nil, &syntaxError{pos: Pos{1, 1}, msg: err.Error()}
	}
	b := &treeBuilder{data: data, root: &tnode{kind: tTable, keyPos: Pos{1, 1}, valPos: Pos{1, 1}}}
	b.lineStarts = append(b.lineStarts, 0)
	for i, c := range data {
		if c == '\n' {
			b.lineStarts = append(b.lineStarts, i+1)
		}
	}
	b.p.Reset(data)
	cur := b.root
	for b.p.NextExpression() {
		e := b.p.Expression()
		var err error
		switch e.Kind {
		case unstable.Table:
			cur, err = b.header(e, false)
		case unstable.ArrayTable:
			cur, err = b.header(e, true)
		case unstable.KeyValue:
			err = b.keyValue(cur, e)
		}
		if err != nil {
			return nil, &syntaxError{pos: Pos{1, 1}, msg: err.Error()}
		}
	}
	if err := b.p.Error(); err != nil {
		return nil, &syntaxError{pos: Pos{1, 1}, msg: err.Error()}
	}
	return b.root, nil
}

type treeBuilder struct {
	p          unstable.Parser
	data       []byte
	root       *tnode
	lineStarts []int
}

func (b *treeBuilder) pos(r unstable.Range) Pos {
	off := int(r.Offset)
	i := sort.Search(len(b.lineStarts), func(i int) bool { return b.lineStarts[i] > off }) - 1
	return Pos{Line: i + 1, Col: off - b.lineStarts[i] + 1}
}

// descend returns the table key names inside t, creating it, and stepping
// into the last element of an array of tables as TOML prescribes.
func (b *treeBuilder) descend(t *tnode, key *unstable.Node) (*tnode, error) {
	name := string(key.Data)
	c := t.child(name)
	if c == nil {
		p := b.pos(key.Raw)
		c = &tnode{kind: tTable, keyPos: p, valPos: p, offset: int(key.Raw.Offset)}
		t.add(name, c)
		return c, nil
	}
	if c.kind == tArray && c.aot && len(c.items) > 0 {
		return c.items[len(c.items)-1], nil
	}
	if c.kind != tTable {
		return nil, fmt.Errorf("experiments: key %q is not a table", name)
	}
	return c, nil
}

// header handles [a.b] and [[a.b]], returning the table that the following
// key/value pairs belong to.
func (b *treeBuilder) header(e *unstable.Node, array bool) (*tnode, error) {
	var keys []*unstable.Node
	it := e.Key()
	for it.Next() {
		keys = append(keys, it.Node())
	}
	t := b.root
	for i, k := range keys {
		if array && i == len(keys)-1 {
			name := string(k.Data)
			p := b.pos(k.Raw)
			arr := t.child(name)
			if arr == nil {
				arr = &tnode{kind: tArray, aot: true, keyPos: p, valPos: p, offset: int(k.Raw.Offset)}
				t.add(name, arr)
			}
			if arr.kind != tArray || !arr.aot {
				return nil, fmt.Errorf("experiments: key %q is not an array of tables", name)
			}
			el := &tnode{kind: tTable, keyPos: p, valPos: p, offset: int(k.Raw.Offset)}
			arr.items = append(arr.items, el)
			return el, nil
		}
		var err error
		if t, err = b.descend(t, k); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// keyValue adds a (possibly dotted) key/value pair to table t.
func (b *treeBuilder) keyValue(t *tnode, e *unstable.Node) error {
	var keys []*unstable.Node
	it := e.Key()
	for it.Next() {
		keys = append(keys, it.Node())
	}
	for _, k := range keys[:len(keys)-1] {
		var err error
		if t, err = b.descend(t, k); err != nil {
			return err
		}
	}
	last := keys[len(keys)-1]
	v, err := b.value(e.Value(), b.pos(last.Raw))
	if err != nil {
		return err
	}
	v.keyPos = b.pos(last.Raw)
	v.offset = int(last.Raw.Offset)
	if v.kind == tArray {
		// Arrays carry no position of their own: find the '['.
		off := int(last.Raw.Offset + last.Raw.Length)
		for off < len(b.data) && (b.data[off] == ' ' || b.data[off] == '\t' || b.data[off] == '=') {
			off++
		}
		v.valPos = b.pos(unstable.Range{Offset: uint32(off)})
	}
	if t.child(string(last.Data)) != nil {
		return fmt.Errorf("experiments: key %q defined twice", last.Data)
	}
	t.add(string(last.Data), v)
	return nil
}

// value converts a value node; at is where to place containers that carry
// no position of their own.
func (b *treeBuilder) value(v *unstable.Node, at Pos) (*tnode, error) {
	switch v.Kind {
	case unstable.Array:
		n := &tnode{kind: tArray, valPos: at}
		it := v.Children()
		for it.Next() {
			c := it.Node()
			if c.Kind == unstable.Comment {
				continue
			}
			item, err := b.value(c, at)
			if err != nil {
				return nil, err
			}
			item.keyPos = item.valPos
			if len(n.items) == 0 {
				n.valPos = item.valPos
			}
			n.items = append(n.items, item)
		}
		return n, nil
	case unstable.InlineTable:
		p := b.pos(v.Raw)
		n := &tnode{kind: tTable, valPos: p}
		it := v.Children()
		for it.Next() {
			c := it.Node()
			if c.Kind != unstable.KeyValue {
				continue
			}
			if err := b.keyValue(n, c); err != nil {
				return nil, err
			}
		}
		return n, nil
	}
	return &tnode{kind: tScalar, sk: v.Kind, data: string(v.Data), valPos: b.pos(v.Raw)}, nil
}
