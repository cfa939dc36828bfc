package imapload

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/mailsim/mailsim/model/sim"
	"github.com/mailsim/mailsim/workloads"
)

// Imaptest is a closed-loop load in the manner of Dovecot's imaptest
// (github.com/dovecot/imaptest), run over real IMAP by [RunImaptest].
type Imaptest struct {
	// Load is the clients, their users and imaptest's state
	// probabilities, as the simulator runs them.
	Load workloads.Imaptest
	// Seed seeds the clients' draws: client i's draws depend only on Seed
	// and i (and, from its second connection after a LOGOUT on, the
	// connection's number), as the simulator's do.
	Seed uint64
	// MessageBytes is the size of each APPENDed message.
	MessageBytes int
	// Source is the local address every connection comes from: imaptest
	// runs on one host. Empty leaves the choice to the kernel.
	Source string
}

// RunImaptest runs t's clients against cfg.IMAP until Warmup+Duration and
// returns what it measured, in the same terms as [Run]. Of cfg it uses
// IMAP, Password, Folders[0] (the mailbox every client works on, INBOX by
// default), Domain (the APPENDed messages' sender), Warmup, Duration,
// Interval, Timeout and Clock; Ops, LMTP, Sources and the retry waits are
// not used. Start, when set, is the origin of the run's offsets.
//
// Each client follows imaptest's default state machine
// ([workloads.Imaptest.Next]) with no think time:
//
//   - LOGIN connects, waits for the greeting, logs in as a user drawn
//     uniformly from the range and sends ID, whose "x-backend" field names
//     the backend (it stands for the LIST "" "" imaptest sends after each
//     login: one short round trip);
//   - LIST sends LIST "" "*", STATUS asks (MESSAGES UNSEEN) of the
//     mailbox, SELECT selects it;
//   - FETCH fetches UID, FLAGS, ENVELOPE, INTERNALDATE and RFC822.SIZE of
//     a random range of up to 100 messages, FETCH2 BODY.PEEK[] of one
//     message;
//   - STORE adds or removes \Seen, \Flagged or \Answered on one message;
//     DELETE stores \Deleted (silently) on one message, or sends nothing
//     when the mailbox is empty; EXPUNGE expunges; both are measured as
//     STORE and EXPUNGE;
//   - APPEND appends a generated message of MessageBytes;
//   - LOGOUT logs out, and the client connects again at once as a newly
//     drawn user.
//
// A command that needs a selected mailbox when none is selected (SELECT
// at 0 %) selects it first, counted in [Measurements.AutoSelects]. A
// failed login (NO, a refused or broken connection, a timeout) makes the
// client reconnect after Load.Reconnect as the same user, or as a newly
// drawn one when Load.OnLoginFailure says so; a connection that breaks
// after its login reconnects as the same user (imaptest's client_unref).
// Load.Clients, or 100 if fewer, start at once; each successful login
// starts up to three more until all run (imaptest's INIT_CLIENT_COUNT and
// its LOGIN reply handling).
func RunImaptest(ctx context.Context, cfg Config, t Imaptest) (*Measurements, error) {
	cfg.Ops, cfg.LMTP, cfg.Sources = nil, "", nil
	if t.Source != "" {
		cfg.Sources = []string{t.Source}
	}
	cfg, err := cfg.check()
	if err != nil {
		return nil, err
	}
	var errs []error
	if cfg.IMAP == "" {
		errs = append(errs, errors.New("Config.IMAP is empty"))
	}
	if t.Load.Clients < 1 {
		errs = append(errs, fmt.Errorf("imaptest needs at least one client, not %d", t.Load.Clients))
	}
	if err := t.Load.Validate(); err != nil {
		errs = append(errs, err)
	}
	tmpl, err := workloads.ParseUserTemplate(t.Load.User)
	if err != nil {
		errs = append(errs, err)
	}
	if t.MessageBytes < 0 {
		errs = append(errs, errors.New("the APPENDed message size must not be negative"))
	}
	if err := localAddr(t.Source); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("imapload: %w", errors.Join(errs...))
	}
	r := &runner{cfg: cfg, start: cfg.origin()}
	r.rec = newRecorder(r.since, cfg.Warmup, cfg.Duration, cfg.Interval)
	end := cfg.Warmup + cfg.Duration

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := time.AfterFunc(end-r.since(), cancel)
	defer stop.Stop()

	p := &pool{r: r, t: &t, tmpl: tmpl}
	p.start(runCtx, min(t.Load.Clients, 100))
	p.wg.Wait()
	m := r.rec.finish(min(r.since(), end))
	if err := ctx.Err(); err != nil {
		return m, err
	}
	return m, nil
}

// pool is the running imaptest clients.
type pool struct {
	r    *runner
	t    *Imaptest
	tmpl workloads.UserTemplate
	wg   sync.WaitGroup
	mu   sync.Mutex
	// started counts the clients started so far.
	started int
}

// start starts up to n more clients, never more than the load's.
func (p *pool) start(ctx context.Context, n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for ; n > 0 && p.started < p.t.Load.Clients; n-- {
		i := p.started
		p.started++
		p.wg.Go(func() { p.client(ctx, i) })
	}
}

// draw returns a user drawn uniformly from the range.
func (p *pool) draw(rng *rand.Rand) string {
	return p.tmpl.Name(p.t.Load.First + rng.IntN(p.t.Load.Users()))
}

// client runs imaptest client i until the run ends. Its draws come from a
// stream seeded, as the simulator seeds it, from the run's seed, the
// client's number and the number of its connection (counted at each
// LOGOUT): a failed login or a broken connection goes on with the same
// stream.
func (p *pool) client(ctx context.Context, i int) {
	seed := sim.SubSeed(p.t.Seed, fmt.Sprintf("workload/imaptest/client/%d", i))
	var session uint64
	var rng *rand.Rand
	var user string
	fresh := true
	for ctx.Err() == nil {
		if fresh {
			session++
			rng = rand.New(rand.NewPCG(seed, session))
			user = p.draw(rng)
			fresh = false
		}
		cn := &conn{r: p.r, user: user, kind: "imaptest", rng: rng}
		if !cn.login(ctx) {
			if ctx.Err() != nil {
				return
			}
			if p.t.Load.OnLoginFailure == workloads.NewUser {
				user = p.draw(rng)
			}
			if !p.r.sleep(ctx, time.Duration(p.t.Load.Reconnect)) {
				return
			}
			continue
		}
		p.start(ctx, 3)
		fresh = p.pass(ctx, cn, rng)
		cn.close()
		if !fresh && !p.r.sleep(ctx, time.Duration(p.t.Load.Reconnect)) {
			return
		}
	}
}

// pass runs the states after a successful login until LOGOUT. It reports
// whether the connection logged out; false means it broke (or the run
// ended).
func (p *pool) pass(ctx context.Context, cn *conn, rng *rand.Rand) bool {
	st := workloads.StateLogin
	for {
		step, next := p.t.Load.Next(rng, st, true)
		st = next
		if step.Cmd == workloads.Logout {
			cn.logout(ctx, false)
			return ctx.Err() == nil
		}
		if !p.state(ctx, cn, st, step.Cmd.String()) {
			return false
		}
	}
}

// state sends the command of imaptest state st, measured as name. It
// reports whether the connection is still usable.
func (p *pool) state(ctx context.Context, cn *conn, st workloads.ImaptestState, name string) bool {
	c := cn.c
	mbox := p.r.cfg.Folders[0]
	switch st {
	case workloads.StateFetch, workloads.StateFetch2, workloads.StateStore, workloads.StateDelete, workloads.StateExpunge:
		if cn.selected == "" {
			p.r.rec.count(&p.r.rec.m.AutoSelects)
			if !p.do(ctx, cn, "SELECT", func() error { return cn.selectMailbox(mbox) }) {
				return false
			}
		}
	}
	var f func() error
	switch st {
	case workloads.StateList:
		f = func() error { _, err := c.List("", "*", nil).Collect(); return err }
	case workloads.StateStatus:
		f = func() error {
			_, err := c.Status(mbox, &imap.StatusOptions{NumMessages: true, NumUnseen: true}).Wait()
			return err
		}
	case workloads.StateSelect:
		f = func() error { return cn.selectMailbox(mbox) }
	case workloads.StateFetch:
		var set imap.NumSet = anyMessages
		if n := cn.messages(); n > 0 {
			k := min(n, 100)
			first := 1 + uint32(cn.rng.IntN(int(n-k+1)))
			set = imap.SeqSet{{Start: first, Stop: first + k - 1}}
		}
		f = func() error {
			_, err := c.Fetch(set, &imap.FetchOptions{UID: true, Flags: true, Envelope: true, InternalDate: true, RFC822Size: true}).Collect()
			return err
		}
	case workloads.StateFetch2:
		set := cn.oneMessage()
		f = func() error {
			_, err := c.Fetch(set, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect()
			return err
		}
	case workloads.StateStore:
		set := cn.oneMessage()
		how := imap.StoreFlagsAdd
		if cn.rng.IntN(2) == 1 {
			how = imap.StoreFlagsDel
		}
		flag := []imap.Flag{imap.FlagSeen, imap.FlagFlagged, imap.FlagAnswered}[cn.rng.IntN(3)]
		f = func() error { return c.Store(set, &imap.StoreFlags{Op: how, Flags: []imap.Flag{flag}}, nil).Close() }
	case workloads.StateDelete:
		if cn.messages() == 0 {
			return true
		}
		set := cn.oneMessage()
		f = func() error {
			return c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close()
		}
	case workloads.StateExpunge:
		f = func() error { return c.Expunge().Close() }
	case workloads.StateAppend:
		msg := p.r.message(cn.user, int64(p.t.MessageBytes))
		f = func() error { return appendMessage(c, mbox, msg) }
	default:
		return true
	}
	return p.do(ctx, cn, name, f)
}

// do sends one measured command. It reports whether the connection is
// still usable: answered (OK, NO or BAD) and the run not over.
func (p *pool) do(ctx context.Context, cn *conn, name string, f func() error) bool {
	r := p.r
	start := r.since()
	err := cn.timed(f)
	end := r.since()
	if ctx.Err() != nil {
		return false
	}
	kind, detail := "", ""
	if err != nil {
		kind, detail = errKind(err), err.Error()
	}
	r.rec.command(cn.user, name, start, end, kind, detail)
	if replied(kind) {
		return true
	}
	r.rec.event(EventDisconnected, cn.user, name+" "+kind+": "+detail)
	return false
}

// localAddr reports an error unless addr is empty or an address this
// machine can bind, so that a missing route shows as one error before the
// run rather than as every login failing.
func localAddr(addr string) error {
	if addr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(addr, "0"))
	if err != nil {
		return fmt.Errorf("source address %s is not local: %w", addr, err)
	}
	return ln.Close()
}
