package replay

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/mailsim/mailsim/model/sim"
)

// TestBodySizeFollowsHistogram draws many sizes and compares the share
// below each bin edge with the histogram's.
func TestBodySizeFollowsHistogram(t *testing.T) {
	r := sim.Stream(1, "test/sizes")
	const n = 200000
	sizes := make([]int, n)
	for i := range sizes {
		sizes[i] = BodySize(r, 0)
	}
	total := 0.0
	for _, b := range partSizeBins {
		total += b.Count
	}
	cum := 0.0
	for i, b := range partSizeBins[:len(partSizeBins)-1] {
		cum += b.Count
		edge := partSizeBins[i+1].Lo
		below := 0
		for _, s := range sizes {
			if s < edge {
				below++
			}
		}
		got, want := float64(below)/n, cum/total
		if d := got - want; d > 0.005 || d < -0.005 {
			t.Errorf("share below %d bytes: %.4f, histogram %.4f", edge, got, want)
		}
	}
	for _, s := range sizes {
		if s < 64 || s >= 8<<20 {
			t.Fatalf("size %d outside the histogram", s)
		}
	}
}

func TestBodySizeCap(t *testing.T) {
	r := sim.Stream(2, "test/sizes")
	capped := 0
	for range 20000 {
		s := BodySize(r, 64<<10)
		if s > 64<<10 {
			t.Fatalf("size %d above the cap", s)
		}
		if s == 64<<10 {
			capped++
		}
	}
	// About 8 % of parts are 64 KiB or larger.
	if capped < 1000 || capped > 2200 {
		t.Errorf("%d of 20000 sizes capped, want about 1600", capped)
	}
}

func TestNewMessageDeterministicAndParsable(t *testing.T) {
	gen := func(seed uint64) []Message {
		r := sim.Stream(seed, "replay/messages")
		var ms []Message
		for i := range 50 {
			ms = append(ms, NewMessage(r, i, DefaultMaxSize))
		}
		return ms
	}
	a, b, c := gen(7), gen(7), gen(8)
	differ := false
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("message %d differs between runs with the same seed", i)
		}
		if a[i] != c[i] {
			differ = true
		}
		h := ParseHeader([]byte(a[i].Header))
		if h.Subject != a[i].Subject || h.From != a[i].From || h.Date != a[i].Date {
			t.Errorf("message %d: parsed %+v, generated %q / %q / %q", i, h, a[i].Subject, a[i].From, a[i].Date)
		}
		if n := len(a[i].Header); n < 600 || n > HeaderBlock {
			t.Errorf("message %d: header of %d bytes, want a realistic 600 to %d", i, n, HeaderBlock)
		}
		if !strings.HasSuffix(a[i].Header, "\n\n") {
			t.Errorf("message %d: header does not end with an empty line", i)
		}
	}
	if !differ {
		t.Error("seeds 7 and 8 generated the same messages")
	}
}

func TestParseHeader(t *testing.T) {
	tests := []struct {
		name, in string
		want     ParsedHeader
	}{
		{"plain", "From: a@b\nSubject: hi\nDate: Mon, 4 Mar 2024 08:00:00 +0000\n\nbody Subject: no\n", ParsedHeader{"hi", "a@b", "Mon, 4 Mar 2024 08:00:00 +0000"}},
		{"crlf and case", "SUBJECT: x\r\nfrom: y\r\n\r\n", ParsedHeader{Subject: "x", From: "y"}},
		{"folded", "Subject: a\n long\n\tsubject\nX-Other: z\n continued\nFrom: f\n\n", ParsedHeader{Subject: "a long subject", From: "f"}},
		{"cut at block end", "Received: x\nSubject: s", ParsedHeader{Subject: "s"}},
		{"no colon", "garbage line\nFrom: f\n\n", ParsedHeader{From: "f"}},
		{"empty", "", ParsedHeader{}},
	}
	for _, tt := range tests {
		if got := ParseHeader([]byte(tt.in)); got != tt.want {
			t.Errorf("%s: ParseHeader = %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func ExampleParseHeader() {
	r := rand.New(rand.NewPCG(1, 1))
	m := NewMessage(r, 0, DefaultMaxSize)
	h := ParseHeader([]byte(m.Header))
	fmt.Println(h.Subject == m.Subject, h.From == m.From, h.Date == m.Date)
	fmt.Println(ParseHeader([]byte("Subject: quarterly\n report\nFrom: Anna <a@example.com>\n\nbody")))
	// Output:
	// true true true
	// {quarterly report Anna <a@example.com> }
}

func BenchmarkParseHeader(b *testing.B) {
	m := NewMessage(sim.Stream(1, "bench"), 0, DefaultMaxSize)
	block := []byte(m.Header)
	b.SetBytes(int64(len(block)))
	for b.Loop() {
		ParseHeader(block)
	}
}

func BenchmarkNewMessage(b *testing.B) {
	r := sim.Stream(1, "bench")
	for i := 0; b.Loop(); i++ {
		NewMessage(r, i, DefaultMaxSize)
	}
}
