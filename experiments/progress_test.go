package experiments

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeClock advances by step on every reading.
func fakeClock(step time.Duration) func() time.Time {
	t := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return func() time.Time {
		t = t.Add(step)
		return t
	}
}

func TestProgressLines(t *testing.T) {
	var b bytes.Buffer
	p := NewProgress(&b, ProgressAuto) // a buffer is not a terminal
	p.Now = fakeClock(2 * time.Second)
	p.Interval = 5 * time.Second
	p.start(6, 2)
	for i := 0; i < 6; i++ {
		p.record(i == 4, false)
	}
	p.finish(Summary{Planned: 8, Skipped: 2, Done: 5, Failed: 1}, false)
	want := `progress: 6 runs to do, 2 already done
progress: 3/6 runs, 6s elapsed, about 6s left
progress: 6/6 runs, 1 failed, 12s elapsed
done: 6 of 6 runs finished, 1 failed, 2 already done before in 14s
`
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestProgressBar(t *testing.T) {
	var b bytes.Buffer
	p := NewProgress(&b, ProgressBar)
	p.Now = fakeClock(time.Second)
	p.start(3, 0)
	p.record(false, false)
	p.record(false, true)
	p.finish(Summary{Planned: 3, Done: 1, Abandoned: 1, NotStarted: 1}, true)
	want := "\r[                              ] 0/3 runs, 0s elapsed\x1b[K" +
		"\r[==========                    ] 1/3 runs, 1s elapsed, about 2s left\x1b[K" +
		"\r[==========                    ] 1/3 runs, 2s elapsed, about 4s left\x1b[K" +
		"\r[==========                    ] 1/3 runs, 3s elapsed, about 6s left\x1b[K\n" +
		"interrupted: 1 of 3 runs finished, 0 failed, 1 abandoned, 1 not started in 3s\n"
	if b.String() != want {
		t.Errorf("got:\n%q\nwant:\n%q", b.String(), want)
	}
}

func TestProgressOff(t *testing.T) {
	var b bytes.Buffer
	var c collector
	r := Runner[struct{}, uint64]{Workers: 1, Exec: square, Sink: c.sink, Progress: NewProgress(&b, ProgressOff)}
	if _, err := r.Run(context.Background(), runsOf(3)); err != nil {
		t.Fatal(err)
	}
	if b.Len() != 0 {
		t.Errorf("quiet progress wrote %q", b.String())
	}
	// A nil Progress is quiet too.
	r.Progress = nil
	if _, err := r.Run(context.Background(), runsOf(3)); err != nil {
		t.Fatal(err)
	}
}

func TestIsTerminal(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tests := []struct {
		name string
		w    any
		want bool
	}{
		{"buffer", &bytes.Buffer{}, false},
		{"regular file", f, false},
		{"builder", &strings.Builder{}, false},
	}
	if tty, err := os.OpenFile("/dev/null", os.O_WRONLY, 0); err == nil {
		// /dev/null is a character device, as a terminal is.
		defer tty.Close()
		tests = append(tests, struct {
			name string
			w    any
			want bool
		}{"character device", tty, true})
	}
	for _, tt := range tests {
		if got := IsTerminal(tt.w.(interface{ Write([]byte) (int, error) })); got != tt.want {
			t.Errorf("IsTerminal(%s) = %v, want %v", tt.name, got, tt.want)
		}
	}
}
