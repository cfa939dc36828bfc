package experiments

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/mailsim/mailsim/results"
)

// DefaultPlanWait is how long a shard of a plan whose runs are shared
// waits for a run that another shard performs before giving up.
const DefaultPlanWait = 2 * time.Hour

// defaultPlanPoll is how often a waiting shard looks for a run of another.
const defaultPlanPoll = 2 * time.Second

// PlanShardDir is the result set in which shard s of a plan whose runs are
// shared between shards (see [PlanOptions.ShareRuns]) keeps its runs and,
// once its search is done, the whole plan: out/shard-I-of-N.
func PlanShardDir(out string, s ShardSpec) string {
	return filepath.Join(out, fmt.Sprintf("shard-%d-of-%d", s.Index, s.Count))
}

// runOwner is the shard, of n, that performs the run called id: FNV-1a of
// the ID modulo n, so that every shard agrees without talking to the
// others, and the runs of one probe spread over the shards.
func runOwner(id string, n int) int {
	if n <= 1 {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(id))
	return int(h.Sum64() % uint64(n))
}

// planExec performs the trials of a plan's search: from its result set
// when already done, else by running them (or, when the runs are shared
// between shards and another shard owns one, by waiting for that shard to
// write it). It may also run trials the search is likely to ask for when
// workers would otherwise idle (speculation); these enter the result set
// like any run but count in the plan only once the search asks for them.
type planExec struct {
	e       *Experiment
	w       *results.Writer
	workers int
	shard   ShardSpec
	share   bool
	out     string
	wait    time.Duration
	poll    time.Duration
	logf    func(string, ...any)
	// runCtx stops runs in progress (an abandoned plan); specCtx also
	// stops speculative runs when the search is done.
	runCtx     context.Context
	specCtx    context.Context
	specCancel context.CancelFunc
	specWG     sync.WaitGroup

	sem chan struct{} // a slot per worker, for the runs the search waits on

	mu       sync.Mutex
	done     map[string]*results.Run
	inflight map[string]chan struct{} // closed when the run is done or failed
	demanded int                      // runs in progress that the search waits on
	spec     []*specRun               // speculative runs in progress, oldest first
	hints    []Trial

	peerMu sync.Mutex
	peers  map[string]*results.Run // runs read from other shards' sets
}

// specRun is a speculative run in progress.
type specRun struct {
	id     string
	cancel context.CancelFunc
}

// maxHints bounds the trials kept for speculation: the newest are the
// likeliest to be asked for, and the oldest are dropped.
const maxHints = 64

// measure is the search's [Measure].
func (x *planExec) measure(ctx context.Context, trials []Trial) ([]Outcome, error) {
	outs := make([]Outcome, len(trials))
	errs := make([]error, len(trials))
	var wg sync.WaitGroup
	for i, t := range trials {
		run, err := x.e.TrialRun(t)
		if err != nil {
			return nil, err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec, err := x.obtain(ctx, run)
			if err != nil {
				errs[i] = err
				return
			}
			outs[i] = outcomeOf(rec)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("%w: %w", ErrInterrupted, ctx.Err())
			}
			return nil, err
		}
	}
	return outs, nil
}

// owns reports whether this process performs the run called id.
func (x *planExec) owns(id string) bool {
	return !x.share || runOwner(id, x.shard.Count) == x.shard.Index
}

// obtain returns the record of run: the set's, a speculative run's, or
// one this call makes (or waits for, from the shard that owns it).
func (x *planExec) obtain(ctx context.Context, run Run[Spec]) (*results.Run, error) {
	for {
		x.mu.Lock()
		if r := x.done[run.ID]; r != nil {
			x.mu.Unlock()
			return r, nil
		}
		if ch := x.inflight[run.ID]; ch != nil {
			x.mu.Unlock()
			select {
			case <-ch:
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		ch := make(chan struct{})
		x.inflight[run.ID] = ch
		x.mu.Unlock()
		var rec *results.Run
		var err error
		if x.owns(run.ID) {
			rec, err = x.runDemanded(ctx, run)
		} else {
			rec, err = x.await(ctx, run)
		}
		x.mu.Lock()
		delete(x.inflight, run.ID)
		if err == nil {
			x.done[run.ID] = rec
		}
		close(ch)
		x.mu.Unlock()
		return rec, err
	}
}

// runDemanded runs a trial the search waits on, in a worker's slot.
func (x *planExec) runDemanded(ctx context.Context, run Run[Spec]) (*results.Run, error) {
	select {
	case x.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-x.sem }()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	x.mu.Lock()
	x.demanded++
	if x.demanded+len(x.spec) > x.workers && len(x.spec) > 0 {
		// Make room: the newest speculative run gives way.
		x.spec[len(x.spec)-1].cancel()
	}
	x.mu.Unlock()
	x.pump()
	rec, err := x.execute(x.runCtx, run)
	x.mu.Lock()
	x.demanded--
	x.mu.Unlock()
	return rec, err
}

// execute runs one trial and adds it to the set.
func (x *planExec) execute(ctx context.Context, run Run[Spec]) (*results.Run, error) {
	rec, err := x.e.executeTrial(ctx, run)
	if err != nil {
		return nil, err
	}
	if err := x.w.Add(rec); err != nil {
		return nil, err
	}
	x.logf("run %s done\n", run.ID)
	return rec, nil
}

// speculate is the search's [Search.Speculate]: it notes the trials and
// starts what idle workers can take.
func (x *planExec) speculate(trials []Trial) {
	x.mu.Lock()
	x.hints = append(x.hints, trials...)
	if len(x.hints) > maxHints {
		x.hints = x.hints[len(x.hints)-maxHints:]
	}
	x.mu.Unlock()
	x.pump()
}

// pump starts speculative runs, newest hint first, while some run the
// search waits on is in progress and workers are left over. Speculation
// never delays the search: a run it asks for takes a worker's slot
// whatever speculation is doing, and stops the newest speculative run if
// they would then be more than the workers; speculation starts nothing
// while the search is not waiting on a run (so that resuming a finished
// plan runs nothing new).
func (x *planExec) pump() {
	x.mu.Lock()
	defer x.mu.Unlock()
	for x.demanded > 0 && x.demanded+len(x.spec) < x.workers && len(x.hints) > 0 && x.specCtx.Err() == nil {
		t := x.hints[len(x.hints)-1]
		x.hints = x.hints[:len(x.hints)-1]
		run, err := x.e.TrialRun(t)
		if err != nil || x.done[run.ID] != nil || x.inflight[run.ID] != nil || !x.owns(run.ID) {
			continue
		}
		ch := make(chan struct{})
		x.inflight[run.ID] = ch
		ctx, cancel := context.WithCancel(x.specCtx)
		sr := &specRun{id: run.ID, cancel: cancel}
		x.spec = append(x.spec, sr)
		x.specWG.Add(1)
		go func() {
			defer x.specWG.Done()
			defer cancel()
			rec, err := x.execute(ctx, run)
			x.mu.Lock()
			if i := slices.Index(x.spec, sr); i >= 0 {
				x.spec = slices.Delete(x.spec, i, i+1)
			}
			delete(x.inflight, run.ID)
			if err == nil {
				x.done[run.ID] = rec
			}
			close(ch)
			x.mu.Unlock()
			x.pump()
		}()
	}
}

// stop ends speculation: runs in progress are abandoned (the search has
// its answer) and not recorded.
func (x *planExec) stop() {
	x.specCancel()
	x.specWG.Wait()
}

// await waits for the run that another shard owns to appear in that
// shard's result set, reads it, and adds it to this shard's set. A run
// file is written to a temporary name and renamed into place, so a file
// that is there is whole.
func (x *planExec) await(ctx context.Context, run Run[Spec]) (*results.Run, error) {
	owner := ShardSpec{Index: runOwner(run.ID, x.shard.Count), Count: x.shard.Count}
	dir := PlanShardDir(x.out, owner)
	file := filepath.Join(dir, "runs", run.ID+".json")
	deadline := time.Now().Add(x.wait)
	logged := false
	for {
		_, err := os.Stat(file)
		switch {
		case err == nil:
			rec, err := x.readPeer(dir, run.ID)
			if err != nil {
				return nil, err
			}
			if rec != nil {
				if err := x.w.Add(rec); err != nil {
					return nil, err
				}
				x.logf("run %s read from shard %s\n", run.ID, owner)
				return rec, nil
			}
		case !errors.Is(err, fs.ErrNotExist):
			return nil, fmt.Errorf("experiments: run %s of shard %s: %w", run.ID, owner, err)
		}
		if !time.Now().Before(deadline) {
			return nil, fmt.Errorf("experiments: waited %v for run %s, which shard %s performs, to appear as %s; is that shard running, with the same spec, the same build of mailsim and the same --out folder? Running this shard again goes on where it stopped",
				x.wait, run.ID, owner, file)
		}
		if !logged {
			x.logf("waiting for run %s from shard %s\n", run.ID, owner)
			logged = true
		}
		t := time.NewTimer(min(x.poll, time.Until(deadline)))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

// readPeer reads the set of another shard in dir, once per new run of
// it, after checking that the same spec and build made it; it returns the
// run called id, or nil when the set does not hold it yet.
func (x *planExec) readPeer(dir, id string) (*results.Run, error) {
	x.peerMu.Lock()
	defer x.peerMu.Unlock()
	if r := x.peers[id]; r != nil {
		return r, nil
	}
	set, err := results.Read(dir)
	if err != nil {
		return nil, fmt.Errorf("experiments: reading the runs of another shard: %w", err)
	}
	mine := x.w.Manifest()
	if !bytes.Equal(set.Manifest.SpecExpanded, mine.SpecExpanded) {
		return nil, fmt.Errorf("experiments: the result set %s was made from another spec than this shard's; every shard of a plan must run the same spec", dir)
	}
	if !reflect.DeepEqual(set.Manifest.Build, mine.Build) {
		return nil, fmt.Errorf("experiments: the result set %s was made by another build of mailsim (%v) than this shard (%v); every shard of a plan must run the same build", dir, set.Manifest.Build, mine.Build)
	}
	for _, r := range set.Runs {
		x.peers[r.ID] = r
	}
	return x.peers[id], nil
}
