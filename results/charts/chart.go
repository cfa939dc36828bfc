package charts

import (
	"bytes"
	"fmt"
	"hash/fnv"
	"image/color"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	xfont "golang.org/x/image/font"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Chart is one chart of a result set, ready to draw: what it shows in
// words and the plot of its data. The title, the subtitle and the legend
// are drawn around the plot, never over its data.
type Chart struct {
	// Name identifies the chart among a set's charts, such as
	// "imap.latency.p99 by cluster.backends"; [Slug] of it names the
	// chart's files.
	Name string
	// Title says what the chart shows in words, with its unit: "IMAP
	// latency, 99th percentile (ms)".
	Title string
	// Subtitle is one short line under the title: where the values come
	// from (replicas, intervals, the sweep point).
	Subtitle string
	// Caption is a sentence or two for a report's figure caption.
	Caption string
	// Notes are short remarks drawn in the middle of the data area, such
	// as "All zero" for a series that never left zero.
	Notes []string
	// Plot holds the axes and the data. Its own title and legend are left
	// empty: Draw puts them outside the data area.
	Plot *plot.Plot

	legend []legendEntry
}

// legendEntry is one line of a chart's legend.
type legendEntry struct {
	text   string
	thumbs []plot.Thumbnailer
}

// addLegend adds a legend entry drawn with thumbs (the line, glyphs or
// bar of the data it names).
func (c *Chart) addLegend(label string, thumbs ...plot.Thumbnailer) {
	c.legend = append(c.legend, legendEntry{text: label, thumbs: thumbs})
}

// Legend returns the texts of the chart's legend entries, in order.
func (c *Chart) Legend() []string {
	out := make([]string, len(c.legend))
	for i, e := range c.legend {
		out[i] = e.text
	}
	return out
}

// Slug returns the base name of the chart's files: [Slug] of its Name.
func (c *Chart) Slug() string { return Slug(c.Name) }

// Alt returns a text alternative to the chart's image: its title and
// subtitle.
func (c *Chart) Alt() string {
	if c.Subtitle == "" {
		return c.Title
	}
	return c.Title + ". " + c.Subtitle
}

// Default chart size: 16:9, 24 cm × 13.5 cm, for a slide as it is and
// for an HTML report scaled to about 800 pixels wide.
const (
	DefaultWidth  = 24 * vg.Centimeter
	DefaultHeight = 13.5 * vg.Centimeter
	// PNGDPI is the resolution of PNG output, sharp on high-density
	// screens and projectors: 1,361 × 765 pixels at the default size.
	PNGDPI = 144
)

// Font sizes, in points, large enough to read on a projector.
const (
	titleSize    = 16
	subtitleSize = 12
	labelSize    = 13
	tickSize     = 12
	legendSize   = 12
	noteSize     = 13
)

// sans is the typeface of every text of a chart.
var sans = font.Font{Typeface: "Liberation", Variant: "Sans"}

var (
	ink      = color.Gray{0x1a}
	softInk  = color.Gray{0x55}
	gridGray = color.Gray{0xE3}
)

func textStyle(size vg.Length, bold bool, c color.Color) text.Style {
	f := font.From(sans, size)
	if bold {
		f.Weight = xfont.WeightBold
	}
	return text.Style{Color: c, Font: f, Handler: plot.DefaultTextHandler}
}

// Space between a chart's parts and in its legend, in points.
const (
	partGap     = 7
	legendThumb = 26
	legendSep   = 6
	legendCol   = 20
)

// Layout is where a chart's parts go on its canvas, in the canvas's
// coordinates (points from the lower left corner).
type Layout struct {
	// Heading holds the title and the subtitle.
	Heading vg.Rectangle
	// Plot holds the axes, their labels and the data area.
	Plot vg.Rectangle
	// Data is the data area inside the axes.
	Data vg.Rectangle
	// Legend holds the legend's entries; it is empty when the chart has
	// no legend.
	Legend vg.Rectangle
}

// layout is the computed placement of a chart's parts.
type layout struct {
	Layout
	k           vg.Length // text and spacing scale: 1 at the default size
	title       []string
	subtitle    []string
	titleAt     vg.Point // top left of the title
	subtitleAt  vg.Point
	legend      legendGrid
	legendStart vg.Point // top left of the first entry
}

// legendGrid lays out legend entries in balanced columns, each as wide
// as its widest entry, filled top to bottom.
type legendGrid struct {
	entries    []legendEntry
	size       vg.Length // font size
	k          vg.Length // spacing scale
	cols, rows int
	colW       []vg.Length
	rowH       vg.Length
}

func (g *legendGrid) thumbW() vg.Length { return vg.Points(legendThumb) * g.k }
func (g *legendGrid) sep() vg.Length    { return vg.Points(legendSep) * g.k }
func (g *legendGrid) gap() vg.Length    { return vg.Points(legendCol) * g.k }

func (g *legendGrid) width() vg.Length {
	w := vg.Length(g.cols-1) * g.gap()
	for _, cw := range g.colW {
		w += cw
	}
	return w
}

func (g *legendGrid) height() vg.Length { return vg.Length(g.rows) * g.rowH }

// newLegendGrid lays entries out in as many columns as fit width.
func newLegendGrid(entries []legendEntry, size, k, width vg.Length) legendGrid {
	g := legendGrid{entries: entries, size: size, k: k}
	ls := textStyle(size, false, ink)
	g.rowH = vg.Length(ls.FontExtents().Height) * 1.3
	ws := make([]vg.Length, len(entries))
	for i, e := range entries {
		ws[i] = g.thumbW() + g.sep() + ls.Width(e.text)
	}
	n := len(entries)
	for cols := n; cols >= 1; cols-- {
		rows := (n + cols - 1) / cols
		cols := (n + rows - 1) / rows // balanced: no empty column
		g.cols, g.rows = cols, rows
		g.colW = make([]vg.Length, cols)
		for i, w := range ws {
			g.colW[i/rows] = max(g.colW[i/rows], w)
		}
		if g.width() <= width {
			break
		}
	}
	return g
}

// Layout returns where Draw puts the chart's parts on a w × h canvas.
func (c *Chart) Layout(w, h vg.Length) Layout {
	dc := draw.Canvas{Rectangle: vg.Rectangle{Max: vg.Point{X: w, Y: h}}}
	l := c.layout(dc)
	return l.Layout
}

// scaleFor is the scale of a chart's text on a canvas of w × h: 1 at the
// default size and larger, down to 0.7 on smaller canvases, whose
// pictures are small too.
func scaleFor(w, h vg.Length) vg.Length {
	return max(0.7, min(1, w/DefaultWidth, h/DefaultHeight))
}

func (c *Chart) layout(dc draw.Canvas) layout {
	var l layout
	l.k = scaleFor(dc.Max.X-dc.Min.X, dc.Max.Y-dc.Min.Y)
	k := l.k
	m := vg.Points(10) * k
	top := dc.Max.Y - m
	left, right := dc.Min.X+m, dc.Max.X-m
	width := right - left

	headTop := top
	if c.Title != "" {
		ts := textStyle(titleSize*k, true, ink)
		l.title = wrapText(c.Title, ts, width)
		l.titleAt = vg.Point{X: left, Y: top}
		top -= vg.Length(ts.FontExtents().Height) * vg.Length(len(l.title))
	}
	if c.Subtitle != "" {
		ss := textStyle(subtitleSize*k, false, softInk)
		top -= vg.Points(2) * k
		l.subtitle = wrapText(c.Subtitle, ss, width)
		l.subtitleAt = vg.Point{X: left, Y: top}
		top -= vg.Length(ss.FontExtents().Height) * vg.Length(len(l.subtitle))
	}
	l.Heading = vg.Rectangle{Min: vg.Point{X: left, Y: top}, Max: vg.Point{X: right, Y: headTop}}
	if c.Title != "" || c.Subtitle != "" {
		top -= vg.Points(partGap) * k
	}

	bottom := dc.Min.Y + m
	if len(c.legend) > 0 {
		// The legend takes at most a third of the height: in a smaller
		// font if need be, and without its last entries if even that is
		// not enough (a last entry says how many are left out).
		maxH := (dc.Max.Y - dc.Min.Y) / 3
		entries := c.legend
		var g legendGrid
		for _, size := range []vg.Length{legendSize, legendSize - 1, legendSize - 2, legendSize - 3} {
			g = newLegendGrid(entries, size*k, k, width)
			if g.height() <= maxH {
				break
			}
		}
		if g.height() > maxH {
			fit := g.cols * max(1, int(maxH/g.rowH))
			keep := max(1, fit-1)
			entries = append(entries[:keep:keep], legendEntry{text: fmt.Sprintf("and %d more not shown", len(c.legend)-keep)})
			g = newLegendGrid(entries, g.size, k, width)
		}
		h := g.height()
		x0 := left + max(0, (width-g.width())/2)
		l.legend = g
		l.legendStart = vg.Point{X: x0, Y: bottom + h}
		l.Legend = vg.Rectangle{Min: vg.Point{X: x0, Y: bottom}, Max: vg.Point{X: x0 + min(g.width(), width), Y: bottom + h}}
		bottom += h + vg.Points(partGap)*k
	}
	l.Plot = vg.Rectangle{Min: vg.Point{X: left, Y: bottom}, Max: vg.Point{X: right, Y: top}}
	body := draw.Canvas{Canvas: dc.Canvas, Rectangle: l.Plot}
	q := c.bodyPlot(body, k)
	l.Data = q.DataCanvas(body).Rectangle
	return l
}

// bodyPlot returns a copy of the chart's plot, without title or legend,
// its text scaled by k, with the labels of close tested values thinned
// and long category names broken for the body canvas.
func (c *Chart) bodyPlot(body draw.Canvas, k vg.Length) *plot.Plot {
	q := *c.Plot
	q.Title.Text = ""
	q.Legend = plot.NewLegend()
	if k != 1 {
		for _, ax := range []*plot.Axis{&q.X, &q.Y} {
			ax.Label.TextStyle.Font.Size *= k
			ax.Tick.Label.Font.Size *= k
			ax.Tick.Length *= k
			ax.Label.Padding *= k
		}
	}
	switch ticks := q.X.Tick.Marker.(type) {
	case valueTicks:
		probe := q
		d := probe.DataCanvas(body)
		q.X.Tick.Marker = ticks.thin(probe.X, d.Max.X-d.Min.X, q.X.Tick.Label)
	case categoryTicks:
		probe := q
		d := probe.DataCanvas(body)
		q.X.Tick.Marker = ticks.wrap(d.Max.X-d.Min.X, q.X.Tick.Label)
	}
	return &q
}

// wrapText breaks s into lines no wider than width in sty, at spaces.
func wrapText(s string, sty text.Style, width vg.Length) []string {
	var lines []string
	for _, para := range strings.Split(s, "\n") {
		line := ""
		for _, w := range strings.Fields(para) {
			try := w
			if line != "" {
				try = line + " " + w
			}
			if line != "" && sty.Width(try) > width {
				lines = append(lines, line)
				line = w
				continue
			}
			line = try
		}
		lines = append(lines, line)
	}
	return lines
}

// Draw draws the chart on dc: the title and subtitle at the top, the
// plot below them, the legend in a strip of its own under the plot.
func (c *Chart) Draw(dc draw.Canvas) {
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())
	l := c.layout(dc)
	k := l.k

	ts := textStyle(titleSize*k, true, ink)
	ts.YAlign = draw.YTop
	for i, line := range l.title {
		dc.FillText(ts, vg.Point{X: l.titleAt.X, Y: l.titleAt.Y - vg.Length(i)*vg.Length(ts.FontExtents().Height)}, line)
	}
	ss := textStyle(subtitleSize*k, false, softInk)
	ss.YAlign = draw.YTop
	for i, line := range l.subtitle {
		dc.FillText(ss, vg.Point{X: l.subtitleAt.X, Y: l.subtitleAt.Y - vg.Length(i)*vg.Length(ss.FontExtents().Height)}, line)
	}

	body := draw.Canvas{Canvas: dc.Canvas, Rectangle: l.Plot}
	q := c.bodyPlot(body, k)
	q.Draw(body)
	if len(c.Notes) > 0 {
		ns := textStyle(noteSize*k, false, softInk)
		ns.XAlign, ns.YAlign = draw.XCenter, draw.YCenter
		ns.Font.Style = xfont.StyleItalic
		center := vg.Point{X: (l.Data.Min.X + l.Data.Max.X) / 2, Y: (l.Data.Min.Y + l.Data.Max.Y) / 2}
		step := vg.Length(ns.FontExtents().Height)
		for i, n := range c.Notes {
			off := (vg.Length(len(c.Notes)-1)/2 - vg.Length(i)) * step
			dc.FillText(ns, vg.Point{X: center.X, Y: center.Y + off}, n)
		}
	}

	g := l.legend
	ls := textStyle(g.size, false, ink)
	ls.YAlign = draw.YCenter
	x := l.legendStart.X
	for i, e := range g.entries {
		col, row := i/g.rows, i%g.rows // down the columns
		if row == 0 && col > 0 {
			x += g.colW[col-1] + g.gap()
		}
		yTop := l.legendStart.Y - vg.Length(row)*g.rowH
		thumb := draw.Canvas{Canvas: dc.Canvas, Rectangle: vg.Rectangle{
			Min: vg.Point{X: x, Y: yTop - g.rowH*0.85},
			Max: vg.Point{X: x + g.thumbW(), Y: yTop - g.rowH*0.15},
		}}
		for _, t := range e.thumbs {
			t.Thumbnail(&thumb)
		}
		dc.FillText(ls, vg.Point{X: x + g.thumbW() + g.sep(), Y: yTop - g.rowH/2}, e.text)
	}
}

// Render draws the chart at width × height in format f.
func (c *Chart) Render(f Format, width, height vg.Length) ([]byte, error) {
	return render(c.Draw, f, width, height)
}

// render draws with paint on a new canvas of format f.
func render(paint func(draw.Canvas), f Format, width, height vg.Length) ([]byte, error) {
	var buf bytes.Buffer
	switch f {
	case PNG:
		c := vgimg.NewWith(vgimg.UseWH(width, height), vgimg.UseDPI(PNGDPI), vgimg.UseBackgroundColor(color.White))
		paint(draw.New(c))
		if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(&buf); err != nil {
			return nil, fmt.Errorf("charts: %v", err)
		}
	case SVG:
		c := vgsvg.New(width, height)
		paint(draw.New(c))
		if _, err := c.WriteTo(&buf); err != nil {
			return nil, fmt.Errorf("charts: %v", err)
		}
	default:
		return nil, fmt.Errorf("charts: unknown format %q (want png or svg)", f)
	}
	return buf.Bytes(), nil
}

// maxSlug is the longest slug; longer names are cut and end in a hash of
// the whole name, so that they stay distinct.
const maxSlug = 80

// Slug turns a chart's name into a file's base name: lower-case ASCII
// letters and digits, runs of anything else turned into one '-', at most
// 80 characters ("imap-latency-p99-by-cluster-backends"). The same name
// always gives the same slug, and a slug never names a path outside the
// folder it is written in.
func Slug(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
			continue
		}
		dash = true
	}
	s := b.String()
	if s == "" {
		s = "chart"
	}
	if len(s) > maxSlug {
		h := fnv.New32a()
		h.Write([]byte(name))
		s = strings.TrimRight(s[:maxSlug-9], "-") + fmt.Sprintf("-%08x", h.Sum32())
	}
	return s
}

// WriteFiles writes the chart at width × height into folder dir as
// <slug>.svg and <slug>.png (see [Slug]), creating dir if needed, and
// returns the paths written. Each file is written under a temporary name
// and renamed, so a reader never sees half a file; nothing is written
// outside dir, even through a symbolic link inside it.
func (c *Chart) WriteFiles(dir string, width, height vg.Length) ([]string, error) {
	return writeFiles(dir, c.Slug(), c.Render, width, height)
}

func writeFiles(dir, slug string, render func(Format, vg.Length, vg.Length) ([]byte, error), width, height vg.Length) ([]string, error) {
	if slug != Slug(slug) {
		return nil, fmt.Errorf("charts: %q is not a file name a chart may have", slug)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("charts: %v", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("charts: %v", err)
	}
	defer root.Close()
	var paths []string
	for _, f := range []Format{SVG, PNG} {
		b, err := render(f, width, height)
		if err != nil {
			return paths, err
		}
		name := slug + "." + string(f)
		tmp := "." + name + ".tmp"
		if err := root.WriteFile(tmp, b, 0o644); err != nil {
			return paths, fmt.Errorf("charts: %v", err)
		}
		if err := root.Rename(tmp, name); err != nil {
			_ = root.Remove(tmp)
			return paths, fmt.Errorf("charts: %v", err)
		}
		paths = append(paths, filepath.Join(dir, name))
	}
	return paths, nil
}

// Rendering is a chart drawn: as SVG, and as PNG unless that was not
// asked for (nil).
type Rendering struct {
	Chart    *Chart
	SVG, PNG []byte
}

// RenderAll draws every chart at width × height as SVG, and as PNG where
// png(i) is true for chart i (every chart when png is nil), on every
// processor at once, each chart by one goroutine (a chart's drawing is
// its own). What it returns does not depend on which finishes first: the
// renderings in order, or the error of the first chart that failed.
func RenderAll(cs []*Chart, width, height vg.Length, png func(i int) bool) ([]Rendering, error) {
	out := make([]Rendering, len(cs))
	errs := make([]error, len(cs))
	work := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(cs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				r := Rendering{Chart: cs[i]}
				r.SVG, errs[i] = cs[i].Render(SVG, width, height)
				if errs[i] == nil && (png == nil || png(i)) {
					r.PNG, errs[i] = cs[i].Render(PNG, width, height)
				}
				out[i] = r
			}
		}()
	}
	for i := range cs {
		work <- i
	}
	close(work)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// WriteAll writes every chart into dir as [Chart.WriteFiles] does,
// drawing them on every processor at once (see [RenderAll]), and returns
// the paths written, in order. Two charts whose names give the same slug
// are an error, found before anything is drawn or written.
func WriteAll(dir string, cs []*Chart, width, height vg.Length) ([]string, error) {
	if err := distinctSlugs(cs); err != nil {
		return nil, err
	}
	rs, err := RenderAll(cs, width, height, nil)
	if err != nil {
		return nil, err
	}
	return WriteRendered(dir, rs)
}

// WriteRendered writes charts drawn by [RenderAll], with their PNGs, into
// dir as [Chart.WriteFiles] does, and returns the paths written, in
// order. Two charts whose names give the same slug are an error, found
// before anything is written.
func WriteRendered(dir string, rs []Rendering) ([]string, error) {
	cs := make([]*Chart, len(rs))
	for i, r := range rs {
		if r.PNG == nil {
			return nil, fmt.Errorf("charts: %q was drawn without its PNG", r.Chart.Name)
		}
		cs[i] = r.Chart
	}
	if err := distinctSlugs(cs); err != nil {
		return nil, err
	}
	var all []string
	for _, r := range rs {
		drawn := func(f Format, _, _ vg.Length) ([]byte, error) {
			if f == PNG {
				return r.PNG, nil
			}
			return r.SVG, nil
		}
		paths, err := writeFiles(dir, r.Chart.Slug(), drawn, 0, 0)
		all = append(all, paths...)
		if err != nil {
			return all, err
		}
	}
	return all, nil
}

// distinctSlugs reports two charts whose names give the same slug.
func distinctSlugs(cs []*Chart) error {
	seen := map[string]string{}
	for _, c := range cs {
		s := c.Slug()
		if other, ok := seen[s]; ok {
			return fmt.Errorf("charts: %q and %q would both be written as %s", other, c.Name, s)
		}
		seen[s] = c.Name
	}
	return nil
}
