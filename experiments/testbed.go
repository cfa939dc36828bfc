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

	"github.com/mailsim/mailsim/results"
	"github.com/mailsim/mailsim/workloads/testbed"
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
// order, or every reason the testbed cannot run them in the topology, each
// at its key's place in the spec file. A testbed runs in real time, so it
// refuses what it cannot honour rather than scaling it.
func (e *Experiment) Clusters(topology string) ([]*testbed.Cluster, error) {
	var out []*testbed.Cluster
	var refusals []string
	seen := map[string]bool{}
	for _, r := range e.Runs {
		c := r.Spec.testbedCluster(r.Strategy, r.Seed)
		for _, msg := range c.CheckTopology(topology) {
			if !seen[msg] {
				seen[msg] = true
				refusals = append(refusals, msg)
			}
		}
		out = append(out, c)
	}
	if len(refusals) > 0 {
		return nil, e.refusals(refusals, topology)
	}
	// The workload is made only for a spec the testbed can run: a
	// refused one may be far too large to simulate quickly. An imaptest
	// load has none: the guest runs imaptest's clients itself.
	for i, r := range e.Runs {
		if out[i].Config.Imaptest.Clients > 0 {
			continue
		}
		var trace bytes.Buffer
		if _, err := r.Spec.WriteTrace(r.Strategy, r.Seed, e.Dir, &trace); err != nil {
			return nil, err
		}
		out[i].Trace = trace.Bytes()
	}
	return out, nil
}

// refusals places the testbed's refusals ("key: why") at their keys in
// the spec file (or at the nearest enclosing table the file has).
func (e *Experiment) refusals(msgs []string, topology string) error {
	root, serr := parseTree(e.Given)
	var es Errors
	for _, m := range msgs {
		key, why, _ := strings.Cut(m, ": ")
		var pos Pos
		if serr == nil {
			pos = lookupPos(root, key)
		}
		es = append(es, &Error{File: e.File, Pos: pos, Key: key, Msg: "the testbed (" + topology + ") cannot honour this: " + why})
	}
	es.sort()
	return es
}

// testbedCluster returns the testbed cluster of one run, without its
// workload: the model's configuration of the spec, the strategy's
// parameters and the simulated run's backend addresses.
func (s *Spec) testbedCluster(strategy string, seed uint64) *testbed.Cluster {
	c := &testbed.Cluster{
		Config:         s.Model(),
		Strategy:       strategy,
		Params:         s.RouterParams(),
		Monitor:        s.Health.Monitor,
		VhostCount:     s.Dovecot.VhostCount,
		Backends:       s.BackendAddresses(),
		Seed:           seed,
		SampleInterval: time.Duration(s.Run.SampleInterval),
	}
	if bs, err := s.backendList(); err == nil && len(bs) == len(c.Backends) {
		for _, b := range bs {
			c.Vhosts = append(c.Vhosts, b.Weight)
		}
	}
	return c
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
	clusters, err := e.Clusters(o.Topology)
	if err != nil {
		return nil, err
	}
	m, err := e.Manifest()
	if err != nil {
		return nil, err
	}
	m.Source = TestbedSource(o.Topology, g)
	m.Metrics = withTestbedMetrics(m.Metrics)
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

// RecordTestbed derives the records of a testbed set's runs again from the
// raw files each run left in SRC/testbed/RUN-ID/ (what the guests
// reported, Dovecot's logs), with this build's log classes and metrics,
// and writes them, with those files, as a new set in out. The source set
// is only read. It is how a set measured once gains what a later mailsim
// learns to read in the same logs.
func RecordTestbed(src, out string, session results.Session) (*results.Writer, error) {
	set, err := results.Read(src)
	if err != nil {
		return nil, err
	}
	if set.Manifest.Source.Kind != "testbed" {
		return nil, fmt.Errorf("%s was not measured on the testbed", src)
	}
	e, err := Load(filepath.Join(src, "spec.toml"), set.Manifest.SpecGiven)
	if err != nil {
		return nil, err
	}
	m, err := e.Manifest()
	if err != nil {
		return nil, err
	}
	m.Source = set.Manifest.Source
	m.Metrics = withTestbedMetrics(m.Metrics)
	if _, err := os.Stat(out); err == nil {
		return nil, fmt.Errorf("%s exists; name a new folder", out)
	}
	w, err := results.Create(out, m, session)
	if err != nil {
		return nil, err
	}
	done := map[string]bool{}
	for _, r := range set.Runs {
		done[r.ID] = true
	}
	for _, r := range e.Runs {
		if !done[r.ID] {
			continue
		}
		work := filepath.Join(src, "testbed", r.ID)
		res, err := testbed.ReadResult(work)
		if err != nil {
			return w, fmt.Errorf("run %s: %w", r.ID, err)
		}
		rec, err := testbed.Record(planned(r), r.Spec.testbedCluster(r.Strategy, r.Seed), res, work)
		if err != nil {
			return w, fmt.Errorf("run %s: %w", r.ID, err)
		}
		if err := os.CopyFS(filepath.Join(out, "testbed", r.ID), os.DirFS(work)); err != nil {
			return w, fmt.Errorf("run %s: %w", r.ID, err)
		}
		if err := w.Add(rec); err != nil {
			return w, err
		}
	}
	if len(w.Pending()) == 0 {
		if err := w.Finalize(time.Now()); err != nil {
			return w, err
		}
	}
	return w, nil
}

// withTestbedMetrics adds the testbed's metrics to the model's catalogue
// ms. The two share the names of what both measure (Dovecot's error
// classes): those keep the model's entry.
func withTestbedMetrics(ms []results.MetricInfo) []results.MetricInfo {
	have := make(map[string]bool, len(ms))
	for _, m := range ms {
		have[m.Name] = true
	}
	for _, m := range testbed.MetricInfos() {
		if !have[m.Name] {
			ms = append(ms, m)
		}
	}
	return ms
}
