//go:build linux

package guest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"mailsim/workloads/imapload"
)

// replay runs the load's trace over IMAP and LMTP against the cluster.
func replay(ctx context.Context, l *Load) (*imapload.Measurements, error) {
	f, err := os.Open(filepath.Join(HostDir, l.Trace))
	if err != nil {
		return nil, err
	}
	ops, err := imapload.ReadOps(l.Trace, f)
	f.Close()
	if err != nil {
		return nil, err
	}
	cfg := imapload.Config{
		Ops: ops, IMAP: l.IMAP, LMTP: l.LMTP, Password: l.Password, Folders: l.Folders, Domain: l.Domain,
		Warmup: l.Warmup, Duration: l.Duration, Interval: l.Interval, Timeout: l.Timeout, Sources: l.Sources,
	}
	m, err := imapload.Run(ctx, cfg)
	if err != nil {
		return m, fmt.Errorf("load: %w", err)
	}
	return m, nil
}
