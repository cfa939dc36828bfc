package charts_test

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"

	"github.com/mailsim/mailsim/model/hist"
	"github.com/mailsim/mailsim/results"
	"github.com/mailsim/mailsim/results/charts"
	"github.com/mailsim/mailsim/results/resultstest"
)

// writeSet writes a set of the given manifest and runs and reads it back.
func writeSet(t *testing.T, m *results.Manifest, runs []*results.Run) *results.Set {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "set")
	w, err := results.Create(dir, m, results.Session{Host: "test", Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range runs {
		if err := w.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Finalize(time.Time{}); err != nil {
		t.Fatal(err)
	}
	s, err := results.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// setWith builds a synthetic set with the given backend counts and lets
// edit change each run before it is written.
func setWith(t *testing.T, backends []int, edit func(r *results.Run)) *results.Set {
	t.Helper()
	o := resultstest.Default
	o.Backends = backends
	o.Samples = 200
	m, runs := resultstest.Build(o)
	if edit != nil {
		for _, r := range runs {
			edit(r)
		}
	}
	return writeSet(t, m, runs)
}

// labelled returns the values and labels of the labelled ticks an axis
// shows.
func labelled(ax plot.Axis) (vals []float64, labels []string) {
	for _, tk := range ax.Tick.Marker.Ticks(ax.Min, ax.Max) {
		if tk.Label != "" {
			vals = append(vals, tk.Value)
			labels = append(labels, tk.Label)
		}
	}
	return vals, labels
}

// A swept parameter is ticked exactly at the values tested, on a
// logarithmic axis when they double.
func TestTicksAtTestedValues(t *testing.T) {
	tests := []struct {
		backends []int
		log      bool
	}{
		{[]int{2, 4, 8, 16}, true},
		{[]int{1, 2, 4, 8, 16, 32}, true},
		{[]int{16, 8, 4, 2}, true}, // planned in descending order
		{[]int{3, 5, 7, 9}, false},
		{[]int{4, 8}, false},
		{[]int{10, 20, 30, 45}, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.backends), func(t *testing.T) {
			s := setWith(t, tt.backends, nil)
			c, err := charts.MetricVsParamChart(s, "imap.latency.p99", "cluster.backends")
			if err != nil {
				t.Fatal(err)
			}
			want := slices.Clone(tt.backends)
			slices.Sort(want)
			vals, labels := labelled(c.Plot.X)
			var wantVals []float64
			var wantLabels []string
			for _, b := range want {
				wantVals = append(wantVals, float64(b))
				wantLabels = append(wantLabels, fmt.Sprint(b))
			}
			if !slices.Equal(vals, wantVals) || !slices.Equal(labels, wantLabels) {
				t.Errorf("ticks at %v %q, want %v %q", vals, labels, wantVals, wantLabels)
			}
			_, isLog := c.Plot.X.Scale.(plot.LogScale)
			if isLog != tt.log {
				t.Errorf("logarithmic axis %v, want %v", isLog, tt.log)
			}
			if got := c.Plot.X.Label.Text; !strings.HasPrefix(got, "Backends") || strings.Contains(got, "log scale") != tt.log {
				t.Errorf("axis label %q", got)
			}
			// Every tested value lies inside the axis.
			for _, v := range wantVals {
				if v <= c.Plot.X.Min || v >= c.Plot.X.Max {
					t.Errorf("%g outside the axis %g..%g", v, c.Plot.X.Min, c.Plot.X.Max)
				}
			}
		})
	}
}

func TestParamWords(t *testing.T) {
	axes := []struct {
		key    string
		values []string
		want   string
	}{
		{"cluster.backends", []string{"2", "4"}, "Backends"},
		{"nfs.client.actimeo", []string{"3s", "60s"}, "actimeo (s)"},
		{"nfs.client.actimeo", []string{"", "0s"}, "actimeo"},
		{"nfs.rtt", []string{"100us", "500us", "1ms", "2ms"}, "NFS round trip (ms)"},
		{"nfs.rtt", []string{"50us", "200us"}, "NFS round trip (µs)"},
		{"cluster.cache_bytes", []string{"268435456", "4294967296"}, "Backend cache (GiB)"},
		{"nfs.client.vers", []string{"3", "4.2"}, "NFS version"},
		{"some.new_key", []string{"a", "b"}, "some.new_key"},
	}
	for _, tt := range axes {
		if got := charts.ParamAxisLabel(tt.key, tt.values); got != tt.want {
			t.Errorf("ParamAxisLabel(%s, %q) = %q, want %q", tt.key, tt.values, got, tt.want)
		}
	}
	values := []struct{ key, value, want string }{
		{"nfs.client.actimeo", "", "default"},
		{"nfs.client.noac", "true", "on"},
		{"nfs.client.noac", "false", "off"},
		{"nfs.rtt", "100us", "100 µs"},
		{"nfs.rtt", "2ms", "2 ms"},
		{"workload.users", "1000000", "1,000,000"},
		{"cluster.cache_bytes", "268435456", "256 MiB"},
		{"nfs.profile", "profiles/ext4-local-disk.toml", "ext4-local-disk"},
		{"storage.kind", "cluster-fs", "cluster-fs"},
	}
	for _, tt := range values {
		if got := charts.ValueLabel(tt.key, tt.value); got != tt.want {
			t.Errorf("ValueLabel(%s, %q) = %q, want %q", tt.key, tt.value, got, tt.want)
		}
	}
	pt := results.Point{{Key: "cluster.backends", Value: "8"}, {Key: "nfs.client.actimeo", Value: ""}}
	if got, want := charts.PointLabel(pt), "Backends: 8, actimeo: default"; got != want {
		t.Errorf("PointLabel = %q, want %q", got, want)
	}
}

// A metric whose values are all zero spans 0 to 1 and says so; a metric
// that is never negative never gets a negative axis.
func TestZeroAndNonNegativeRanges(t *testing.T) {
	s := setWith(t, []int{4, 8}, func(r *results.Run) {
		for i := range r.Metrics {
			if r.Metrics[i].Name == "failed_logins" {
				r.Metrics[i].Value = 0
			}
		}
		if c := r.Series.Column("failed_logins"); c != nil {
			clear(c.Values)
		}
	})
	pt := s.Points()[0]
	zero := []struct {
		name string
		make func() (*charts.Chart, error)
	}{
		{"metric", func() (*charts.Chart, error) {
			return charts.MetricVsParamChart(s, "failed_logins", "cluster.backends")
		}},
		{"series", func() (*charts.Chart, error) { return charts.IncidentsChart(s, pt, "failed_logins") }},
	}
	for _, tt := range zero {
		c, err := tt.make()
		if err != nil {
			t.Fatal(err)
		}
		if c.Plot.Y.Min != 0 || c.Plot.Y.Max != 1 {
			t.Errorf("%s: all zero spans %g..%g, want 0..1", tt.name, c.Plot.Y.Min, c.Plot.Y.Max)
		}
		if !slices.Contains(c.Notes, "All zero") {
			t.Errorf("%s: notes %q lack \"All zero\"", tt.name, c.Notes)
		}
		_, labels := labelled(c.Plot.Y)
		if !slices.Equal(labels, []string{"0"}) {
			t.Errorf("%s: y ticks %q, want only 0", tt.name, labels)
		}
	}

	// Stale reads are zero for the director only, and their intervals
	// reach below zero: the axis still starts at zero.
	for _, name := range []string{"stale_reads", "load_imbalance", "cache.hit_ratio", "imap.latency.p99"} {
		c, err := charts.MetricVsParamChart(s, name, "cluster.backends")
		if err != nil {
			t.Fatal(err)
		}
		if c.Plot.Y.Min != 0 {
			t.Errorf("%s: y axis from %g, want 0", name, c.Plot.Y.Min)
		}
		if len(c.Notes) != 0 {
			t.Errorf("%s: notes %q", name, c.Notes)
		}
	}
	for _, name := range []string{"backend.cpu_util", "backend.commands"} {
		c, err := charts.BackendLoadChart(s, pt, name)
		if err != nil {
			t.Fatal(err)
		}
		if c.Plot.Y.Min != 0 || c.Plot.Y.Max <= 0 {
			t.Errorf("%s: y axis %g..%g", name, c.Plot.Y.Min, c.Plot.Y.Max)
		}
	}
}

// Values are shown in the units people read: milliseconds for
// latencies below a second, seconds above, percent for shares, per
// second for rates; counts with thousands separators.
func TestUnits(t *testing.T) {
	s := setWith(t, []int{4, 8}, func(r *results.Run) {
		slow := 0.0
		for _, m := range r.Metrics {
			if m.Name == "imap.latency.p99" {
				slow = m.Value * 40 // above a second
			}
		}
		r.Metrics = append(r.Metrics,
			results.Metric{Name: "slow.latency", Unit: "s", Value: slow},
			results.Metric{Name: "imap.commands_per_s", Unit: "1/s", Value: 1234.5},
			results.Metric{Name: "things_per_s", Unit: "1/s", Value: 12},
			results.Metric{Name: "big_count", Value: 1.6e6 + float64(r.Replica)})
	})
	tests := []struct {
		metric, title, ylabel string
		lo, hi                float64 // where the values lie, in the unit shown
	}{
		{"imap.latency.p99", "IMAP latency, 99th percentile (ms)", "milliseconds", 20, 300},
		{"slow.latency", "slow.latency (s)", "seconds", 1, 20},
		{"cache.hit_ratio", "Backend cache hit ratio (%)", "percent", 55, 95},
		{"imap.commands_per_s", "IMAP commands per second", "per second", 1000, 1500},
		{"things_per_s", "things_per_s (/s)", "per second", 10, 15},
		{"big_count", "big_count", "", 1.5e6, 1.7e6},
	}
	for _, tt := range tests {
		c, err := charts.MetricVsParamChart(s, tt.metric, "cluster.backends")
		if err != nil {
			t.Fatal(err)
		}
		if c.Title != tt.title || c.Plot.Y.Label.Text != tt.ylabel {
			t.Errorf("%s: title %q, y label %q; want %q, %q", tt.metric, c.Title, c.Plot.Y.Label.Text, tt.title, tt.ylabel)
		}
		if !strings.Contains(c.Subtitle, "Mean of 3 replicas per point") {
			t.Errorf("%s: subtitle %q does not give the replicas", tt.metric, c.Subtitle)
		}
		if strings.Contains(c.Title, "replica") {
			t.Errorf("%s: title %q names replicas", tt.metric, c.Title)
		}
		// The data's range, from the axis: the top lies above the
		// largest value shown, not far from it.
		if c.Plot.Y.Max < tt.lo || c.Plot.Y.Max > 1.3*tt.hi {
			t.Errorf("%s: y axis up to %g, want values in %g..%g", tt.metric, c.Plot.Y.Max, tt.lo, tt.hi)
		}
	}
	// Large counts are ticked with thousands separators, never in
	// exponent form.
	c, _ := charts.MetricVsParamChart(s, "big_count", "cluster.backends")
	_, labels := labelled(c.Plot.Y)
	for _, l := range labels {
		if strings.ContainsAny(l, "e+") || (len(l) > 3 && !strings.Contains(l, ",")) {
			t.Errorf("big_count tick %q", l)
		}
	}
	if !slices.Contains(labels, "1,600,000") && !slices.Contains(labels, "1,000,000") {
		t.Errorf("big_count ticks %q", labels)
	}
}

func overlaps(a, b vg.Rectangle) bool {
	return a.Min.X < b.Max.X && b.Min.X < a.Max.X && a.Min.Y < b.Max.Y && b.Min.Y < a.Max.Y
}

func inside(a, outer vg.Rectangle) bool {
	return a.Min.X >= outer.Min.X && a.Min.Y >= outer.Min.Y && a.Max.X <= outer.Max.X && a.Max.Y <= outer.Max.Y
}

// The legend never overlaps the data area, nor the axes: it has a strip
// of its own below the plot, even with many entries or a small canvas.
func TestLegendOutsideData(t *testing.T) {
	s := synthSet(t)
	pt := s.Points()[1]
	imap, _ := charts.LatencyClassOf(s, "IMAP")
	many := setWith(t, []int{2, 4, 8, 16}, nil)
	var cs []*charts.Chart
	add := func(c *charts.Chart, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
	}
	add(charts.MetricVsParamChart(s, "imap.latency.p99", "cluster.backends"))
	add(charts.MetricVsParamChart(many, "cache.hit_ratio", "cluster.backends"))
	add(charts.LatencyCDFChart(s, pt, imap))
	add(charts.BackendLoadChart(s, pt, "backend.cpu_util"))
	add(charts.IncidentsChart(s, pt, "failed_logins"))
	add(charts.PlanObjectiveChart(synthPlan(), "backend CPU"))
	crowded := manyStrategies(t, 24)
	add(charts.MetricVsParamChart(crowded, "imap.latency.p99", "cluster.backends"))
	sizes := []struct{ w, h vg.Length }{
		{charts.DefaultWidth, charts.DefaultHeight},
		{12 * vg.Centimeter, 9 * vg.Centimeter},
		{30 * vg.Centimeter, 12 * vg.Centimeter},
	}
	for _, c := range cs {
		if dir := os.Getenv("CHARTS_LAYOUT_DIR"); dir != "" {
			for _, sz := range sizes {
				b, _ := c.Render(charts.PNG, sz.w, sz.h)
				os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s-%.0f.png", c.Slug(), sz.w)), b, 0o644)
			}
		}
		for _, sz := range sizes {
			l := c.Layout(sz.w, sz.h)
			canvas := vg.Rectangle{Max: vg.Point{X: sz.w, Y: sz.h}}
			if len(c.Legend()) == 0 {
				t.Errorf("%s: no legend", c.Name)
			}
			if overlaps(l.Legend, l.Data) || overlaps(l.Legend, l.Plot) {
				t.Errorf("%s at %v×%v: legend %v overlaps the plot %v (data %v)", c.Name, sz.w, sz.h, l.Legend, l.Plot, l.Data)
			}
			if overlaps(l.Heading, l.Plot) || overlaps(l.Heading, l.Legend) {
				t.Errorf("%s at %v×%v: heading %v overlaps the plot or the legend", c.Name, sz.w, sz.h, l.Heading)
			}
			if l.Legend.Max.Y > l.Data.Min.Y {
				t.Errorf("%s at %v×%v: legend not below the data", c.Name, sz.w, sz.h)
			}
			for _, r := range []vg.Rectangle{l.Heading, l.Plot, l.Data, l.Legend} {
				if !inside(r, canvas) {
					t.Errorf("%s at %v×%v: %v outside the canvas", c.Name, sz.w, sz.h, r)
				}
			}
			if h := l.Data.Max.Y - l.Data.Min.Y; h < sz.h/4 {
				t.Errorf("%s at %v×%v: data area only %v high", c.Name, sz.w, sz.h, h)
			}
		}
	}
	// 24 strategies do not fit at the default size: the last entry says
	// how many are left out.
	leg := cs[len(cs)-1].Legend()
	if len(leg) != 24 {
		t.Errorf("crowded chart has %d legend entries, want 24", len(leg))
	}
}

// manyStrategies is a synthetic set with n strategies of long names.
func manyStrategies(t *testing.T, n int) *results.Set {
	o := resultstest.Default
	o.Samples = 50
	o.Replicas = 2
	o.Strategies = nil
	for i := range n {
		o.Strategies = append(o.Strategies, fmt.Sprintf("strategy-with-a-long-name-%02d", i))
	}
	m, runs := resultstest.Build(o)
	return writeSet(t, m, runs)
}

// The p99 a latency chart marks is the table's: for every point and
// strategy, the comparison's mean of imap.latency.p99, and the legend
// prints it as the table does.
func TestCDFP99MatchesTable(t *testing.T) {
	s := synthSet(t)
	cmp, err := results.Compare(s, results.CompareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	imap, ok := charts.LatencyClassOf(s, "IMAP")
	if !ok || imap.Metric != "imap.latency.p99" {
		t.Fatalf("IMAP class %+v", imap)
	}
	for _, pc := range cmp.Points {
		c, err := charts.LatencyCDFChart(s, pc.Point, imap)
		if err != nil {
			t.Fatal(err)
		}
		for _, row := range pc.Rows {
			if row.Metric.Name != "imap.latency.p99" {
				continue
			}
			var means []float64
			for _, iv := range row.Cells {
				means = append(means, iv.Mean)
			}
			disp := results.DisplayOf(row.Metric, means...)
			for i, st := range cmp.Strategies {
				runs := s.RunsAt(pc.Point, st)
				if got, want := charts.ClassP99(runs, imap), row.Cells[i].Mean; got != want {
					t.Errorf("%s %s: chart's p99 %v, table's %v", pc.Point, st, got, want)
				}
				// Without the metric, from the histograms: the same.
				bare := imap
				bare.Metric = ""
				if got, want := charts.ClassP99(runs, bare), row.Cells[i].Mean; math.Abs(got-want) > 1e-12*want {
					t.Errorf("%s %s: p99 from the histograms %v, table's %v", pc.Point, st, got, want)
				}
				entry := st + ": p99 " + disp.FormatUnit(row.Cells[i].Mean)
				if !slices.Contains(c.Legend(), entry) {
					t.Errorf("%s: legend %q lacks %q", pc.Point, c.Legend(), entry)
				}
			}
		}
	}
}

// The IMAP class merges exactly what the model's imap.latency.* merge:
// every latency histogram but IDLE checks and LMTP deliveries, which is
// a class of its own.
func TestLatencyClasses(t *testing.T) {
	s := setWith(t, []int{4}, func(r *results.Run) {
		var idle, lmtp hist.Histogram
		for i := range 300 {
			idle.Add(5 + float64(i))        // IDLE checks take seconds
			lmtp.Add(0.02 + float64(i)/1e4) // deliveries tens of ms
		}
		r.Histograms = append(r.Histograms,
			results.Histogram{Name: "latency/IDLE", Unit: "s", Hist: idle},
			results.Histogram{Name: "latency/LMTP", Unit: "s", Hist: lmtp})
		r.Metrics = append(r.Metrics, results.Metric{Name: "lmtp.latency.p99", Unit: "s", Value: lmtp.Quantile(0.99)})
	})
	var names []string
	for _, c := range charts.LatencyClasses(s) {
		names = append(names, c.Name)
		if c.Name == "IMAP" {
			if !slices.Equal(c.Histograms, []string{"latency/FETCH", "latency/SELECT"}) {
				t.Errorf("IMAP merges %q", c.Histograms)
			}
		}
	}
	if !slices.Equal(names, []string{"IMAP", "FETCH", "SELECT", "LMTP"}) {
		t.Errorf("classes %q", names)
	}
	imap, _ := charts.LatencyClassOf(s, "IMAP")
	lmtp, _ := charts.LatencyClassOf(s, "LMTP")
	for _, r := range s.Runs {
		h, _ := charts.MergeRun(r, imap.Histograms)
		if want, _ := r.Metric("imap.latency.p99"); h.Quantile(0.99) != want {
			t.Errorf("%s: IMAP class p99 %v, metric %v", r.ID, h.Quantile(0.99), want)
		}
	}
	pt := s.Points()[0]
	c, err := charts.LatencyCDFChart(s, pt, lmtp)
	if err != nil {
		t.Fatal(err)
	}
	if c.Title != "LMTP delivery latency" || c.Plot.Y.Label.Text != "Deliveries done within x" {
		t.Errorf("LMTP chart %q, %q", c.Title, c.Plot.Y.Label.Text)
	}
	if _, ok := charts.LatencyClassOf(s, "IDLE"); ok {
		t.Errorf("IDLE has a class")
	}
}

// The model's own sets: the IMAP class of a reference set gives each
// run's imap.latency.p99 exactly, a command's class its latency.<cmd>.p99
// and LMTP's lmtp.latency.p99.
func TestLatencyClassesOfReferenceSet(t *testing.T) {
	dir := filepath.Join("..", "reference", "default")
	if _, err := os.Stat(filepath.Join(dir, "manifest.json")); err != nil {
		t.Skip("no reference set")
	}
	s, err := results.Read(dir)
	if err != nil {
		// The reference sets are rewritten when the model changes; one
		// being rewritten is no failure of the charts.
		t.Skipf("reference set unreadable: %v", err)
	}
	classes := charts.LatencyClasses(s)
	if len(classes) < 3 {
		t.Fatalf("classes %v", classes)
	}
	for _, cl := range classes {
		if slices.Contains(cl.Histograms, "latency/IDLE") || (cl.Name == "IMAP" && slices.Contains(cl.Histograms, "latency/LMTP")) {
			t.Errorf("%s merges %q", cl.Name, cl.Histograms)
		}
		for _, r := range s.Runs {
			want, ok := r.Metric(cl.Metric)
			if !ok {
				continue
			}
			h, _ := charts.MergeRun(r, cl.Histograms)
			if got := h.Quantile(0.99); math.Abs(got-want) > 1e-12*math.Abs(want) {
				t.Errorf("%s %s: p99 of the merged histograms %v, metric %s %v", r.ID, cl.Name, got, cl.Metric, want)
			}
		}
	}
}

func TestSlug(t *testing.T) {
	tests := []struct{ name, want string }{
		{"imap.latency.p99 by cluster.backends", "imap-latency-p99-by-cluster-backends"},
		{"latency IMAP at cluster.backends=8", "latency-imap-at-cluster-backends-8"},
		{"../../etc/passwd", "etc-passwd"},
		{"/abs/path", "abs-path"},
		{"Ünïcode µs", "n-code-s"},
		{"", "chart"},
		{"...", "chart"},
	}
	for _, tt := range tests {
		if got := charts.Slug(tt.name); got != tt.want {
			t.Errorf("Slug(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
	long1 := strings.Repeat("very long name ", 20) + "a"
	long2 := strings.Repeat("very long name ", 20) + "b"
	a, b := charts.Slug(long1), charts.Slug(long2)
	if len(a) > 80 || len(b) > 80 || a == b || a != charts.Slug(long1) {
		t.Errorf("long slugs %q, %q", a, b)
	}
}

// WriteFiles writes <slug>.svg and <slug>.png, the same bytes as Render,
// the same bytes every time, and nothing outside its folder.
func TestWriteFiles(t *testing.T) {
	s := synthSet(t)
	c, err := charts.MetricVsParamChart(s, "cache.hit_ratio", "cluster.backends")
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	dir := filepath.Join(root, "charts", "new")
	paths, err := c.WriteFiles(dir, charts.DefaultWidth, charts.DefaultHeight)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(dir, "cache-hit-ratio-by-cluster-backends.svg"), filepath.Join(dir, "cache-hit-ratio-by-cluster-backends.png")}
	if !slices.Equal(paths, want) {
		t.Fatalf("wrote %q, want %q", paths, want)
	}
	for i, f := range []charts.Format{charts.SVG, charts.PNG} {
		got, err := os.ReadFile(paths[i])
		if err != nil {
			t.Fatal(err)
		}
		again, err := c.Render(f, charts.DefaultWidth, charts.DefaultHeight)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, again) {
			t.Errorf("%s differs from a second rendering", paths[i])
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("folder holds %d files, want 2 (no temporary files left)", len(entries))
	}

	// A symbolic link in the folder does not lead the files out of it.
	outside := filepath.Join(root, "outside.png")
	if err := os.WriteFile(outside, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	evil := filepath.Join(root, "evil")
	if err := os.MkdirAll(evil, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(evil, c.Slug()+".png")); err != nil {
		t.Skip("no symbolic links here")
	}
	if err := os.Symlink(outside, filepath.Join(evil, "."+c.Slug()+".svg.tmp")); err != nil {
		t.Fatal(err)
	}
	_, err = c.WriteFiles(evil, charts.DefaultWidth, charts.DefaultHeight)
	if b, _ := os.ReadFile(outside); string(b) != "keep" {
		t.Errorf("a file outside the folder was overwritten (error %v)", err)
	}

	// Two charts with the same slug are refused before anything is
	// written.
	twin := *c
	twin.Name = "cache hit ratio by cluster backends"
	empty := filepath.Join(root, "twins")
	if _, err := charts.WriteAll(empty, []*charts.Chart{c, &twin}, charts.DefaultWidth, charts.DefaultHeight); err == nil || !strings.Contains(err.Error(), "both") {
		t.Errorf("same slug: %v", err)
	}
	if _, err := os.Stat(empty); err == nil {
		t.Errorf("WriteAll wrote before refusing")
	}
}

// The same set always gives the same bytes.
func TestDeterministic(t *testing.T) {
	for range 2 {
		a, b := synthSet(t), synthSet(t)
		imap, _ := charts.LatencyClassOf(a, "IMAP")
		imapB, _ := charts.LatencyClassOf(b, "IMAP")
		ca, err := charts.LatencyCDFChart(a, a.Points()[0], imap)
		if err != nil {
			t.Fatal(err)
		}
		cb, err := charts.LatencyCDFChart(b, b.Points()[0], imapB)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range []charts.Format{charts.SVG, charts.PNG} {
			x, _ := ca.Render(f, charts.DefaultWidth, charts.DefaultHeight)
			y, _ := cb.Render(f, charts.DefaultWidth, charts.DefaultHeight)
			if !bytes.Equal(x, y) {
				t.Errorf("%s: two renderings of the same set differ", f)
			}
		}
	}
}
