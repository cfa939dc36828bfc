package experiments

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"sort"
	"sync"
)

// Result is the outcome of one run, as delivered to a [Runner]'s Sink.
type Result[R any] struct {
	// Index is the run's planned position; sort by it for output, since
	// results arrive in completion order.
	Index int
	ID    string
	Value R
	// Err is the run's error, nil on success. A run that panicked has an
	// error holding the panic value and stack.
	Err error
}

// SortResults sorts results into planned order, the order of a result set
// whatever order the runs finished in.
func SortResults[R any](results []Result[R]) {
	sort.Slice(results, func(i, j int) bool { return results[i].Index < results[j].Index })
}

// Summary counts what a [Runner] did.
type Summary struct {
	Planned    int // runs given
	Skipped    int // runs Skip reported as already finished
	Done       int // runs that finished without error
	Failed     int // runs that finished with an error
	Abandoned  int // runs stopped by cancellation; their results are dropped
	NotStarted int // runs never dispatched because of cancellation
}

// Runner executes runs on a pool of workers. A run is single-threaded and
// deterministic on its own, so running several at once changes nothing in
// their results; the order they finish in is not deterministic, which is why
// results carry their planned index.
type Runner[T, R any] struct {
	// Workers is the number of runs executed at once; 0 means
	// runtime.NumCPU().
	Workers int
	// Exec performs one run. It should return promptly with ctx.Err() once
	// ctx is cancelled, if it can; a run that finishes anyway is kept.
	Exec func(ctx context.Context, run Run[T]) (R, error)
	// Sink receives each finished run, one at a time on the goroutine that
	// called Run, in completion order; it persists the result. When it
	// returns an error, dispatching stops and Run returns that error.
	Sink func(Result[R]) error
	// Skip, if set, reports runs that are already finished (in an earlier,
	// interrupted invocation); they are neither run nor sent to Sink.
	Skip func(id string) bool
	// RunContext, if set, is the context passed to Exec in place of the
	// one given to Run, so that stopping the dispatch and abandoning runs
	// in progress can happen at different times: context.Background()
	// lets runs in progress always finish; the second context of
	// [Interrupts] abandons them at a second interrupt.
	RunContext context.Context
	// Progress, if set, is told about every run; nil reports nothing.
	Progress *Progress
}

// ErrInterrupted is returned (wrapped with the context's error) by
// [Runner.Run] when cancellation left runs unfinished.
var ErrInterrupted = errors.New("experiments: interrupted")

// Run executes runs, skipping those Skip reports, until all are done or ctx
// is cancelled. On cancellation it stops dispatching, waits for the runs in
// progress (those that return the cancellation of their context are
// abandoned, those that finish go to Sink), and returns an error wrapping
// [ErrInterrupted] and ctx.Err(). Everything delivered to Sink is kept.
func (r *Runner[T, R]) Run(ctx context.Context, runs []Run[T]) (Summary, error) {
	sum := Summary{Planned: len(runs)}
	if r.Exec == nil || r.Sink == nil {
		return sum, errors.New("experiments: runner needs Exec and Sink")
	}
	todo := make([]Run[T], 0, len(runs))
	for _, run := range runs {
		if r.Skip != nil && r.Skip(run.ID) {
			sum.Skipped++
			continue
		}
		todo = append(todo, run)
	}
	workers := r.Workers
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	workers = min(workers, max(len(todo), 1))
	r.Progress.start(len(todo), sum.Skipped)

	// stop ends dispatching: on cancellation or when the sink fails.
	dispatchCtx, stop := context.WithCancel(ctx)
	defer stop()
	execCtx := ctx
	if r.RunContext != nil {
		execCtx = r.RunContext
	}

	jobs := make(chan Run[T])
	results := make(chan Result[R])
	go func() {
		defer close(jobs)
		for _, run := range todo {
			select {
			case jobs <- run:
			case <-dispatchCtx.Done():
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for run := range jobs {
				// The dispatcher's select may hand out a run after the
				// cancellation: leave it unstarted.
				if dispatchCtx.Err() != nil {
					continue
				}
				results <- r.exec(execCtx, run)
			}
		}()
	}
	go func() {
		wg.Wait()
		close(results)
	}()

	var sinkErr error
	executed := 0
	for res := range results {
		executed++
		if res.Err != nil && execCtx.Err() != nil &&
			(errors.Is(res.Err, context.Canceled) || errors.Is(res.Err, context.DeadlineExceeded)) {
			sum.Abandoned++
			r.Progress.record(false, true)
			continue
		}
		if sinkErr != nil {
			// The sink has failed: what finishes now cannot be kept.
			sum.Abandoned++
			continue
		}
		if err := r.Sink(res); err != nil {
			sinkErr = fmt.Errorf("experiments: saving run %s: %w", res.ID, err)
			sum.Abandoned++
			stop()
			continue
		}
		if res.Err != nil {
			sum.Failed++
		} else {
			sum.Done++
		}
		r.Progress.record(res.Err != nil, false)
	}
	sum.NotStarted = len(todo) - executed
	r.Progress.finish(sum, ctx.Err() != nil)
	switch {
	case sinkErr != nil:
		return sum, sinkErr
	case ctx.Err() != nil && (sum.NotStarted > 0 || sum.Abandoned > 0):
		return sum, fmt.Errorf("%w: %w", ErrInterrupted, ctx.Err())
	}
	return sum, nil
}

// exec performs one run, turning a panic into an error so that one broken
// run does not take the others down.
func (r *Runner[T, R]) exec(ctx context.Context, run Run[T]) (res Result[R]) {
	res.Index, res.ID = run.Index, run.ID
	defer func() {
		if p := recover(); p != nil {
			res.Err = fmt.Errorf("experiments: run %s panicked: %v\n%s", run.ID, p, debug.Stack())
		}
	}()
	res.Value, res.Err = r.Exec(ctx, run)
	return res
}
