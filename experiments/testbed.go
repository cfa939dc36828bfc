//go:build linux

package experiments

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"mailsim/results"
	"mailsim/workloads/testbed"
)

// TestbedOptions say where a testbed run of an experiment finds its guest
// and writes its results.
type TestbedOptions struct {
	// Out is the result set's folder. An existing testbed set of the same
	// spec is resumed.
	Out string
	// Guest is the folder of the built guest.
	Guest string
	// Topology is testbed.OneKernel or testbed.Hosts.
	Topology string
	// Log receives progress.
	Log io.Writer
	// Session describes this invocation for the set's provenance.
	Session results.Session
}

// TestbedSource returns the manifest source of a testbed set.
func TestbedSource(topology string, g *testbed.GuestManifest) results.Source {
	d := []string{"topology " + topology, "guest " + g.Suite + ", user-mode-linux " + g.KernelVersion + " (kernel " + g.Modules + ")"}
	d = append(d, g.Packages...)
	return results.Source{Kind: "testbed", Detail: d}
}

// Clusters returns the testbed clusters of the experiment's runs, in plan
// order, or every reason the testbed cannot run them, each naming the
// spec key. A testbed runs in real time, so it refuses what it cannot
// honour rather than scaling it.
func (e *Experiment) Clusters() ([]*testbed.Cluster, error) {
	var out []*testbed.Cluster
	var errs []string
	seen := map[string]bool{}
	for _, r := range e.Runs {
		c, err := r.Spec.TestbedCluster(r.Strategy, r.Seed, e.Dir)
		if err != nil {
			return nil, err
		}
		for _, msg := range c.Check() {
			if !seen[msg] {
				seen[msg] = true
				errs = append(errs, msg)
			}
		}
		out = append(out, c)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s: the testbed cannot honour this spec:\n  %s", e.Name(), strings.Join(errs, "\n  "))
	}
	return out, nil
}

// Name returns the spec file's name for messages.
func (e *Experiment) Name() string { return e.Spec.Name }

// TestbedCluster returns the testbed cluster of one run: the model's
// configuration of the spec, the strategy's parameters and the run's
// workload as a trace, made by the model under the same strategy and seed.
func (s *Spec) TestbedCluster(strategy string, seed uint64, dir string) (*testbed.Cluster, error) {
	var trace bytes.Buffer
	if _, err := s.WriteTrace(strategy, seed, dir, &trace); err != nil {
		return nil, err
	}
	return &testbed.Cluster{
		Config:         s.Model(),
		Strategy:       strategy,
		Params:         s.RouterParams(),
		VhostCount:     s.Dovecot.VhostCount,
		Backends:       BackendAddrs(s.Cluster.Backends),
		Seed:           seed,
		Trace:          trace.Bytes(),
		SampleInterval: time.Duration(s.Run.SampleInterval),
	}, nil
}

// ExecuteTestbed runs the experiment's missing runs on the testbed, one at
// a time, and writes each to the result set as it finishes. Interrupted
// through ctx, it stops the guest in progress and keeps every finished
// run; the same call resumes.
func (e *Experiment) ExecuteTestbed(ctx context.Context, o TestbedOptions) (*results.Writer, error) {
	g, err := testbed.ReadGuest(o.Guest)
	if err != nil {
		return nil, err
	}
	clusters, err := e.Clusters()
	if err != nil {
		return nil, err
	}
	// What the topology itself cannot do is refused before any run.
	var errs []string
	seen := map[string]bool{}
	for _, c := range clusters {
		for _, msg := range c.CheckTopology(o.Topology) {
			if !seen[msg] {
				seen[msg] = true
				errs = append(errs, msg)
			}
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s: the testbed cannot honour this spec in the %s topology:\n  %s", e.Name(), o.Topology, strings.Join(errs, "\n  "))
	}
	m, err := e.Manifest()
	if err != nil {
		return nil, err
	}
	m.Source = TestbedSource(o.Topology, g)
	m.Metrics = append(m.Metrics, testbed.MetricInfos()...)
	var w *results.Writer
	if _, err := os.Stat(o.Out); errors.Is(err, fs.ErrNotExist) {
		w, err = results.Create(o.Out, m, o.Session)
		if err != nil {
			return nil, err
		}
	} else if w, err = results.Open(o.Out, m, o.Session); err != nil {
		return nil, err
	}
	for i, r := range e.Runs {
		if w.IsDone(r.ID) {
			continue
		}
		work := filepath.Join(o.Out, "testbed", r.ID)
		start := time.Now()
		fmt.Fprintf(o.Log, "testbed: run %s (%s, %d users, %d backends, %v + %v)\n", r.ID, r.Strategy,
			r.Spec.Workload.Users, r.Spec.Cluster.Backends, time.Duration(r.Spec.Run.Warmup), time.Duration(r.Spec.Run.Duration))
		res, err := testbed.Execute(ctx, clusters[i], testbed.Options{Guest: o.Guest, Work: work, Topology: o.Topology, Log: o.Log})
		if err != nil {
			return w, fmt.Errorf("run %s: %w", r.ID, err)
		}
		rec, err := testbed.Record(planned(r), clusters[i], res, work)
		if err != nil {
			return w, fmt.Errorf("run %s: %w", r.ID, err)
		}
		if err := w.Add(rec); err != nil {
			return w, err
		}
		fmt.Fprintf(o.Log, "testbed: run %s done in %.0f s (guest ready after %.1f s)\n", r.ID, time.Since(start).Seconds(), res.Boot.Seconds())
	}
	if len(w.Pending()) == 0 {
		if err := w.Finalize(time.Now()); err != nil {
			return w, err
		}
	}
	return w, nil
}
