//go:build linux

package guest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/mailsim/mailsim/workloads/imapload"
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
	cfg := l.Config
	cfg.Ops = ops
	m, err := imapload.Run(ctx, cfg)
	if err != nil {
		return m, fmt.Errorf("load: %w", err)
	}
	return m, nil
}

// imaptest runs the load's imaptest clients against the cluster.
func imaptest(ctx context.Context, l *Load) (*imapload.Measurements, error) {
	m, err := imapload.RunImaptest(ctx, l.Config, *l.Imaptest)
	if err != nil {
		return m, fmt.Errorf("load: %w", err)
	}
	return m, nil
}
