package experiments

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestPlanSharedRuns runs a plan as two shards that split the runs, at
// once in two goroutines over one folder, and checks that each writes
// the plan the whole process writes, that each performed only runs it
// owns, and that running a shard again runs nothing.
func TestPlanSharedRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a dozen one-hour simulations")
	}
	e, err := Load("md1.toml", []byte(md1Plan))
	if err != nil {
		t.Fatal(err)
	}
	whole, _, err := e.ExecutePlan(context.Background(), PlanOptions{Out: t.TempDir() + "/whole", Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(whole)
	shared := t.TempDir()
	var wg sync.WaitGroup
	logs := make([]bytes.Buffer, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := PlanOptions{Out: shared, Workers: 1, Shard: ShardSpec{i, 2}, ShareRuns: true, Poll: 20 * time.Millisecond, Wait: time.Minute, Log: &logs[i]}
			plan, _, err := e.ExecutePlan(context.Background(), o)
			if err != nil {
				t.Errorf("shard %d: %v", i, err)
				return
			}
			if got, _ := json.Marshal(plan); !bytes.Equal(got, want) {
				t.Errorf("shard %d's plan differs from the whole one:\n%s\n%s", i, got, want)
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	for i := range 2 {
		for _, line := range strings.Split(logs[i].String(), "\n") {
			if id, ok := strings.CutPrefix(line, "run "); ok && strings.HasSuffix(id, " done") {
				id = strings.TrimSuffix(id, " done")
				if runOwner(id, 2) != i {
					t.Errorf("shard %d ran %s, which shard %d owns", i, id, runOwner(id, 2))
				}
			}
		}
		if _, err := os.Stat(filepath.Join(PlanShardDir(shared, ShardSpec{i, 2}), "manifest.json")); err != nil {
			t.Errorf("shard %d has no set of its own: %v", i, err)
		}
	}
	// Again: everything is in the shard's own set now.
	var log bytes.Buffer
	again, _, err := e.ExecutePlan(context.Background(), PlanOptions{Out: shared, Workers: 2, Shard: ShardSpec{1, 2}, ShareRuns: true, Wait: time.Second, Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := json.Marshal(again); !bytes.Equal(got, want) {
		t.Errorf("shard 1 run again gives another plan")
	}
	if strings.Contains(log.String(), " done\n") || strings.Contains(log.String(), "read from shard") {
		t.Errorf("shard 1 run again ran or read runs:\n%s", log.String())
	}
}

// TestPlanSharedRunsBadPeer: a shard whose peer's run file is corrupt
// stops with an error naming the file; one whose peer never comes stops
// after the wait, naming the run and the shard; one interrupted while it
// waits returns at once.
func TestPlanSharedRunsBadPeer(t *testing.T) {
	e, err := Load("md1.toml", []byte(md1Plan))
	if err != nil {
		t.Fatal(err)
	}
	// A shard count so large that shard 0 owns none of the first runs.
	const n = 1000
	t.Run("never comes", func(t *testing.T) {
		start := time.Now()
		_, _, err := e.ExecutePlan(context.Background(), PlanOptions{Out: t.TempDir(), Shard: ShardSpec{0, n}, ShareRuns: true, Wait: 200 * time.Millisecond, Poll: 10 * time.Millisecond})
		if err == nil || !strings.Contains(err.Error(), "waited 200ms for run") || !strings.Contains(err.Error(), "/1000") {
			t.Fatalf("err = %v", err)
		}
		if d := time.Since(start); d > 20*time.Second {
			t.Errorf("took %v", d)
		}
	})
	t.Run("interrupted", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			time.Sleep(100 * time.Millisecond)
			cancel()
		}()
		start := time.Now()
		_, _, err := e.ExecutePlan(ctx, PlanOptions{Out: t.TempDir(), Shard: ShardSpec{0, n}, ShareRuns: true, Wait: time.Hour})
		if !errors.Is(err, ErrInterrupted) {
			t.Fatalf("err = %v", err)
		}
		if d := time.Since(start); d > 20*time.Second {
			t.Errorf("took %v to return", d)
		}
	})
	t.Run("corrupt", func(t *testing.T) {
		if testing.Short() {
			t.Skip("runs a simulation")
		}
		shared := t.TempDir()
		// Shard 1 of 2 makes its set and a run; then its run file is spoilt.
		var first string
		for _, id := range []string{"b032-t8-c1073741824-normal-random-r0", "b032-t8-c1073741824-normal-random-r1"} {
			if runOwner(id, 2) == 1 {
				first = id
				break
			}
		}
		if first == "" {
			t.Skip("shard 1 owns neither replica of the top")
		}
		ctx, cancel := context.WithCancel(context.Background())
		var log bytes.Buffer
		logw := &cancelOnRun{n: 1, cancel: cancel}
		_, _, err := e.ExecutePlan(ctx, PlanOptions{Out: shared, Workers: 1, Shard: ShardSpec{1, 2}, ShareRuns: true, Wait: 50 * time.Millisecond, Poll: 10 * time.Millisecond, Log: io.MultiWriter(&log, logw)})
		if err == nil {
			t.Fatal("shard 1 alone finished the plan")
		}
		files, _ := filepath.Glob(filepath.Join(PlanShardDir(shared, ShardSpec{1, 2}), "runs", "*.json"))
		if len(files) == 0 {
			t.Fatalf("shard 1 wrote no run: %v\n%s", err, log.String())
		}
		for _, f := range files {
			if err := os.WriteFile(f, []byte("{not json"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		_, _, err = e.ExecutePlan(context.Background(), PlanOptions{Out: shared, Workers: 1, Shard: ShardSpec{0, 2}, ShareRuns: true, Wait: time.Minute, Poll: 10 * time.Millisecond})
		if err == nil || !strings.Contains(err.Error(), files[0]) && !strings.Contains(err.Error(), filepath.Base(files[0])) {
			t.Fatalf("err = %v, want one naming %s", err, files[0])
		}
		t.Log(err)
	})
}
