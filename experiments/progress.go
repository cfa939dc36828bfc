package experiments

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// ProgressMode is how a [Progress] reports.
type ProgressMode int

const (
	// ProgressAuto draws a bar on a terminal and writes lines otherwise.
	ProgressAuto ProgressMode = iota
	// ProgressBar redraws one line in place.
	ProgressBar
	// ProgressLines writes a line every Interval, and one at the end.
	ProgressLines
	// ProgressOff reports nothing.
	ProgressOff
)

// Progress reports how far a [Runner] has got, on a writer meant for
// people (stderr). It reads the wall clock for rates and estimates; nothing
// it does reaches a result. A nil *Progress reports nothing.
type Progress struct {
	// Interval is the time between lines in line mode; 0 means 5 s.
	Interval time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	w       io.Writer
	mode    ProgressMode
	total   int
	skipped int
	done    int
	failed  int
	dropped int
	begin   time.Time
	last    time.Time
}

// NewProgress returns a reporter writing to w in the given mode; with
// ProgressAuto, a bar if w is a terminal and lines otherwise.
func NewProgress(w io.Writer, mode ProgressMode) *Progress {
	if mode == ProgressAuto {
		mode = ProgressLines
		if IsTerminal(w) {
			mode = ProgressBar
		}
	}
	return &Progress{w: w, mode: mode}
}

// IsTerminal reports whether w is a character device such as a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func (p *Progress) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

func (p *Progress) start(total, skipped int) {
	if p == nil || p.mode == ProgressOff {
		return
	}
	p.total, p.skipped = total, skipped
	p.begin = p.now()
	p.last = p.begin
	if p.mode == ProgressBar {
		p.bar(p.begin)
	} else if skipped > 0 {
		fmt.Fprintf(p.w, "progress: %d runs to do, %d already done\n", total, skipped)
	}
}

func (p *Progress) record(failed, abandoned bool) {
	if p == nil || p.mode == ProgressOff {
		return
	}
	switch {
	case abandoned:
		p.dropped++
	case failed:
		p.failed++
		p.done++
	default:
		p.done++
	}
	now := p.now()
	switch p.mode {
	case ProgressBar:
		p.bar(now)
	case ProgressLines:
		iv := p.Interval
		if iv <= 0 {
			iv = 5 * time.Second
		}
		if now.Sub(p.last) >= iv {
			p.last = now
			fmt.Fprintf(p.w, "progress: %s\n", p.status(now))
		}
	}
}

func (p *Progress) finish(sum Summary, interrupted bool) {
	if p == nil || p.mode == ProgressOff {
		return
	}
	now := p.now()
	if p.mode == ProgressBar {
		p.bar(now)
		fmt.Fprintln(p.w)
	}
	word := "done"
	if interrupted {
		word = "interrupted"
	}
	fmt.Fprintf(p.w, "%s: %d of %d runs finished, %d failed", word, sum.Done+sum.Failed, p.total, sum.Failed)
	if sum.Skipped > 0 {
		fmt.Fprintf(p.w, ", %d already done before", sum.Skipped)
	}
	if sum.Abandoned > 0 {
		fmt.Fprintf(p.w, ", %d abandoned", sum.Abandoned)
	}
	if sum.NotStarted > 0 {
		fmt.Fprintf(p.w, ", %d not started", sum.NotStarted)
	}
	fmt.Fprintf(p.w, " in %s\n", roundDur(now.Sub(p.begin)))
}

// status is "12/40 runs, 1 failed, 30s elapsed, about 1m40s left".
func (p *Progress) status(now time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d/%d runs", p.done, p.total)
	if p.failed > 0 {
		fmt.Fprintf(&b, ", %d failed", p.failed)
	}
	el := now.Sub(p.begin)
	fmt.Fprintf(&b, ", %s elapsed", roundDur(el))
	if p.done > 0 && p.done < p.total {
		left := time.Duration(float64(el) / float64(p.done) * float64(p.total-p.done))
		fmt.Fprintf(&b, ", about %s left", roundDur(left))
	}
	return b.String()
}

// bar redraws the progress bar line.
func (p *Progress) bar(now time.Time) {
	const width = 30
	fill := 0
	if p.total > 0 {
		fill = width * p.done / p.total
	}
	fmt.Fprintf(p.w, "\r[%s%s] %s\x1b[K", strings.Repeat("=", fill), strings.Repeat(" ", width-fill), p.status(now))
}

// roundDur rounds d to whole seconds, or tenths below 10 s.
func roundDur(d time.Duration) time.Duration {
	if d < 10*time.Second {
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Second)
}
