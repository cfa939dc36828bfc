package imapload

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailsim/mailsim/workloads"
)

// needsSelected are the commands that work on the selected mailbox.
var needsSelected = map[string]bool{"FETCH": true, "FETCHBODY": true, "STORE": true, "EXPUNGE": true, "SEARCH": true}

// conn is one connection slot of a device during one session: the
// connection it has open, if any, and where it is in the trace.
type conn struct {
	r                  *runner
	user, kind         string
	dev, slot, session int
	end                time.Duration // when the session's length is used up
	retries            []workloads.TraceOp
	retryAt            *int // the slot's next RETRY, across sessions
	rng                *rand.Rand
	tap                *idTap
	c                  *imapclient.Client
	stopWatch          func() bool
	backend            string
	loggedIn           bool
	selected, lastMbox string
}

// timeoutError is a command that got no answer in time.
type timeoutError struct {
	after time.Duration
	err   error
}

func (e *timeoutError) Error() string {
	return fmt.Sprintf("no answer within %v (%v)", e.after, e.err)
}

func (e *timeoutError) Unwrap() error { return e.err }

// errKind classifies a command's error.
func errKind(err error) string {
	var te *timeoutError
	if errors.As(err, &te) {
		return KindTimeout
	}
	var ie *imap.Error
	if errors.As(err, &ie) {
		switch ie.Type {
		case imap.StatusResponseTypeNo:
			return KindNO
		case imap.StatusResponseTypeBad:
			return KindBAD
		}
		return KindConnection // BYE
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return KindTimeout
	}
	return KindConnection
}

// run replays the connection's commands of one session.
func (cn *conn) run(ctx context.Context, steps []workloads.TraceOp) {
	cn.rng = rand.New(rand.NewPCG(uint64(cn.dev), uint64(cn.slot)<<32|uint64(cn.session)))
	defer cn.close()
	for _, op := range steps {
		if op.Op == "LOGIN" && cn.loggedIn {
			cn.r.rec.count(&cn.r.rec.m.SkippedLogins)
			continue
		}
		if !cn.think(ctx, time.Duration(op.Wait)) {
			return
		}
		if !cn.loggedIn {
			if !cn.connect(ctx, false) {
				return
			}
			if op.Op == "LOGIN" {
				continue
			}
		}
		if op.Op == "LOGOUT" {
			cn.logout(ctx, false)
			return
		}
		if !cn.command(ctx, op) {
			return
		}
	}
	cn.hold(ctx)
}

// think waits the client's think time; a connection that the server
// closes meanwhile is reopened. It reports whether to go on.
func (cn *conn) think(ctx context.Context, wait time.Duration) bool {
	deadline := cn.r.since() + wait
	for {
		d := deadline - cn.r.since()
		if d <= 0 {
			return ctx.Err() == nil
		}
		var closed <-chan struct{}
		if cn.c != nil {
			closed = cn.c.Closed()
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
			return true
		case <-closed:
			t.Stop()
			if ctx.Err() != nil || !cn.broken(ctx, "connection closed by the server") {
				return false
			}
		}
	}
}

// broken records that the connection broke, closes it and reconnects after
// the retry wait. It reports whether the connection is open again.
func (cn *conn) broken(ctx context.Context, detail string) bool {
	cn.r.rec.event(EventDisconnected, cn.user, detail)
	cn.close()
	return cn.connect(ctx, true)
}

// nextRetry returns how long to wait before reconnecting.
func (cn *conn) nextRetry() time.Duration {
	if *cn.retryAt < len(cn.retries) {
		w := time.Duration(cn.retries[*cn.retryAt].Wait)
		*cn.retryAt++
		return w
	}
	return cn.r.retryWait(cn.kind)
}

// connect logs in, retrying after failures (first waiting when
// retryFirst) until it succeeds, the session would be over before the
// next attempt, or the run ends. It reports whether it is logged in.
func (cn *conn) connect(ctx context.Context, retryFirst bool) bool {
	for wait := retryFirst; ; wait = true {
		if wait {
			w := cn.nextRetry()
			if cn.r.since()+w >= cn.end || !cn.r.sleep(ctx, w) {
				return false
			}
		}
		if cn.login(ctx) {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
	}
}

// login makes one attempt to connect, log in and learn the backend.
func (cn *conn) login(ctx context.Context) bool {
	r := cn.r
	start := r.since()
	d := net.Dialer{Timeout: r.cfg.Timeout}
	if cn.dev >= 0 && cn.dev < len(r.cfg.Sources) && r.cfg.Sources[cn.dev] != "" {
		// Run's check has parsed every source address.
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(r.cfg.Sources[cn.dev])}
	}
	raw, err := d.DialContext(ctx, "tcp", r.cfg.IMAP)
	if err != nil {
		if ctx.Err() == nil {
			cn.connectFailed(start, err)
		}
		return false
	}
	cn.tap = &idTap{Conn: raw}
	cn.stopWatch = context.AfterFunc(ctx, func() { raw.Close() })
	cn.c = imapclient.New(cn.tap, nil)
	if err := cn.timed(cn.c.WaitGreeting); err != nil {
		if ctx.Err() == nil {
			cn.connectFailed(start, err)
		}
		cn.close()
		return false
	}
	r.rec.command(cn.user, "CONNECT", start, r.since(), "", "")

	start = r.since()
	err = cn.timed(func() error { return cn.c.Login(cn.user, r.cfg.Password).Wait() })
	end := r.since()
	if ctx.Err() != nil {
		cn.close()
		return false
	}
	if err != nil {
		kind := errKind(err)
		r.rec.command(cn.user, "LOGIN", start, end, kind, err.Error())
		r.rec.loginFailed(cn.user, end, "LOGIN "+kind+": "+err.Error())
		cn.close()
		return false
	}
	r.rec.command(cn.user, "LOGIN", start, end, "", "")
	cn.backend = cn.identify()
	cn.loggedIn = true
	r.rec.loginOK(cn.user, cn.backend, end)
	return true
}

func (cn *conn) connectFailed(start time.Duration, err error) {
	end := cn.r.since()
	kind := errKind(err)
	cn.r.rec.command(cn.user, "CONNECT", start, end, kind, err.Error())
	cn.r.rec.loginFailed(cn.user, end, "connect "+kind+": "+err.Error())
}

// identify sends ID and returns the backend its reply names, or "". A
// broken connection shows at the next command.
func (cn *conn) identify() string {
	cn.tap.watch()
	cn.timed(func() error {
		_, err := cn.c.ID(&imap.IDData{Name: "mailsim-imapload"}).Wait()
		return err
	})
	return cn.tap.done()[BackendField]
}

// timed runs f, closing the connection if it takes longer than the
// timeout.
func (cn *conn) timed(f func() error) error {
	var fired atomic.Bool
	raw := cn.tap.Conn
	t := time.AfterFunc(cn.r.cfg.Timeout, func() {
		fired.Store(true)
		raw.Close()
	})
	err := f()
	t.Stop()
	if err != nil && fired.Load() {
		return &timeoutError{after: cn.r.cfg.Timeout, err: err}
	}
	return err
}

// do sends one measured command. It reports whether to go on: after a
// command without an answer the connection is reopened.
func (cn *conn) do(ctx context.Context, name string, f func() error) bool {
	start := cn.r.since()
	err := cn.timed(f)
	end := cn.r.since()
	if ctx.Err() != nil {
		return false
	}
	kind, detail := "", ""
	if err != nil {
		kind, detail = errKind(err), err.Error()
	}
	cn.r.rec.commandOn(cn.user, cn.backend, name, start, end, kind, detail)
	if replied(kind) {
		return true
	}
	return cn.broken(ctx, name+" "+kind+": "+detail)
}

// command sends the IMAP command of op.
func (cn *conn) command(ctx context.Context, op workloads.TraceOp) bool {
	if needsSelected[op.Op] && cn.selected == "" {
		if !cn.autoSelect(ctx) {
			return false
		}
	}
	return cn.do(ctx, op.Op, func() error { return cn.exec(op) })
}

// autoSelect selects the mailbox last selected, or INBOX.
func (cn *conn) autoSelect(ctx context.Context) bool {
	mb := cn.lastMbox
	if mb == "" {
		mb = cn.r.cfg.Folders[0]
	}
	cn.r.rec.count(&cn.r.rec.m.AutoSelects)
	return cn.do(ctx, "SELECT", func() error { return cn.selectMailbox(mb) })
}

func (cn *conn) selectMailbox(name string) error {
	cn.selected = ""
	if _, err := cn.c.Select(name, nil).Wait(); err != nil {
		return err
	}
	cn.selected, cn.lastMbox = name, name
	return nil
}

// messages returns the number of messages in the selected mailbox.
func (cn *conn) messages() uint32 {
	if mb := cn.c.Mailbox(); mb != nil {
		return mb.NumMessages
	}
	return 0
}

// anyMessages addresses every message by UID: on an empty mailbox, it
// matches nothing and is not an error.
var anyMessages = imap.UIDSet{{Start: 1, Stop: 0}}

// oneMessage picks one message of the selected mailbox.
func (cn *conn) oneMessage() imap.NumSet {
	n := cn.messages()
	if n == 0 {
		return anyMessages
	}
	return imap.SeqSetNum(1 + uint32(cn.rng.IntN(int(n))))
}

// exec sends the command of op and waits for its answer.
func (cn *conn) exec(op workloads.TraceOp) error {
	c := cn.c
	folder := cn.r.cfg.Folders[op.Mailbox]
	switch op.Op {
	case "SELECT":
		return cn.selectMailbox(folder)
	case "STATUS":
		_, err := c.Status(folder, &imap.StatusOptions{NumMessages: true, NumUnseen: true}).Wait()
		return err
	case "LIST":
		_, err := c.List("", "*", nil).Collect()
		return err
	case "FETCH":
		var set imap.NumSet = anyMessages
		if n := cn.messages(); n > 0 {
			set = imap.SeqSet{{Start: max(n, 10) - 9, Stop: n}}
		}
		_, err := c.Fetch(set, &imap.FetchOptions{Flags: true, Envelope: true, InternalDate: true, RFC822Size: true, UID: true}).Collect()
		return err
	case "FETCHBODY":
		_, err := c.Fetch(cn.oneMessage(), &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect()
		return err
	case "STORE":
		how := imap.StoreFlagsAdd
		if cn.rng.IntN(2) == 1 {
			how = imap.StoreFlagsDel
		}
		return c.Store(cn.oneMessage(), &imap.StoreFlags{Op: how, Flags: []imap.Flag{imap.FlagSeen}}, nil).Close()
	case "EXPUNGE":
		if cn.messages() > 0 {
			store := &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}
			if err := c.Store(cn.oneMessage(), store, nil).Close(); err != nil {
				return err
			}
		}
		return c.Expunge().Close()
	case "APPEND":
		return appendMessage(c, folder, cn.r.message(cn.user, op.Bytes))
	case "SEARCH":
		_, err := c.Search(&imap.SearchCriteria{NotFlag: []imap.Flag{imap.FlagSeen}}, nil).Wait()
		return err
	}
	return fmt.Errorf("imapload: no IMAP command for %q", op.Op)
}

// logout logs out and closes the connection.
func (cn *conn) logout(ctx context.Context, implicit bool) {
	if implicit {
		cn.r.rec.count(&cn.r.rec.m.ImplicitLogouts)
	}
	start := cn.r.since()
	err := cn.timed(func() error { return cn.c.Logout().Wait() })
	end := cn.r.since()
	if ctx.Err() == nil {
		kind, detail := "", ""
		if err != nil {
			kind, detail = errKind(err), err.Error()
		}
		cn.r.rec.commandOn(cn.user, cn.backend, "LOGOUT", start, end, kind, detail)
	}
	cn.close()
}

// hold keeps a connection whose commands ran out open in IDLE until the
// session's length is used up, then logs out.
func (cn *conn) hold(ctx context.Context) {
	for cn.loggedIn {
		left := cn.end - cn.r.since()
		if left <= 0 {
			break
		}
		if cn.selected == "" && cn.lastMbox != "" {
			// Back after a reconnect: watch the same mailbox.
			if !cn.autoSelect(ctx) {
				return
			}
			continue
		}
		var idle *imapclient.IdleCommand
		err := cn.timed(func() (err error) {
			idle, err = cn.c.Idle()
			return err
		})
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if !replied(errKind(err)) {
				if !cn.broken(ctx, "IDLE "+errKind(err)+": "+err.Error()) {
					return
				}
				continue
			}
			idle = nil // no IDLE here: just stay connected
		}
		t := time.NewTimer(left)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-cn.c.Closed():
			t.Stop()
			if ctx.Err() != nil || !cn.broken(ctx, "connection closed by the server") {
				return
			}
			continue
		case <-t.C:
		}
		if idle != nil {
			err := cn.timed(func() error {
				if err := idle.Close(); err != nil {
					return err
				}
				return idle.Wait()
			})
			if err != nil && !replied(errKind(err)) {
				if ctx.Err() == nil {
					cn.r.rec.event(EventDisconnected, cn.user, "IDLE "+errKind(err)+": "+err.Error())
				}
				return
			}
		}
		break
	}
	if cn.loggedIn {
		cn.logout(ctx, true)
	}
}

// close closes the connection, if open.
func (cn *conn) close() {
	if cn.c == nil {
		return
	}
	if cn.loggedIn {
		cn.r.rec.closed(cn.user, cn.backend)
	}
	cn.stopWatch()
	cn.c.Close()
	cn.c, cn.tap, cn.stopWatch = nil, nil, nil
	cn.loggedIn, cn.selected, cn.backend = false, "", ""
}

// appendMessage APPENDs msg to mailbox and waits for the answer.
func appendMessage(c *imapclient.Client, mailbox string, msg []byte) error {
	cmd := c.Append(mailbox, int64(len(msg)), nil)
	if _, err := cmd.Write(msg); err != nil {
		cmd.Close()
		return err
	}
	if err := cmd.Close(); err != nil {
		return err
	}
	_, err := cmd.Wait()
	return err
}
