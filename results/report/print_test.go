package report_test

import (
	"bytes"
	"context"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mailsim/mailsim/results"
	"github.com/mailsim/mailsim/results/report"
	"github.com/mailsim/mailsim/results/resultstest"
)

// chromium runs headless Chromium on the page at path with extra
// arguments and returns its standard output.
func chromium(t *testing.T, bin, dir, path string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + filepath.Join(dir, "profile")}
	cmd := exec.CommandContext(ctx, bin, append(append(base, args...), "file://"+path)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// Paper sizes in points.
var papers = []struct {
	name string
	w, h float64
}{
	{"A4", 595.28, 841.89},
	{"letter", 612, 792},
}

// TestPrintsToPDF prints the report of a set as wide as the catalogue's
// widest (six strategies, three sweep points) to A4 and to Letter in
// headless Chromium and reads the PDF: the answer comes first, every
// column of the key tables is on the page, and the page count stays that
// of a short document.
func TestPrintsToPDF(t *testing.T) {
	bin := findChromium()
	if bin == "" {
		t.Skip("chromium not found: install the Debian package chromium to run this test")
	}
	strategies := []string{"random", "per-ip", "director", "owner-proxy", "director-bounded", "passdb-static"}
	s := synthSet(t, resultstest.Options{Backends: []int{2, 8, 16}, Strategies: strategies, Replicas: 3, Samples: 400})
	c, err := results.Compare(s, results.CompareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	answer := c.Answer(0)
	if len(answer) == 0 {
		t.Fatal("the synthetic set has no answer")
	}
	var buf bytes.Buffer
	if err := report.Write(&buf, s, report.Options{}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, paper := range papers {
		t.Run(paper.name, func(t *testing.T) {
			page := strings.Replace(buf.String(), "</style>", "@page { size: "+paper.name+"; }\n</style>", 1)
			path := filepath.Join(dir, paper.name+".html")
			if err := os.WriteFile(path, []byte(page), 0o644); err != nil {
				t.Fatal(err)
			}
			pdfPath := filepath.Join(dir, paper.name+".pdf")
			chromium(t, bin, dir, path, "--no-pdf-header-footer", "--print-to-pdf="+pdfPath)
			pages, err := readPDF(pdfPath)
			if err != nil {
				t.Fatal(err)
			}
			// The key numbers and the drivers fit a few pages; the
			// appendix is collapsed and not printed.
			if len(pages) < 2 || len(pages) > 8 {
				t.Errorf("%d pages, want 2 to 8", len(pages))
			}
			var all strings.Builder
			for i, p := range pages {
				if math.Abs(p.Width-paper.w) > 1 || math.Abs(p.Height-paper.h) > 1 {
					t.Errorf("page %d is %.0f × %.0f pt, want %s (%.0f × %.0f)", i+1, p.Width, p.Height, paper.name, paper.w, paper.h)
				}
				all.WriteString(p.Text)
			}
			text := squash(all.String())
			first := squash(pages[0].Text)
			// The answer is on the first page, in words with its numbers.
			if !strings.Contains(first, squash(answer[0].Text)) {
				t.Errorf("the first page lacks the answer's first statement %q:\n%s", answer[0].Text, pages[0].Text)
			}
			// Every strategy's column heads each key table, and the last
			// column's cells are there: nothing was cut at the right.
			for _, st := range strategies {
				if n := strings.Count(text, st); n < 3 {
					t.Errorf("strategy %s appears %d times in the PDF; its column was cut", st, n)
				}
			}
			if !strings.Contains(text, "Thedecidingnumbers") || !strings.Contains(text, "Whatdrivestheresult") {
				t.Errorf("the PDF lacks a section:\n%s", text)
			}
			if strings.Contains(text, "Everymetric") {
				t.Error("the collapsed appendix was printed")
			}
		})
	}
}

// squash removes white space, which PDF text extraction does not keep
// reliably (a line break is a position, not a character).
func squash(s string) string {
	return regexp.MustCompile(`\s+`).ReplaceAllString(s, "")
}

// TestFirstScreenAnswers renders the report at a laptop's window size
// and narrower, and checks that the answer is on the first screen and
// that no table, chart or listing is wider than its box or the window:
// no sideways scrolling on screen, and nothing cut or shrunk in print.
func TestFirstScreenAnswers(t *testing.T) {
	bin := findChromium()
	if bin == "" {
		t.Skip("chromium not found: install the Debian package chromium to run this test")
	}
	s := synthSet(t, resultstest.Options{Backends: []int{2, 8, 16}, Strategies: []string{"random", "per-ip", "director", "owner-proxy", "director-bounded", "passdb-static"}, Replicas: 3, Samples: 400})
	var buf bytes.Buffer
	if err := report.Write(&buf, s, report.Options{}); err != nil {
		t.Fatal(err)
	}
	const script = `<script>
window.addEventListener("load", function () {
  var a = document.querySelector("ul.answer").getBoundingClientRect();
  var over = 0, what = [];
  document.querySelectorAll("table, figure, pre").forEach(function (e) {
    if (e.scrollWidth > e.clientWidth + 1 || e.getBoundingClientRect().right > window.innerWidth) { over++; what.push(e.tagName + ":" + e.scrollWidth + "/" + e.clientWidth + "/" + Math.round(e.getBoundingClientRect().right)); }
  });
  var pre = document.createElement("pre");
  pre.id = "mailsim-check";
  pre.textContent = ["answer-bottom", Math.round(a.bottom + window.scrollY), "scroll-width", document.documentElement.scrollWidth, "window", window.innerWidth, "overflowing", over, what.join(",")].join(" ");
  document.body.appendChild(pre);
});
</script>
`
	dir := t.TempDir()
	path := filepath.Join(dir, "report.html")
	if err := os.WriteFile(path, []byte(strings.Replace(buf.String(), "</body>", script+"</body>", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	// 700 px is A4's printable width at the screen's larger font: what
	// fits there prints without being cut or shrunk.
	for _, size := range []struct{ w, h int }{{1280, 800}, {800, 900}, {700, 1100}} {
		out := chromium(t, bin, dir, path, "--window-size="+itoa(size.w)+","+itoa(size.h), "--virtual-time-budget=5000", "--dump-dom")
		m := regexp.MustCompile(`answer-bottom (\d+) scroll-width (\d+) window (\d+) overflowing (\d+) ?(\S*)`).FindSubmatch(out)
		if m == nil {
			t.Fatalf("the check script left no result in the DOM")
		}
		bottom, scroll, win, over := atoi(m[1]), atoi(m[2]), atoi(m[3]), atoi(m[4])
		if over > 0 {
			t.Errorf("%d×%d: %d tables, figures or listings are wider than their box or the window (tag:content/box/right edge): %s", size.w, size.h, over, m[5])
		}
		if bottom > size.h {
			t.Errorf("%d×%d: the answer ends at %d px, below the first screen", size.w, size.h, bottom)
		}
		if scroll > win {
			t.Errorf("%d×%d: the page is %d px wide in a %d px window", size.w, size.h, scroll, win)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func atoi(b []byte) int {
	n, _ := strconv.Atoi(string(b))
	return n
}
