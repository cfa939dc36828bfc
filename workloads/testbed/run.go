//go:build linux

package testbed

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/mailsim/mailsim/workloads/testbed/guest"
)

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
	// Memory is each guest's memory (default 2G in one-kernel; in hosts
	// 768M for the NFS server and each backend, 1G for the entry guest).
	Memory string
	// Log receives progress.
	Log io.Writer
}

// TraceFile is the trace's name in a run's folder.
const TraceFile = "trace.txt"

// Execute runs a cluster on the testbed and returns what the guests
// measured. Cancelling ctx stops the guests at once (and, in hosts,
// removes the network namespace).
func Execute(ctx context.Context, c *Cluster, o Options) (*guest.Result, error) {
	if o.Log == nil {
		o.Log = io.Discard
	}
	if _, err := ReadGuest(o.Guest); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.Work, 0o755); err != nil {
		return nil, err
	}
	stale := []string{guest.ResultFile, guest.LogDir, "root.cow", "console.log",
		guest.ReadyFile, guest.LoadStartedFile, guest.MeasureStartFile, guest.MeasureEndFile}
	if o.Topology == Hosts {
		stale = append(stale, hostsGuestNames(c.Config.Backends)...)
	}
	for _, name := range stale {
		if err := os.RemoveAll(filepath.Join(o.Work, name)); err != nil {
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
		if o.Memory == "" {
			o.Memory = "2G"
		}
		// Boot and service start take under a minute; the load runs
		// warm-up plus duration; the rest is for shutdown.
		deadline := 3*time.Minute + time.Duration(c.Config.Warmup+c.Config.Duration)
		m := Machine{Name: "mailsim-" + filepath.Base(o.Work), Shared: o.Work, Memory: o.Memory}
		fmt.Fprintf(o.Log, "testbed: booting %s (console in %s)\n", m.Name, filepath.Join(o.Work, "console.log"))
		return runGuest(ctx, o.Guest, m, g, deadline, o.Log)
	case Hosts:
		return runHosts(ctx, c, o)
	default:
		return nil, fmt.Errorf("testbed: unknown topology %q (known: %v)", o.Topology, Topologies)
	}
}
