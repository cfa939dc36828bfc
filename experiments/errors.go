package experiments

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Error is one problem in a spec file.
type Error struct {
	File string // file name as given to the decoder
	Pos  Pos    // zero when the problem has no place in the file
	Key  string // path of the offending key, "cluster.backends", "faults[1].at"
	Msg  string
}

// Error formats e as "file:line:col: message (key a.b.c)".
func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteByte(':')
	}
	if e.Pos.Line > 0 {
		fmt.Fprintf(&b, "%d:%d:", e.Pos.Line, e.Pos.Col)
	}
	if b.Len() > 0 {
		b.WriteByte(' ')
	}
	b.WriteString(e.Msg)
	if e.Key != "" {
		b.WriteString(" (key ")
		b.WriteString(e.Key)
		b.WriteByte(')')
	}
	return b.String()
}

// Errors is every problem found in one or more spec files, in file and
// position order.
type Errors []*Error

// Error formats the errors one per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// sortErrors orders errors by position; errors without one come first, and
// equal positions keep the order they were found in.
func (es Errors) sort() {
	sort.SliceStable(es, func(i, j int) bool {
		a, b := es[i].Pos, es[j].Pos
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
}

// FieldError is a cross-field problem found by a spec's own validation,
// located by the key path of the value at fault.
type FieldError struct {
	// Path is the key path from the struct whose Validate method reported
	// it: "backends", "faults[2].backend".
	Path string
	// Msg says what is wrong, in lower case: "backend 5 does not exist
	// (cluster.backends = 4)".
	Msg string
}

// Validator is implemented by spec types, and by the types of their
// sections, that check rules involving more than one key. The decoder calls
// Validate on every value that implements it, after all keys are decoded and
// range-checked, and reports each FieldError at the position of its path in
// the file (or of the nearest enclosing table that is in the file).
type Validator interface {
	Validate() []FieldError
}

// joinKey appends key to a dotted path, quoting it if it is not a bare TOML
// key.
func joinKey(path, key string) string {
	if !isBareKey(key) {
		key = strconv.Quote(key)
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

func isBareKey(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// pathStep is one step of a key path: a key, optionally followed by an
// index into an array.
type pathStep struct {
	key   string
	index int // -1 for none
}

// splitPath parses "a.b[2].\"c.d\"" into steps; ok is false if it is
// malformed.
func splitPath(path string) ([]pathStep, bool) {
	var steps []pathStep
	for len(path) > 0 {
		var key string
		if path[0] == '"' {
			end := strings.IndexByte(path[1:], '"')
			if end < 0 {
				return nil, false
			}
			key, path = path[1:end+1], path[end+2:]
		} else {
			end := strings.IndexAny(path, ".[")
			if end < 0 {
				end = len(path)
			}
			key, path = path[:end], path[end:]
		}
		if key == "" {
			return nil, false
		}
		st := pathStep{key: key, index: -1}
		if strings.HasPrefix(path, "[") {
			end := strings.IndexByte(path, ']')
			if end < 0 {
				return nil, false
			}
			i, err := strconv.Atoi(path[1:end])
			if err != nil || i < 0 {
				return nil, false
			}
			st.index, path = i, path[end+1:]
		}
		steps = append(steps, st)
		if strings.HasPrefix(path, ".") {
			path = path[1:]
			if path == "" {
				return nil, false
			}
		} else if path != "" {
			return nil, false
		}
	}
	return steps, true
}

// lookupPos finds where path is in the tree: the value's position if it is
// in the file, else the position of the nearest enclosing table or array
// that is, else the zero Pos.
func lookupPos(root *tnode, path string) Pos {
	steps, ok := splitPath(path)
	if !ok {
		return Pos{}
	}
	n, at := root, Pos{}
	for _, st := range steps {
		c := n.child(st.key)
		if c == nil {
			return at
		}
		if st.index >= 0 {
			if c.kind != tArray || st.index >= len(c.items) {
				return c.keyPos
			}
			c = c.items[st.index]
		}
		n, at = c, c.keyPos
		if c.kind != tTable {
			at = c.valPos
		}
	}
	return at
}
