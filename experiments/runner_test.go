package experiments

import (
	"context"
	"errors"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
)

// square is a stand-in for a simulation: its result depends only on the
// run's seed.
func square(_ context.Context, r Run[struct{}]) (uint64, error) {
	return r.Seed * r.Seed, nil
}

// runsOf returns n runs of an empty spec with distinct seeds.
func runsOf(n int) []Run[struct{}] {
	runs := make([]Run[struct{}], n)
	for i := range runs {
		runs[i] = Run[struct{}]{Index: i, ID: "r" + string(rune('a'+i%26)) + strings.Repeat("x", i/26), Seed: uint64(i + 1)}
	}
	return runs
}

// collector is a sink that records results and checks it is never called
// concurrently.
type collector struct {
	mu      sync.Mutex
	inSink  atomic.Int32
	results []Result[uint64]
	overlap bool
}

func (c *collector) sink(r Result[uint64]) error {
	if c.inSink.Add(1) != 1 {
		c.overlap = true
	}
	defer c.inSink.Add(-1)
	c.mu.Lock()
	c.results = append(c.results, r)
	c.mu.Unlock()
	return nil
}

func (c *collector) ids() []string {
	var ids []string
	for _, r := range c.results {
		ids = append(ids, r.ID)
	}
	sort.Strings(ids)
	return ids
}

func TestRunnerRunsAll(t *testing.T) {
	runs := runsOf(40)
	var c collector
	r := Runner[struct{}, uint64]{Workers: 4, Exec: square, Sink: c.sink}
	sum, err := r.Run(context.Background(), runs)
	if err != nil {
		t.Fatal(err)
	}
	if sum != (Summary{Planned: 40, Done: 40}) {
		t.Errorf("summary %+v", sum)
	}
	if c.overlap {
		t.Error("sink called concurrently")
	}
	SortResults(c.results)
	for i, res := range c.results {
		if res.Index != i || res.ID != runs[i].ID || res.Value != runs[i].Seed*runs[i].Seed || res.Err != nil {
			t.Errorf("result %d = %+v, want run %s's", i, res, runs[i].ID)
		}
	}
}

// TestRunnerResume interrupts a sweep, then runs it again skipping what
// finished: every run is done exactly once overall.
func TestRunnerResume(t *testing.T) {
	runs := runsOf(30)
	ctx, cancel := context.WithCancel(context.Background())
	var first collector
	r := Runner[struct{}, uint64]{Workers: 2, Exec: square, Sink: func(res Result[uint64]) error {
		first.sink(res)
		if len(first.results) == 10 {
			cancel()
		}
		return nil
	}}
	sum, err := r.Run(ctx, runs)
	if !errors.Is(err, ErrInterrupted) || !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run error = %v", err)
	}
	if sum.Done < 10 || sum.Done+sum.NotStarted+sum.Abandoned != 30 || sum.NotStarted == 0 {
		t.Fatalf("interrupted summary %+v", sum)
	}
	finished := map[string]bool{}
	for _, res := range first.results {
		finished[res.ID] = true
	}

	var executed []string
	var mu sync.Mutex
	var second collector
	r2 := Runner[struct{}, uint64]{
		Workers: 2,
		Exec: func(ctx context.Context, run Run[struct{}]) (uint64, error) {
			mu.Lock()
			executed = append(executed, run.ID)
			mu.Unlock()
			return square(ctx, run)
		},
		Sink: second.sink,
		Skip: func(id string) bool { return finished[id] },
	}
	sum2, err := r2.Run(context.Background(), runs)
	if err != nil {
		t.Fatal(err)
	}
	if sum2.Skipped != len(finished) || sum2.Done != 30-len(finished) {
		t.Errorf("resumed summary %+v after %d finished", sum2, len(finished))
	}
	for _, id := range executed {
		if finished[id] {
			t.Errorf("resume ran %s again", id)
		}
	}
	all := append(first.ids(), second.ids()...)
	sort.Strings(all)
	var want []string
	for _, run := range runs {
		want = append(want, run.ID)
	}
	sort.Strings(want)
	if strings.Join(all, " ") != strings.Join(want, " ") {
		t.Errorf("runs done over both invocations:\n%v\nwant\n%v", all, want)
	}
}

// TestRunnerCancelAbandons cancels while runs are in progress: runs that
// honour the context are abandoned, those done before are kept.
func TestRunnerCancelAbandons(t *testing.T) {
	runs := runsOf(10)
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{}, 10)
	var c collector
	r := Runner[struct{}, uint64]{
		Workers: 2,
		Exec: func(ctx context.Context, run Run[struct{}]) (uint64, error) {
			if run.Index < 3 {
				return square(ctx, run)
			}
			started <- struct{}{}
			<-ctx.Done()
			return 0, ctx.Err()
		},
		Sink: c.sink,
	}
	go func() {
		// Both workers are blocked in runs 3 and up once two have started.
		<-started
		<-started
		cancel()
	}()
	sum, err := r.Run(ctx, runs)
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("error = %v, want ErrInterrupted", err)
	}
	want := Summary{Planned: 10, Done: 3, Abandoned: 2, NotStarted: 5}
	if sum != want {
		t.Errorf("summary %+v, want %+v", sum, want)
	}
	if got := strings.Join(c.ids(), " "); got != "ra rb rc" {
		t.Errorf("kept %s, want ra rb rc", got)
	}
}

// TestRunnerFinishRunning cancels while runs are in progress with a
// RunContext that is not cancelled: those runs complete and are kept.
func TestRunnerFinishRunning(t *testing.T) {
	runs := runsOf(10)
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{}, 10)
	release := make(chan struct{})
	var c collector
	r := Runner[struct{}, uint64]{
		Workers:    2,
		RunContext: context.Background(),
		Exec: func(ctx context.Context, run Run[struct{}]) (uint64, error) {
			started <- struct{}{}
			<-release
			if ctx.Err() != nil {
				return 0, ctx.Err()
			}
			return square(ctx, run)
		},
		Sink: c.sink,
	}
	go func() {
		<-started
		<-started
		cancel()
		close(release)
	}()
	sum, err := r.Run(ctx, runs)
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("error = %v, want ErrInterrupted", err)
	}
	want := Summary{Planned: 10, Done: 2, NotStarted: 8}
	if sum != want {
		t.Errorf("summary %+v, want %+v", sum, want)
	}
	if got := strings.Join(c.ids(), " "); got != "ra rb" {
		t.Errorf("kept %s, want ra rb", got)
	}
}

func TestRunnerFailures(t *testing.T) {
	runs := runsOf(6)
	var c collector
	r := Runner[struct{}, uint64]{
		Workers: 3,
		Exec: func(ctx context.Context, run Run[struct{}]) (uint64, error) {
			switch run.Index {
			case 1:
				return 0, errors.New("model: backend 9 does not exist")
			case 4:
				panic("model: event queue corrupted")
			}
			return square(ctx, run)
		},
		Sink: c.sink,
	}
	sum, err := r.Run(context.Background(), runs)
	if err != nil {
		t.Fatal(err)
	}
	if sum != (Summary{Planned: 6, Done: 4, Failed: 2}) {
		t.Errorf("summary %+v", sum)
	}
	for _, res := range c.results {
		switch res.Index {
		case 1:
			if res.Err == nil || res.Err.Error() != "model: backend 9 does not exist" {
				t.Errorf("run 1 error %v", res.Err)
			}
		case 4:
			if res.Err == nil || !strings.HasPrefix(res.Err.Error(), "experiments: run re panicked: model: event queue corrupted\n") {
				t.Errorf("run 4 error %v", res.Err)
			}
		default:
			if res.Err != nil {
				t.Errorf("run %d error %v", res.Index, res.Err)
			}
		}
	}
}

// TestRunnerSinkError stops at the first result that cannot be saved.
func TestRunnerSinkError(t *testing.T) {
	runs := runsOf(20)
	calls := 0
	r := Runner[struct{}, uint64]{
		Workers: 1,
		Exec:    square,
		Sink: func(res Result[uint64]) error {
			calls++
			if calls == 3 {
				return errors.New("disk full")
			}
			return nil
		},
	}
	sum, err := r.Run(context.Background(), runs)
	if err == nil || err.Error() != "experiments: saving run rc: disk full" {
		t.Fatalf("error = %v", err)
	}
	if calls != 3 || sum.Done != 2 || sum.Done+sum.Abandoned+sum.NotStarted != 20 {
		t.Errorf("%d sink calls, summary %+v", calls, sum)
	}
}

// TestInterrupts sends this process SIGINT twice: the first stops
// dispatching, the second abandons the run in progress.
func TestInterrupts(t *testing.T) {
	stop, abandon, release := Interrupts(context.Background())
	defer release()
	runs := runsOf(5)
	started := make(chan struct{}, 5)
	var c collector
	r := Runner[struct{}, uint64]{
		Workers:    1,
		RunContext: abandon,
		Exec: func(ctx context.Context, run Run[struct{}]) (uint64, error) {
			if run.Index == 0 {
				return square(ctx, run)
			}
			started <- struct{}{}
			<-ctx.Done()
			return 0, ctx.Err()
		},
		Sink: c.sink,
	}
	go func() {
		<-started
		if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
			t.Error(err)
		}
		<-stop.Done()
		if abandon.Err() != nil {
			t.Error("the first interrupt abandoned the run in progress")
		}
		if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
			t.Error(err)
		}
	}()
	sum, err := r.Run(stop, runs)
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("error = %v", err)
	}
	if want := (Summary{Planned: 5, Done: 1, Abandoned: 1, NotStarted: 3}); sum != want {
		t.Errorf("summary %+v, want %+v", sum, want)
	}
}

func TestRunnerAllSkipped(t *testing.T) {
	var c collector
	r := Runner[struct{}, uint64]{
		Exec: func(context.Context, Run[struct{}]) (uint64, error) {
			t.Error("a skipped run was executed")
			return 0, nil
		},
		Sink: c.sink,
		Skip: func(string) bool { return true },
	}
	sum, err := r.Run(context.Background(), runsOf(4))
	if err != nil || sum != (Summary{Planned: 4, Skipped: 4}) || len(c.results) != 0 {
		t.Errorf("summary %+v, error %v, %d results", sum, err, len(c.results))
	}
	if _, err := (&Runner[struct{}, uint64]{}).Run(context.Background(), nil); err == nil {
		t.Error("a runner without Exec and Sink ran")
	}
}
