//go:build linux

package testbed

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"mailsim/workloads/testbed/guest"
)

// Topologies.
const (
	// OneKernel runs the NFS server, one NFS mount per backend
	// (nosharecache: separate attribute, data and lookup caches), every
	// backend's Dovecot, the proxy and the load in one user-mode kernel.
	OneKernel = "one-kernel"
)

// Topologies lists the topologies a run can use.
var Topologies = []string{OneKernel}

// Options say where a testbed run finds its guest and keeps its files.
type Options struct {
	// Guest is the folder of the built guest.
	Guest string
	// Work is the run's own folder: the guest's configuration, the trace,
	// the kernel's console, Dovecot's logs and the result. Everything the
	// run writes stays in it.
	Work string
	// Topology is one of Topologies.
	Topology string
	// Memory is each guest's memory (default 2G).
	Memory string
	// Log receives progress.
	Log io.Writer
}

// TraceFile is the trace's name in a run's folder.
const TraceFile = "trace.txt"

// Execute runs a cluster on the testbed and returns what the guest
// measured. Cancelling ctx stops the guest at once.
func Execute(ctx context.Context, c *Cluster, o Options) (*guest.Result, error) {
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.Memory == "" {
		o.Memory = "2G"
	}
	if _, err := ReadGuest(o.Guest); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.Work, 0o755); err != nil {
		return nil, err
	}
	for _, stale := range []string{guest.ResultFile, guest.LogDir, "root.cow", "console.log"} {
		if err := os.RemoveAll(filepath.Join(o.Work, stale)); err != nil {
			return nil, err
		}
	}
	if err := os.WriteFile(filepath.Join(o.Work, TraceFile), c.Trace, 0o644); err != nil {
		return nil, err
	}
	switch o.Topology {
	case OneKernel, "":
		g, err := c.OneKernel(TraceFile)
		if err != nil {
			return nil, err
		}
		// Boot and service start take under a minute; the load runs
		// warm-up plus duration; the rest is for shutdown.
		deadline := 3*time.Minute + time.Duration(c.Config.Warmup+c.Config.Duration)
		m := Machine{Name: "mailsim-" + filepath.Base(o.Work), Shared: o.Work, Memory: o.Memory}
		fmt.Fprintf(o.Log, "testbed: booting %s (console in %s)\n", m.Name, filepath.Join(o.Work, "console.log"))
		return runGuest(ctx, o.Guest, m, g, deadline, o.Log)
	default:
		return nil, fmt.Errorf("testbed: unknown topology %q (known: %v)", o.Topology, Topologies)
	}
}
