//go:build linux

package replay

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// WriteReport prints the result as plain-text tables: every measured
// point, the fitted costs, anomalies and the contention phase.
func WriteReport(w io.Writer, res *Result) error {
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', tabwriter.AlignRight)
	if len(res.Points) > 0 {
		fmt.Fprintf(w, "file system: %s\n", res.FSType)
		if !res.Cold && res.ColdNote != "" {
			fmt.Fprintf(w, "cold: skipped (%s)\n", res.ColdNote)
		}
		fmt.Fprintln(w)
		fmt.Fprintln(tw, "op\tcache\tentries\tcount\tmean\ttrimmed\tp50\tp99\tper entry\t")
		for _, p := range res.Points {
			mark := ""
			if p.Requested {
				mark = " *"
			}
			pe := "-"
			if folderOps[p.Op] {
				pe = fmtDur(p.PerEntry())
			}
			fmt.Fprintf(tw, "%s\t%s\t%d%s\t%d\t%s\t%s\t%s\t%s\t%s\t\n", p.Op, p.Cache, p.Entries, mark, p.Count, fmtDur(p.Mean), fmtDur(p.Trimmed), fmtDur(p.P50), fmtDur(p.P99), pe)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintln(w, "(* a requested folder size; the others are checkpoints on the way)")
	}
	if res.Profile != nil {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "fitted costs (trimmed means): fixed + per entry x folder size + per byte x bytes")
		fmt.Fprintln(tw, "op\tcache\tscope\tfixed\tper entry\tper byte\tmean/trimmed\tpoints\t")
		for _, o := range res.Profile.Ops {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.1fns\t%.3fns\t%.2f\t%d\t\n", o.Name, o.Cache, o.Scope, fmtDur(time.Duration(o.FixedNs)), o.PerEntryNs, o.PerByteNs, o.MeanFactor, o.Points)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(res.Anomalies) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "unexpected errors:")
		for _, a := range res.Anomalies {
			fmt.Fprintf(w, "  %s: %d\n", a.What, a.Count)
		}
	}
	if c := res.Contention; c != nil {
		fmt.Fprintln(w)
		fmt.Fprintf(w, "contention: %d replayers on host %s, %s\n", c.Clients, c.Host, fmtDur(c.Elapsed))
		fmt.Fprintln(tw, "op\tcount\terrors\tmean\tp50\tp99\t")
		for _, o := range c.Ops {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\t\n", o.Op, o.Count, o.Errors, fmtDur(o.Mean), fmtDur(o.P50), fmtDur(o.P99))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintf(w, "lock waits: %d (total %s, longest %s), timeouts %d, locks lost %d\n", c.LockWaits, fmtDur(c.LockWaitTotal), fmtDur(c.LockWaitMax), c.LockTimeouts, c.LockLost)
		fmt.Fprintf(w, "rename/expunge races (ENOENT): %d, stale reads after listing (ENOENT): %d\n", c.RenameRaces, c.StaleReads)
		fmt.Fprintf(w, "errors seen: ENOENT %d, ESTALE %d\n", c.ENOENT, c.ESTALE)
		for _, a := range c.Other {
			fmt.Fprintf(w, "  %s: %d\n", a.What, a.Count)
		}
	}
	return nil
}

// fmtDur prints a duration with three significant digits.
func fmtDur(d time.Duration) string {
	switch {
	case d < 0:
		return "-" + fmtDur(-d)
	case d < time.Microsecond:
		return fmt.Sprintf("%dns", d)
	case d < time.Millisecond:
		return fmt.Sprintf("%.3gµs", float64(d)/1e3)
	case d < time.Second:
		return fmt.Sprintf("%.3gms", float64(d)/1e6)
	default:
		return fmt.Sprintf("%.3gs", d.Seconds())
	}
}
