//go:build linux

package replay

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/mailsim/mailsim/model/sim"
)

// Contention is what the contention phase saw: several replayers working
// on the same Maildir at once, as several backends on one mount would.
type Contention struct {
	// Clients is the number of replayers on this host, Host this host's
	// name as it appears in delivered file names.
	Clients int
	Host    string
	// Elapsed is the phase's duration.
	Elapsed time.Duration
	// Ops summarises each operation's timings, in a fixed order.
	Ops []ContentionOp
	// LockWaits counts dotlock attempts that found the lock held;
	// LockWaitTotal and LockWaitMax are the time spent waiting.
	LockWaits                  int
	LockWaitTotal, LockWaitMax time.Duration
	// LockTimeouts counts acquisitions given up after LockTimeout.
	LockTimeouts int
	// LockLost counts dotlocks that were gone when their holder came to
	// remove them: someone else removed or replaced them.
	LockLost int
	// RenameRaces counts flag changes and expunges whose file had already
	// been renamed or removed by another replayer (ENOENT).
	RenameRaces int
	// StaleReads counts header reads of files a listing had shown but
	// which were gone by the time they were opened (ENOENT).
	StaleReads int
	// ENOENT and ESTALE count every such error, whatever the operation.
	ENOENT, ESTALE int
	// Other counts any other errors.
	Other []Anomaly
}

// ContentionOp summarises one operation in the contention phase.
type ContentionOp struct {
	Op     string
	Errors int
	Summary
}

// LockTimeout is how long a replayer waits for the dotlock before giving
// up: 2 min, the age at which Dovecot considers a Maildir uidlist lock
// stale.
const LockTimeout = 2 * time.Minute

// lockPoll is the wait between attempts to take a held dotlock.
const lockPoll = 200 * time.Microsecond

// Contention operation names (besides the sweep's).
const (
	// OpSync lists cur/ and reads the headers of up to 20 messages it
	// shows, as a client's SELECT and FETCH would.
	OpSync = "sync"
	// OpLockedAppend takes the dotlock, appends to the index log and
	// releases the lock.
	OpLockedAppend = "locked_append"
)

var contentionOrder = []string{OpSync, OpFlag, OpExpunge, OpDeliver, OpLockedAppend}

type clientStats struct {
	samples                    map[string][]time.Duration
	errs                       map[string]int
	lockWaits, lockTimeouts    int
	lockLost                   int
	lockWaitTotal, lockWaitMax time.Duration
	renameRaces, staleReads    int
	enoent, estale             int
	other                      map[string]int
}

// contend runs cfg.Clients replayers on the Maildir in sc.
func contend(ctx context.Context, cfg Config, sc *Scratch, name, host string) (*Contention, error) {
	stats := make([]*clientStats, cfg.Clients)
	errs := make([]error, cfg.Clients)
	t0 := time.Now()
	var wg sync.WaitGroup
	for i := range cfg.Clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stats[i], errs[i] = runClient(ctx, cfg, sc, name, host, i)
		}()
	}
	wg.Wait()
	c := &Contention{Clients: cfg.Clients, Host: host, Elapsed: time.Since(t0)}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	all := map[string][]time.Duration{}
	errCount := map[string]int{}
	other := map[string]int{}
	for _, s := range stats {
		for op, ds := range s.samples {
			all[op] = append(all[op], ds...)
		}
		for op, n := range s.errs {
			errCount[op] += n
		}
		for k, n := range s.other {
			other[k] += n
		}
		c.LockWaits += s.lockWaits
		c.LockTimeouts += s.lockTimeouts
		c.LockLost += s.lockLost
		c.LockWaitTotal += s.lockWaitTotal
		c.LockWaitMax = max(c.LockWaitMax, s.lockWaitMax)
		c.RenameRaces += s.renameRaces
		c.StaleReads += s.staleReads
		c.ENOENT += s.enoent
		c.ESTALE += s.estale
	}
	for _, op := range contentionOrder {
		if len(all[op]) > 0 || errCount[op] > 0 {
			c.Ops = append(c.Ops, ContentionOp{Op: op, Errors: errCount[op], Summary: Summarize(all[op])})
		}
	}
	c.Other = sortedAnomalies(other)
	return c, nil
}

type client struct {
	cfg   Config
	md    *maildir
	r     *rand.Rand
	msgR  *rand.Rand
	id    int
	host  string
	view  []string
	hdr   []byte
	buf   []byte
	logfd int
	seq   int
	st    *clientStats
}

func runClient(ctx context.Context, cfg Config, sc *Scratch, folder, host string, id int) (*clientStats, error) {
	md, err := openMaildir(sc, folder, false, cfg.MailFsync)
	if err != nil {
		return nil, err
	}
	defer md.close()
	logfd, err := md.openLog()
	if err != nil {
		return nil, err
	}
	defer syscall.Close(logfd)
	name := "replay/client/" + host + "/" + strconv.Itoa(id)
	c := &client{
		cfg: cfg, md: md, id: id, host: host, logfd: logfd,
		r:    sim.Stream(cfg.Seed, name),
		msgR: sim.Stream(cfg.Seed, name+"/messages"),
		hdr:  make([]byte, HeaderBlock),
		st: &clientStats{
			samples: map[string][]time.Duration{},
			errs:    map[string]int{},
			other:   map[string]int{},
		},
	}
	if c.view, err = md.list("cur"); err != nil {
		return nil, fmt.Errorf("replay: list %s/cur: %w", md.path, err)
	}
	start := time.Now()
	for n := 0; ; n++ {
		if cfg.ContentionTime > 0 {
			if time.Since(start) >= cfg.ContentionTime {
				break
			}
		} else if n >= cfg.ContentionOps {
			break
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		u := c.r.Float64()
		switch {
		case u < 0.10 || len(c.view) == 0:
			c.timed(OpSync, c.sync)
		case u < 0.45:
			c.timed(OpFlag, c.flag)
		case u < 0.55:
			c.timed(OpExpunge, c.expunge)
		case u < 0.65:
			c.timed(OpDeliver, c.deliver)
		default:
			c.timed(OpLockedAppend, c.lockedAppend)
		}
	}
	return c.st, nil
}

func (c *client) timed(op string, f func() error) {
	t0 := time.Now()
	err := f()
	c.st.samples[op] = append(c.st.samples[op], time.Since(t0))
	if err != nil {
		c.st.errs[op]++
		c.count(op, err)
	}
}

// count classifies an error that an operation met.
func (c *client) count(op string, err error) {
	switch errno(err) {
	case syscall.ENOENT:
		c.st.enoent++
	case syscall.ESTALE:
		c.st.estale++
	default:
		c.st.other[op+": "+errText(err)]++
	}
}

func (c *client) forget(i int) {
	c.view[i] = c.view[len(c.view)-1]
	c.view = c.view[:len(c.view)-1]
}

func (c *client) sync() error {
	names, err := c.md.list("cur")
	if err != nil {
		return err
	}
	c.view = names
	for range min(20, len(names)) {
		name := names[c.r.IntN(len(names))]
		if _, err := c.md.readHeader(name, c.hdr); err != nil {
			if errno(err) == syscall.ENOENT {
				c.st.staleReads++
			}
			c.count(OpSync, err)
		}
	}
	return nil
}

func (c *client) flag() error {
	i := c.r.IntN(len(c.view))
	old := c.view[i]
	nw := flagged(old, "SFA"[c.r.IntN(3)])
	if err := c.md.rename(old, nw); err != nil {
		if errno(err) == syscall.ENOENT {
			c.st.renameRaces++
			c.forget(i)
		}
		return err
	}
	c.view[i] = nw
	return nil
}

func (c *client) expunge() error {
	i := c.r.IntN(len(c.view))
	err := c.md.unlink(c.view[i])
	if err != nil && errno(err) == syscall.ENOENT {
		c.st.renameRaces++
	}
	c.forget(i)
	return err
}

func (c *client) deliver() error {
	c.seq++
	m := NewMessage(c.msgR, c.seq, c.cfg.MaxSize)
	c.buf = appendBody(append(c.buf[:0], m.Header...), m.BodySize, c.seq*7919)
	name := messageName(time.Now().Unix(), c.seq%1000000, 1000+c.id, c.seq, c.host, len(c.buf), len(c.buf)+bytes.Count(c.buf, newline))
	if err := c.md.deliver(name, c.buf); err != nil {
		return err
	}
	if err := c.md.moveToCur(name, name+":2,"); err != nil {
		return err
	}
	c.view = append(c.view, name+":2,")
	return nil
}

func (c *client) lockedAppend() error {
	owner := []byte(c.host + ":" + strconv.Itoa(os.Getpid()) + ":" + strconv.Itoa(c.id) + "\n")
	start := time.Now()
	waited := false
	for {
		err := c.md.lock(owner)
		if err == nil {
			break
		}
		if errno(err) != syscall.EEXIST {
			return err
		}
		if !waited {
			waited = true
			c.st.lockWaits++
		}
		if time.Since(start) > LockTimeout {
			c.st.lockTimeouts++
			return fmt.Errorf("replay: dotlock %s: timed out after %v", filepath.Join(c.md.path, lockName), LockTimeout)
		}
		time.Sleep(lockPoll)
	}
	if waited {
		w := time.Since(start)
		c.st.lockWaitTotal += w
		c.st.lockWaitMax = max(c.st.lockWaitMax, w)
	}
	rec := make([]byte, logRecordSize)
	copy(rec, owner)
	err := c.md.appendLog(c.logfd, rec)
	if uerr := c.md.unlock(); uerr != nil {
		if errno(uerr) == syscall.ENOENT {
			c.st.lockLost++
		}
		if err == nil {
			err = uerr
		}
	}
	return err
}
