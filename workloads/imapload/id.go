package imapload

import (
	"bytes"
	"net"
	"strings"
	"sync"
)

// BackendField is the ID field that names the backend serving a
// connection, as Dovecot sends it with imap_id_send = "x-backend" "b1".
const BackendField = "x-backend"

// idTap is a connection that, while watching, picks the untagged ID
// response out of what the server sends. go-imap v2's ID reply keeps only
// the fields of RFC 2971 and drops the rest, x-backend among them, so the
// line is read here as it passes; the client still parses it as usual.
type idTap struct {
	net.Conn
	mu     sync.Mutex
	on     bool
	skip   bool // the current line is too long to matter
	line   []byte
	fields map[string]string
}

// maxIDLine bounds the line the tap keeps; ID responses are short.
const maxIDLine = 8192

func (t *idTap) Read(p []byte) (int, error) {
	n, err := t.Conn.Read(p)
	if n > 0 {
		t.mu.Lock()
		if t.on {
			t.feed(p[:n])
		}
		t.mu.Unlock()
	}
	return n, err
}

// watch starts looking for an ID response.
func (t *idTap) watch() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.on, t.skip, t.line, t.fields = true, false, t.line[:0], nil
}

// done stops looking and returns the fields of the ID response seen, or
// nil.
func (t *idTap) done() map[string]string {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.on = false
	return t.fields
}

func (t *idTap) feed(b []byte) {
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		chunk := b
		if i >= 0 {
			chunk = b[:i+1]
		}
		b = b[len(chunk):]
		if !t.skip {
			t.line = append(t.line, chunk...)
			if len(t.line) > maxIDLine {
				t.skip, t.line = true, t.line[:0]
			}
		}
		if i < 0 {
			return
		}
		if !t.skip && t.fields == nil {
			if f, ok := parseIDResponse(string(t.line)); ok {
				t.fields = f
			}
		}
		t.skip, t.line = false, t.line[:0]
	}
}

// parseIDResponse parses an untagged ID response line (RFC 2971):
//
//   - ID ("name" "Dovecot" "x-backend" "b1")
//   - ID NIL
//
// It returns the fields with their names in lower case (field names are
// case-insensitive), and false if the line is not an ID response it can
// read (literals are not read).
func parseIDResponse(line string) (map[string]string, bool) {
	s := strings.TrimRight(line, "\r\n")
	if len(s) < 5 || !strings.EqualFold(s[:5], "* ID ") {
		return nil, false
	}
	s = strings.TrimLeft(s[5:], " ")
	fields := map[string]string{}
	if strings.EqualFold(strings.TrimRight(s, " "), "NIL") {
		return fields, true
	}
	if s == "" || s[0] != '(' {
		return nil, false
	}
	s = s[1:]
	var list []string
	for {
		s = strings.TrimLeft(s, " ")
		if s == "" {
			return nil, false
		}
		if s[0] == ')' {
			if strings.TrimSpace(s[1:]) != "" {
				return nil, false
			}
			break
		}
		var tok string
		var ok bool
		tok, s, ok = idToken(s)
		if !ok {
			return nil, false
		}
		list = append(list, tok)
	}
	if len(list)%2 != 0 {
		return nil, false
	}
	for i := 0; i < len(list); i += 2 {
		fields[strings.ToLower(list[i])] = list[i+1]
	}
	return fields, true
}

// idToken reads a quoted string or NIL (as "") from the front of s.
func idToken(s string) (tok, rest string, ok bool) {
	if s[0] == '"' {
		var b strings.Builder
		for i := 1; i < len(s); i++ {
			switch c := s[i]; c {
			case '\\':
				if i+1 == len(s) {
					return "", "", false
				}
				i++
				b.WriteByte(s[i])
			case '"':
				return b.String(), s[i+1:], true
			default:
				b.WriteByte(c)
			}
		}
		return "", "", false
	}
	end := strings.IndexAny(s, " )")
	if end < 0 {
		return "", "", false
	}
	if !strings.EqualFold(s[:end], "NIL") {
		return "", "", false // an atom or a literal: not in an ID list
	}
	return "", s[end:], true
}
