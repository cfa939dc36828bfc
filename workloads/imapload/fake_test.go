package imapload

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/emersion/go-smtp"
)

// The fakes listen on the loopback interface only.

// fakeIMAP is go-imap's in-memory IMAP server behind a front that plays
// a cluster: it answers ID itself with "x-backend" set to the next name
// of backends for each new connection (as Dovecot backends with
// imap_id_send would; the memory server has no ID), and can hold some
// users' LOGIN for a while before the server sees it.
type fakeIMAP struct {
	addr      string
	mem       *imapmemserver.Server
	users     map[string]*imapmemserver.User
	backends  []string
	slowLogin map[string]time.Duration
	// slowCmd holds commands (by name) for a while.
	slowCmd  map[string]time.Duration
	accepted atomic.Int64
	mu       sync.Mutex
	conns    []net.Conn
}

// dropAll closes every connection, as a crashing backend would.
func (f *fakeIMAP) dropAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.conns {
		c.Close()
	}
	f.conns = nil
}

type fakeUser struct {
	name, password string
	// messages puts that many messages in INBOX first.
	messages int
}

// slowness says what the IMAP fake holds back, and for how long: the
// LOGIN of some users, and some commands.
type slowness struct {
	login, cmd map[string]time.Duration
}

func startIMAP(t *testing.T, users []fakeUser, folders []string, backends []string, slow slowness) *fakeIMAP {
	t.Helper()
	f := &fakeIMAP{mem: imapmemserver.New(), users: map[string]*imapmemserver.User{}, backends: backends,
		slowLogin: slow.login, slowCmd: slow.cmd}
	for _, fu := range users {
		u := imapmemserver.NewUser(fu.name, fu.password)
		for _, name := range folders {
			if err := u.Create(name, nil); err != nil {
				t.Fatal(err)
			}
		}
		for i := range fu.messages {
			msg := buildMessage("someone@example.org", fu.name, 1, uint64(i), time.Now(), 1500)
			if _, err := u.Append("INBOX", bytes.NewReader(msg), &imap.AppendOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		f.users[fu.name] = u
		f.mem.AddUser(u)
	}
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return f.mem.NewSession(), nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIdle: {}, imap.CapUIDPlus: {}},
		InsecureAuth: true,
		Logger:       log.New(io.Discard, "", 0),
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.addr = ln.Addr().String()
	go srv.Serve(&frontListener{Listener: ln, f: f})
	t.Cleanup(func() { srv.Close() })
	return f
}

type frontListener struct {
	net.Listener
	f *fakeIMAP
}

func (l *frontListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	n := l.f.accepted.Add(1) - 1
	l.f.mu.Lock()
	l.f.conns = append(l.f.conns, c)
	l.f.mu.Unlock()
	fc := &frontConn{Conn: c, br: bufio.NewReader(c), slowLogin: l.f.slowLogin, slowCmd: l.f.slowCmd}
	if len(l.f.backends) > 0 {
		fc.backend = l.f.backends[int(n)%len(l.f.backends)]
	}
	return fc, nil
}

// frontConn is the server's side of a connection; it reads the client's
// lines, answers ID when it has a backend name and delays slow logins.
type frontConn struct {
	net.Conn
	br        *bufio.Reader
	backend   string
	slowLogin map[string]time.Duration
	slowCmd   map[string]time.Duration
	pending   []byte
	midLine   bool
}

func (c *frontConn) Read(p []byte) (int, error) {
	for len(c.pending) == 0 {
		line, err := c.br.ReadSlice('\n')
		atStart := !c.midLine
		c.midLine = errors.Is(err, bufio.ErrBufferFull)
		if len(line) > 0 {
			f := strings.Fields(string(line))
			switch {
			case atStart && c.backend != "" && len(f) >= 2 && strings.EqualFold(f[1], "ID"):
				reply := fmt.Sprintf("* ID (\"name\" \"fake\" \"x-backend\" \"%s\")\r\n%s OK ID completed\r\n", c.backend, f[0])
				if _, err := c.Conn.Write([]byte(reply)); err != nil {
					return 0, err
				}
				continue
			case atStart && len(f) >= 3 && strings.EqualFold(f[1], "LOGIN"):
				if d := c.slowLogin[strings.Trim(f[2], `"`)]; d > 0 {
					time.Sleep(d)
				}
			case atStart && len(f) >= 2 && c.slowCmd[strings.ToUpper(f[1])] > 0:
				time.Sleep(c.slowCmd[strings.ToUpper(f[1])])
			}
			c.pending = append(c.pending[:0], line...)
		}
		if err != nil && !c.midLine {
			if len(c.pending) == 0 {
				return 0, err
			}
			break
		}
	}
	n := copy(p, c.pending)
	c.pending = c.pending[n:]
	return n, nil
}

// fakeLMTP is go-smtp's server in LMTP mode; it delivers to the INBOX of
// the IMAP fake's users and refuses other recipients.
type fakeLMTP struct {
	addr string
	imap *fakeIMAP
	mu   sync.Mutex
	got  []delivered
}

type delivered struct {
	from, to string
	size     int
}

func startLMTP(t *testing.T, f *fakeIMAP) *fakeLMTP {
	t.Helper()
	l := &fakeLMTP{imap: f}
	s := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &lmtpSession{l: l}, nil
	}))
	s.LMTP = true
	s.Domain = "localhost"
	s.ErrorLog = log.New(io.Discard, "", 0)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l.addr = ln.Addr().String()
	go s.Serve(ln)
	t.Cleanup(func() { s.Close() })
	return l
}

func (l *fakeLMTP) deliveries() []delivered {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]delivered(nil), l.got...)
}

type lmtpSession struct {
	l        *fakeLMTP
	from, to string
}

func (s *lmtpSession) Reset()        { s.from, s.to = "", "" }
func (s *lmtpSession) Logout() error { return nil }

func (s *lmtpSession) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}

func (s *lmtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.l.imap.users[to] == nil {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	}
	s.to = to
	return nil
}

func (s *lmtpSession) Data(r io.Reader) error {
	msg, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if _, err := s.l.imap.users[s.to].Append("INBOX", bytes.NewReader(msg), &imap.AppendOptions{}); err != nil {
		return err
	}
	s.l.mu.Lock()
	s.l.got = append(s.l.got, delivered{from: s.from, to: s.to, size: len(msg)})
	s.l.mu.Unlock()
	return nil
}

// hungServer accepts connections and never says anything.
func hungServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
