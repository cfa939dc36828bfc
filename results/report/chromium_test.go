package report_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mailsim/mailsim/results/report"
	"github.com/mailsim/mailsim/results/resultstest"
)

// checkScript measures every image after the page has loaded and writes
// the measurements into the DOM, where --dump-dom shows them.
const checkScript = `<script>
window.addEventListener("load", function () {
  var lines = [];
  document.querySelectorAll("img").forEach(function (img, i) {
    var r = img.getBoundingClientRect();
    lines.push([i, img.complete, img.naturalWidth, img.naturalHeight, Math.round(r.width), Math.round(r.height)].join(" "));
  });
  var pre = document.createElement("pre");
  pre.id = "mailsim-check";
  pre.textContent = "images " + lines.length + "\n" + lines.join("\n");
  document.body.appendChild(pre);
});
</script>
`

func findChromium() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// TestRendersInChromium loads the report in headless Chromium and checks
// that every chart decodes and is laid out with a non-zero size.
func TestRendersInChromium(t *testing.T) {
	bin := findChromium()
	if bin == "" {
		t.Skip("chromium not found: install the Debian package chromium to run this test")
	}
	s := synthSet(t, resultstest.Default)
	var buf bytes.Buffer
	if err := report.Write(&buf, s, report.Options{}); err != nil {
		t.Fatal(err)
	}
	html := buf.String()
	wantImgs := strings.Count(html, "<img ")
	page := strings.Replace(html, "</body>", checkScript+"</body>", 1)
	dir := t.TempDir()
	path := filepath.Join(dir, "report.html")
	if err := os.WriteFile(path, []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+filepath.Join(dir, "profile"), "--window-size=1200,900",
		"--virtual-time-budget=10000", "--dump-dom", "file://"+path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	m := regexp.MustCompile(`(?s)<pre id="mailsim-check">(.*?)</pre>`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("the check script left no result in the DOM; chromium stderr:\n%s", stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(string(m[1])), "\n")
	if lines[0] != "images "+strconv.Itoa(wantImgs) || wantImgs == 0 {
		t.Fatalf("chromium saw %q, the report has %d images", lines[0], wantImgs)
	}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) != 6 || f[1] != "true" {
			t.Errorf("image not loaded: %q", l)
			continue
		}
		for _, v := range f[2:] {
			if n, err := strconv.Atoi(v); err != nil || n <= 0 {
				t.Errorf("image %s has a zero size (natural w h, laid-out w h): %q", f[0], l)
				break
			}
		}
	}
}
