//go:build linux

package testbed

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/mailsim/mailsim/nfsmodel"
	"github.com/mailsim/mailsim/workloads/testbed/guest"
)

// Probe runs the attribute-cache probe on the guest's real NFS server and
// two real client mounts, and returns its measurements as JSON. cases
// names the probe cases to run; none runs them all.
func Probe(ctx context.Context, o Options, cases []string) ([]byte, error) {
	if o.Memory == "" {
		o.Memory = "1G"
	}
	if _, err := ReadGuest(o.Guest); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.Work, 0o755); err != nil {
		return nil, err
	}
	g := nfsServerGuest(nfsServer{Threads: 1, Clients: "127.0.0.0/8", Local: localRanges, Vers: nfsmodel.V3})
	g.Probe = &guest.Probe{Source: "127.0.0.1:/export", Cases: cases}
	m := Machine{Name: "mailsim-probe", Shared: o.Work, Memory: o.Memory}
	res, err := runGuest(ctx, o.Guest, m, g, 30*time.Minute, o.Log)
	if err != nil {
		return nil, err
	}
	if len(res.Probe) == 0 {
		return nil, fmt.Errorf("testbed: the probe returned nothing; see %s", filepath.Join(o.Work, "console.log"))
	}
	return res.Probe, nil
}
