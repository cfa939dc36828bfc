//go:build linux

package guest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"syscall"

	"github.com/mailsim/mailsim/workloads/testbed/probe"
)

// probe runs the attribute-cache probe on two fresh mounts of the export
// per case, as two independent clients (nosharecache), and keeps the
// report in the result.
func (g *guest) probe(p *Probe) error {
	cases := probe.DefaultCases()
	if len(p.Cases) > 0 {
		var err error
		if cases, err = probe.CasesNamed(p.Cases...); err != nil {
			return err
		}
	}
	n := 0
	mount := func(opts string) (string, string, func() error, error) {
		n++
		a, b := fmt.Sprintf("/mnt/probe%da", n), fmt.Sprintf("/mnt/probe%db", n)
		full := "proto=tcp,hard,nosharecache," + opts
		if !strings.Contains(","+opts, ",vers=") {
			full = "vers=3," + full
		}
		for _, d := range []string{a, b} {
			if err := g.mount(Mount{Source: p.Source, Dir: d, Options: full}); err != nil {
				return "", "", nil, err
			}
		}
		unmount := func() error {
			var errs []string
			for _, d := range []string{a, b} {
				if err := syscall.Unmount(d, 0); err != nil {
					errs = append(errs, d+": "+err.Error())
				}
				_ = os.Remove(d)
			}
			if len(errs) > 0 {
				return fmt.Errorf("unmount %s", strings.Join(errs, ", "))
			}
			return nil
		}
		return a, b, unmount, nil
	}
	ms, err := probe.Run(context.Background(), mount, cases, g.log)
	var buf bytes.Buffer
	if werr := (probe.Report{Kernel: probe.KernelRelease(), Measurements: ms}).Write(&buf); werr != nil && err == nil {
		err = werr
	}
	g.res.Probe = buf.Bytes()
	return err
}
