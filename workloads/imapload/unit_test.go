package imapload

import (
	"errors"
	"fmt"
	"maps"
	"net/mail"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-smtp"
)

func TestParseIDResponse(t *testing.T) {
	tests := []struct {
		line string
		want map[string]string // nil: not an ID response
	}{
		{"* ID (\"name\" \"Dovecot\" \"x-backend\" \"b1\")\r\n", map[string]string{"name": "Dovecot", "x-backend": "b1"}},
		{"* ID (\"x-backend\" \"b2\")", map[string]string{"x-backend": "b2"}},
		{"* id (\"X-Backend\" \"b3\" \"os\" NIL)\r\n", map[string]string{"x-backend": "b3", "os": ""}},
		{`* ID ("x-backend" "with \"quotes\" and \\")`, map[string]string{"x-backend": `with "quotes" and \`}},
		{"* ID NIL\r\n", map[string]string{}},
		{"* ID ()\r\n", map[string]string{}},
		{"* ID (\"x-backend\")\r\n", nil},           // odd list
		{"* ID (\"x-backend\" {2}\r\n", nil},        // literal
		{"* ID (\"x-backend\" \"b1\"\r\n", nil},     // unclosed
		{"* ID (\"x-backend\" \"b1) junk\r\n", nil}, // unclosed string
		{"* OK [CAPABILITY IMAP4rev1 ID] ready\r\n", nil},
		{"A3 OK ID completed\r\n", nil},
	}
	for _, tt := range tests {
		got, ok := parseIDResponse(tt.line)
		if ok != (tt.want != nil) || !maps.Equal(got, tt.want) {
			t.Errorf("parseIDResponse(%q) = %v, %v; want %v", tt.line, got, ok, tt.want)
		}
	}
}

func TestIDTap(t *testing.T) {
	resp := "* OK still here\r\n* ID (\"name\" \"Dovecot\" \"x-backend\" \"b7\")\r\nA4 OK ID completed.\r\n"
	for _, chunk := range []int{1, 3, 7, len(resp)} {
		tap := &idTap{}
		tap.watch()
		tap.feed([]byte("* ID (\"x-backend\" \"earlier\")\r\n"))
		tap.watch() // forgets the earlier one
		for i := 0; i < len(resp); i += chunk {
			tap.feed([]byte(resp[i:min(i+chunk, len(resp))]))
		}
		if got := tap.done()[BackendField]; got != "b7" {
			t.Errorf("chunks of %d: backend %q, want b7", chunk, got)
		}
	}
	tap := &idTap{on: true}
	tap.feed([]byte("* 3 FETCH (BODY[] {20000}\r\n" + strings.Repeat("x", 20000) + ")\r\n"))
	if f := tap.done(); f != nil {
		t.Errorf("fields %v from a FETCH", f)
	}
}

func TestBuildMessage(t *testing.T) {
	date := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	header := len(buildMessage("a@x", "b@y", 1, 1, date, 0))
	for _, size := range []int{header, header + 2, header + 3, header + 79, header + 80, header + 81, 76700, 1 << 20} {
		msg := buildMessage("a@x", "b@y", 1, 1, date, size)
		if len(msg) != size {
			t.Errorf("size %d: got %d bytes", size, len(msg))
		}
		m, err := mail.ReadMessage(strings.NewReader(string(msg)))
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		if m.Header.Get("To") != "<b@y>" || m.Header.Get("Message-Id") != "<1.1@imapload.invalid>" {
			t.Errorf("size %d: header %v", size, m.Header)
		}
		for i, line := range strings.Split(string(msg), "\r\n") {
			if len(line) > 78 || strings.ContainsAny(line, "\r\n") {
				t.Fatalf("size %d: line %d is %q", size, i, line)
			}
		}
	}
	if got := len(buildMessage("a@x", "b@y", 1, 1, date, 10)); got != header {
		t.Errorf("a message smaller than its header: %d bytes, want the header's %d", got, header)
	}
}

func TestKinds(t *testing.T) {
	imapTests := []struct {
		err  error
		want string
	}{
		{&imap.Error{Type: imap.StatusResponseTypeNo, Text: "no"}, KindNO},
		{fmt.Errorf("wrapped: %w", &imap.Error{Type: imap.StatusResponseTypeBad}), KindBAD},
		{&imap.Error{Type: imap.StatusResponseTypeBye}, KindConnection},
		{&timeoutError{after: time.Second, err: errors.New("closed")}, KindTimeout},
		{errors.New("EOF"), KindConnection},
	}
	for _, tt := range imapTests {
		if got := errKind(tt.err); got != tt.want {
			t.Errorf("errKind(%v) = %s, want %s", tt.err, got, tt.want)
		}
	}
	lmtpTests := []struct {
		err  error
		want string
	}{
		{&smtp.SMTPError{Code: 550}, Kind5xx},
		{&smtp.SMTPError{Code: 451}, Kind4xx},
		{smtp.LMTPDataError{"a@b": &smtp.SMTPError{Code: 452}}, Kind4xx},
		{&timeoutError{after: time.Second, err: errors.New("closed")}, KindTimeout},
		{errors.New("EOF"), KindConnection},
	}
	for _, tt := range lmtpTests {
		if got := lmtpKind(tt.err); got != tt.want {
			t.Errorf("lmtpKind(%v) = %s, want %s", tt.err, got, tt.want)
		}
	}
	for _, tt := range []struct{ user, domain, want string }{
		{"u", "example.net", "u@example.net"},
		{"u@other.org", "example.net", "u@other.org"},
		{"u", "", "u"},
	} {
		if got := rcptAddr(tt.user, tt.domain); got != tt.want {
			t.Errorf("rcptAddr(%q, %q) = %q, want %q", tt.user, tt.domain, got, tt.want)
		}
	}
}

func TestOverlapAccounting(t *testing.T) {
	now := time.Duration(0)
	rc := newRecorder(func() time.Duration { return now }, time.Second, 10*time.Second, time.Second)
	at := func(d time.Duration) { now = d }
	// u1: on b1 from 0.5 s, on b2 too from 2 s to 4 s: 2 s of overlap.
	at(500 * time.Millisecond)
	rc.loginOK("u1", "b1", now)
	at(2 * time.Second)
	rc.loginOK("u1", "b2", now)
	at(4 * time.Second)
	rc.closed("u1", "b2")
	// u2: two connections on b1 only.
	rc.loginOK("u2", "b1", now)
	rc.loginOK("u2", "b1", now)
	// u3: on b1 and b2 during warm-up only.
	at(100 * time.Millisecond)
	rc.loginOK("u3", "b1", now)
	rc.loginOK("u3", "b2", now)
	at(900 * time.Millisecond)
	rc.closed("u3", "b1")
	// u4: overlap until the end of the run, cut at the measured period's end.
	at(9 * time.Second)
	rc.loginOK("u4", "b1", now)
	rc.loginOK("u4", "b3", now)
	// An unknown backend never makes an overlap.
	rc.loginOK("u2", "", now)
	at(12 * time.Second)
	m := rc.finish(now)
	if want := []string{"u1", "u4"}; !slices.Equal(m.MultiBackendUsers, want) {
		t.Errorf("multi-backend users %v, want %v", m.MultiBackendUsers, want)
	}
	if m.MultiBackendOverlap != 4*time.Second {
		t.Errorf("overlap %v, want 2 s + 2 s", m.MultiBackendOverlap)
	}
	if m.LoginsOK != 6 || m.Intervals[1].LoginsOK != 1 || m.Intervals[3].LoginsOK != 2 || m.Intervals[8].LoginsOK != 3 {
		t.Errorf("logins %d, by interval %+v", m.LoginsOK, m.Intervals)
	}
	if len(m.Backends) != 4 || m.Backends[0].Name != "" || m.Backends[1].Name != "b1" || m.Backends[1].LoginsOK != 3 {
		t.Errorf("backends %+v", m.Backends)
	}
}

func TestRetryWait(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		kind string
		want time.Duration
	}{
		{"default desktop", Config{}, "desktop", 15 * time.Second},
		{"default phone", Config{}, "phone", 30 * time.Second},
		{"default webmail", Config{}, "webmail", 5 * time.Second},
		{"by kind", Config{RetryByKind: map[string]time.Duration{"phone": 7 * time.Second}}, "phone", 7 * time.Second},
		{"by kind, another kind", Config{RetryByKind: map[string]time.Duration{"phone": 7 * time.Second}}, "webmail", 5 * time.Second},
		{"Retry first", Config{Retry: 2 * time.Second, RetryByKind: map[string]time.Duration{"phone": 7 * time.Second}}, "phone", 2 * time.Second},
	}
	for _, tc := range cases {
		r := &runner{cfg: tc.cfg}
		if got := r.retryWait(tc.kind); got != tc.want {
			t.Errorf("%s: retryWait(%s) = %v, want %v", tc.name, tc.kind, got, tc.want)
		}
	}
}

// TestSlowCommands: commands that take SlowCommand or longer are kept with
// their backend, warm-up included, and each is an event.
func TestSlowCommands(t *testing.T) {
	now := time.Duration(0)
	rc := newRecorder(func() time.Duration { return now }, time.Second, 10*time.Second, time.Second)
	rc.commandOn("u1", "b1", "SELECT", 0, SlowCommand, "", "")                            // slow, in the warm-up
	rc.commandOn("u1", "b1", "FETCH", 2*time.Second, 2*time.Second+SlowCommand-1, "", "") // just under
	rc.commandOn("u2", "b2", "EXPUNGE", 3*time.Second, 8*time.Second, KindTimeout, "no answer")
	rc.command("u3", "LOGIN", 4*time.Second, 7*time.Second, "", "")
	now = 12 * time.Second
	m := rc.finish(now)
	want := []Slow{
		{User: "u1", Backend: "b1", Command: "SELECT", Start: 0, Took: SlowCommand},
		{User: "u2", Backend: "b2", Command: "EXPUNGE", Start: 3 * time.Second, Took: 5 * time.Second, Kind: KindTimeout},
		{User: "u3", Command: "LOGIN", Start: 4 * time.Second, Took: 3 * time.Second},
	}
	if !slices.Equal(m.Slow, want) {
		t.Errorf("slow %+v, want %+v", m.Slow, want)
	}
	var details []string
	for _, e := range m.Events {
		if e.Kind == EventCommandSlow {
			details = append(details, e.Detail)
		}
	}
	if len(details) != 3 || details[1] != "EXPUNGE on b2 took 5.0 s from 3.0 s (timeout)" || details[2] != "LOGIN on an unknown backend took 3.0 s from 4.0 s" {
		t.Errorf("slow events %q", details)
	}
}
