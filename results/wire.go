package results

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mailsim/mailsim/model/hist"
)

// num is a float64 that survives JSON: finite values are numbers in their
// shortest exact form, NaN and infinities are the strings "NaN", "+Inf"
// and "-Inf".
type num float64

func (n num) MarshalJSON() ([]byte, error) {
	v := float64(n)
	switch {
	case math.IsNaN(v):
		return []byte(`"NaN"`), nil
	case math.IsInf(v, 1):
		return []byte(`"+Inf"`), nil
	case math.IsInf(v, -1):
		return []byte(`"-Inf"`), nil
	}
	return strconv.AppendFloat(nil, v, 'g', -1, 64), nil
}

func (n *num) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		switch s {
		case "NaN":
			*n = num(math.NaN())
		case "+Inf":
			*n = num(math.Inf(1))
		case "-Inf":
			*n = num(math.Inf(-1))
		default:
			return badValue(b, floatType)
		}
		return nil
	}
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return badValue(b, floatType)
	}
	*n = num(v)
	return nil
}

var (
	floatType    = reflect.TypeFor[num]()
	durationType = reflect.TypeFor[time.Duration]()
)

// badValue is the error of a JSON value b that does not decode to type t;
// the decoder adds the key.
func badValue(b []byte, t reflect.Type) error {
	v := string(b)
	if len(v) > 40 {
		v = v[:40] + "..."
	}
	return &json.UnmarshalTypeError{Value: v, Type: t}
}

func toNums(xs []float64) []num {
	out := make([]num, len(xs))
	for i, x := range xs {
		out[i] = num(x)
	}
	return out
}

func fromNums(xs []num) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = float64(x)
	}
	return out
}

// dur is a time.Duration written as Go duration text ("10s", "1m30s"),
// which parses back exactly.
type dur time.Duration

func (d dur) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

func (d *dur) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return badValue(b, durationType)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return badValue(b, durationType)
	}
	*d = dur(v)
	return nil
}

func pointToJSON(p Point) [][2]string {
	out := make([][2]string, len(p))
	for i, kv := range p {
		out[i] = [2]string{kv.Key, kv.Value}
	}
	return out
}

func pointFromJSON(p [][2]string) Point {
	if len(p) == 0 {
		return nil
	}
	out := make(Point, len(p))
	for i, kv := range p {
		out[i] = Param{kv[0], kv[1]}
	}
	return out
}

// File names inside a result set.
const (
	manifestFile     = "manifest.json"
	specGivenFile    = "spec.toml"
	specExpandedFile = "spec.expanded.toml"
	provenanceFile   = "provenance.json"
	runsCSVFile      = "runs.csv"
	summaryCSVFile   = "summary.csv"
	runsDir          = "runs"
	tmpPrefix        = ".tmp-"
	// unfinishedFile marks a set whose creation or merge has not
	// completed; see [Create] and [Merge].
	unfinishedFile = ".unfinished"
)

// Limits on what a reader accepts, so that a damaged or hostile file
// cannot make it allocate without bound. Each is far above what a real
// set holds.
const (
	maxManifestBytes   = 32 << 20
	maxSpecBytes       = 8 << 20
	maxRunBytes        = 64 << 20
	maxProvenanceBytes = 8 << 20
	maxPlanBytes       = 16 << 20
	// maxHistograms bounds the histograms of one run (each takes 1.6 kB
	// in memory however short its JSON).
	maxHistograms = 4096
)

type metricInfoJSON struct {
	Name   string `json:"name"`
	Unit   string `json:"unit"`
	Better string `json:"better"`
	Doc    string `json:"doc"`
}

type plannedJSON struct {
	ID       string      `json:"id"`
	Point    [][2]string `json:"point"`
	Strategy string      `json:"strategy"`
	Replica  int         `json:"replica"`
	Seed     uint64      `json:"seed,string"`
	Order    int         `json:"order,omitempty"`
}

type manifestJSON struct {
	Format         int              `json:"format"`
	Experiment     string           `json:"experiment"`
	Description    string           `json:"description"`
	MailsimVersion string           `json:"mailsim_version"`
	Commit         string           `json:"commit"`
	Build          *buildJSON       `json:"build,omitempty"`
	Seed           uint64           `json:"seed,string"`
	SpecGiven      string           `json:"spec_given"`
	SpecExpanded   string           `json:"spec_expanded"`
	Metrics        []metricInfoJSON `json:"metrics"`
	Sparse         bool             `json:"sparse,omitempty"`
	Source         *sourceJSON      `json:"source,omitempty"`
	Plan           []plannedJSON    `json:"plan"`
}

type buildJSON struct {
	Version  string `json:"version"`
	Revision string `json:"revision"`
	Modified bool   `json:"modified"`
	Go       string `json:"go"`
	Platform string `json:"platform"`
	Binary   string `json:"binary"`
}

type sourceJSON struct {
	Kind   string   `json:"kind"`
	Detail []string `json:"detail"`
}

func plannedToJSON(p PlannedRun) plannedJSON {
	return plannedJSON{ID: p.ID, Point: pointToJSON(p.Point), Strategy: p.Strategy, Replica: p.Replica, Seed: p.Seed, Order: p.Order}
}

func plannedFromJSON(p plannedJSON) PlannedRun {
	return PlannedRun{ID: p.ID, Point: pointFromJSON(p.Point), Strategy: p.Strategy, Replica: p.Replica, Seed: p.Seed, Order: p.Order}
}

// encodeManifest returns the canonical bytes of manifest.json.
func encodeManifest(m *Manifest) ([]byte, error) {
	mj := manifestJSON{
		Format:         FormatVersion,
		Experiment:     m.Experiment,
		Description:    m.Description,
		MailsimVersion: m.MailsimVersion,
		Commit:         m.Commit,
		Build:          &buildJSON{m.Build.Version, m.Build.Revision, m.Build.Modified, m.Build.Go, m.Build.Platform, m.Build.Binary},
		Seed:           m.Seed,
		Sparse:         m.Sparse,
		SpecGiven:      specGivenFile,
		SpecExpanded:   specExpandedFile,
		Metrics:        []metricInfoJSON{},
		Plan:           make([]plannedJSON, len(m.Plan)),
	}
	for _, mi := range m.Metrics {
		mj.Metrics = append(mj.Metrics, metricInfoJSON{mi.Name, mi.Unit, string(mi.Better), mi.Doc})
	}
	if m.Source.Kind != "" {
		mj.Source = &sourceJSON{Kind: m.Source.Kind, Detail: append([]string{}, m.Source.Detail...)}
	}
	for i, p := range m.Plan {
		mj.Plan[i] = plannedToJSON(p)
	}
	return marshalIndent(mj)
}

// decodeManifest parses manifest.json and returns the manifest and the
// set's format version. name is the file's name for messages.
func decodeManifest(name string, b []byte) (*Manifest, int, error) {
	format, err := peekFormat(name, b)
	if err != nil {
		return nil, 0, err
	}
	var mj manifestJSON
	if err := strictUnmarshal(b, &mj); err != nil {
		return nil, 0, jsonError(name, b, err)
	}
	m := &Manifest{
		Experiment:     mj.Experiment,
		Description:    mj.Description,
		MailsimVersion: mj.MailsimVersion,
		Commit:         mj.Commit,
		Seed:           mj.Seed,
		Sparse:         mj.Sparse,
	}
	switch {
	case format >= 2 && mj.Build == nil:
		return nil, 0, fmt.Errorf("results: %s: no build (key build)", name)
	case format < 2 && mj.Build != nil:
		return nil, 0, fmt.Errorf("results: %s: format version %d has no build (key build)", name, format)
	case mj.Build != nil:
		bj := mj.Build
		m.Build = Build{bj.Version, bj.Revision, bj.Modified, bj.Go, bj.Platform, bj.Binary}
		if m.Build.IsZero() {
			return nil, 0, fmt.Errorf("results: %s: the build is empty (key build)", name)
		}
	}
	if mj.SpecGiven != specGivenFile || mj.SpecExpanded != specExpandedFile {
		return nil, 0, fmt.Errorf("results: %s: spec files must be %s and %s (keys spec_given, spec_expanded)", name, specGivenFile, specExpandedFile)
	}
	if mj.Source != nil {
		if mj.Source.Kind == "" {
			return nil, 0, fmt.Errorf("results: %s: source without a kind (key source.kind)", name)
		}
		m.Source = Source{Kind: mj.Source.Kind, Detail: mj.Source.Detail}
	}
	for _, mi := range mj.Metrics {
		m.Metrics = append(m.Metrics, MetricInfo{mi.Name, mi.Unit, Better(mi.Better), mi.Doc})
	}
	for _, p := range mj.Plan {
		m.Plan = append(m.Plan, plannedFromJSON(p))
	}
	if err := checkManifest(m); err != nil {
		return nil, 0, fmt.Errorf("results: %s: %v", name, strings.TrimPrefix(err.Error(), "results: "))
	}
	return m, format, nil
}

// peekFormat returns the format version of a set's JSON file, checking
// that this mailsim reads it, before the file is decoded strictly (so
// that a newer file is reported as newer, not as having unknown fields).
func peekFormat(name string, b []byte) (int, error) {
	var v struct {
		Format *int `json:"format"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return 0, jsonError(name, b, err)
	}
	switch {
	case v.Format == nil:
		return 0, fmt.Errorf("results: %s: no format version (key format)", name)
	case *v.Format < oldestReadable || *v.Format > FormatVersion:
		return 0, fmt.Errorf("results: %s: format version %d, this mailsim reads versions %d to %d (key format)", name, *v.Format, oldestReadable, FormatVersion)
	}
	return *v.Format, nil
}

type sessionJSON struct {
	Host     string `json:"host"`
	Started  string `json:"started"`
	Finished string `json:"finished"`
	Workers  int    `json:"workers"`
	Shard    string `json:"shard"`
	Runs     int    `json:"runs"`
	Note     string `json:"note"`
}

type provenanceJSON struct {
	Sessions []sessionJSON `json:"sessions"`
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, err
	}
	// RFC 3339 has four-digit years: a time that is in another year in
	// UTC could not be written back.
	if y := t.UTC().Year(); y < 0 || y > 9999 {
		return time.Time{}, fmt.Errorf("time %q is outside the years 0 to 9999 in UTC", s)
	}
	return t, nil
}

func encodeProvenance(p *Provenance) ([]byte, error) {
	pj := provenanceJSON{Sessions: []sessionJSON{}}
	for _, s := range p.Sessions {
		pj.Sessions = append(pj.Sessions, sessionJSON{s.Host, fmtTime(s.Started), fmtTime(s.Finished), s.Workers, s.Shard, s.Runs, s.Note})
	}
	return marshalIndent(pj)
}

// decodeProvenance parses provenance.json; name is the file's name for
// messages.
func decodeProvenance(name string, b []byte) (*Provenance, error) {
	var pj provenanceJSON
	if err := strictUnmarshal(b, &pj); err != nil {
		return nil, jsonError(name, b, err)
	}
	p := &Provenance{}
	for i, s := range pj.Sessions {
		st, err := parseTime(s.Started)
		if err != nil {
			return nil, fmt.Errorf("results: %s: session %d: %v (key sessions.started)", name, i+1, err)
		}
		fi, err := parseTime(s.Finished)
		if err != nil {
			return nil, fmt.Errorf("results: %s: session %d: %v (key sessions.finished)", name, i+1, err)
		}
		p.Sessions = append(p.Sessions, Session{s.Host, st, fi, s.Workers, s.Shard, s.Runs, s.Note})
	}
	return p, nil
}

type metricJSON struct {
	Name  string `json:"name"`
	Unit  string `json:"unit"`
	Value num    `json:"value"`
}

type histJSON struct {
	Name    string      `json:"name"`
	Unit    string      `json:"unit"`
	N       uint64      `json:"n"`
	Sum     num         `json:"sum"`
	Min     num         `json:"min"`
	Max     num         `json:"max"`
	Buckets [][2]uint64 `json:"buckets"`
}

type vectorJSON struct {
	Name   string `json:"name"`
	Unit   string `json:"unit"`
	Values []num  `json:"values"`
}

type seriesJSON struct {
	Start    dur          `json:"start"`
	Interval dur          `json:"interval"`
	Columns  []vectorJSON `json:"columns"`
}

type eventJSON struct {
	At     dur    `json:"at"`
	Kind   string `json:"kind"`
	Detail string `json:"detail"`
}

type runJSON struct {
	Format     int          `json:"format"`
	SpecSHA256 string       `json:"spec_sha256,omitempty"`
	ID         string       `json:"id"`
	Point      [][2]string  `json:"point"`
	Strategy   string       `json:"strategy"`
	Replica    int          `json:"replica"`
	Seed       uint64       `json:"seed,string"`
	Metrics    []metricJSON `json:"metrics"`
	Histograms []histJSON   `json:"histograms"`
	Backends   []vectorJSON `json:"backends"`
	Series     *seriesJSON  `json:"series"`
	Events     []eventJSON  `json:"events"`
}

// canonical returns a copy of r in the stored order: histograms and
// vectors sorted by name, events by time.
func canonical(r *Run) *Run {
	c := *r
	c.Histograms = slices.Clone(r.Histograms)
	slices.SortStableFunc(c.Histograms, func(a, b Histogram) int { return compareStrings(a.Name, b.Name) })
	c.Backends = slices.Clone(r.Backends)
	slices.SortStableFunc(c.Backends, func(a, b Vector) int { return compareStrings(a.Name, b.Name) })
	c.Events = slices.Clone(r.Events)
	slices.SortStableFunc(c.Events, func(a, b Event) int {
		switch {
		case a.At < b.At:
			return -1
		case a.At > b.At:
			return 1
		}
		return 0
	})
	return &c
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// encodeRun returns the canonical bytes of a run's file; fp is the
// fingerprint of the set's spec (see [fingerprint]).
func encodeRun(r *Run, fp string) ([]byte, error) {
	r = canonical(r)
	rj := runJSON{
		Format:     FormatVersion,
		SpecSHA256: fp,
		ID:         r.ID,
		Point:      pointToJSON(r.Point),
		Strategy:   r.Strategy,
		Replica:    r.Replica,
		Seed:       r.Seed,
		Metrics:    []metricJSON{},
		Histograms: []histJSON{},
		Backends:   []vectorJSON{},
		Events:     []eventJSON{},
	}
	for _, m := range r.Metrics {
		rj.Metrics = append(rj.Metrics, metricJSON{m.Name, m.Unit, num(m.Value)})
	}
	for _, h := range r.Histograms {
		hj := histJSON{Name: h.Name, Unit: h.Unit, N: h.Hist.N, Sum: num(h.Hist.Sum), Min: num(h.Hist.MinV), Max: num(h.Hist.MaxV), Buckets: [][2]uint64{}}
		for i, c := range h.Hist.Counts {
			if c != 0 {
				hj.Buckets = append(hj.Buckets, [2]uint64{uint64(i), c})
			}
		}
		rj.Histograms = append(rj.Histograms, hj)
	}
	for _, v := range r.Backends {
		rj.Backends = append(rj.Backends, vectorJSON{v.Name, v.Unit, toNums(v.Values)})
	}
	if r.Series != nil {
		sj := &seriesJSON{Start: dur(r.Series.Start), Interval: dur(r.Series.Interval), Columns: []vectorJSON{}}
		for _, c := range r.Series.Columns {
			sj.Columns = append(sj.Columns, vectorJSON{c.Name, c.Unit, toNums(c.Values)})
		}
		rj.Series = sj
	}
	for _, e := range r.Events {
		rj.Events = append(rj.Events, eventJSON{dur(e.At), e.Kind, e.Detail})
	}
	b, err := json.Marshal(rj)
	if err != nil {
		return nil, fmt.Errorf("results: run %s: %v", r.ID, err)
	}
	return append(b, '\n'), nil
}

// runMeta is what a run file says about the set it belongs to.
type runMeta struct {
	format      int
	fingerprint string // "" in format version 1
}

// decodeRun parses a run file; name is the file's name for messages.
func decodeRun(name string, b []byte) (*Run, runMeta, error) {
	format, err := peekFormat(name, b)
	if err != nil {
		return nil, runMeta{}, err
	}
	var rj runJSON
	if err := strictUnmarshal(b, &rj); err != nil {
		return nil, runMeta{}, jsonError(name, b, err)
	}
	meta := runMeta{format: format, fingerprint: rj.SpecSHA256}
	switch {
	case format >= 2 && !isSHA256(rj.SpecSHA256):
		return nil, runMeta{}, fmt.Errorf("results: %s: the spec fingerprint must be 64 lowercase hex digits, not %q (key spec_sha256)", name, rj.SpecSHA256)
	case format < 2 && rj.SpecSHA256 != "":
		return nil, runMeta{}, fmt.Errorf("results: %s: format version %d has no spec fingerprint (key spec_sha256)", name, format)
	}
	if len(rj.Histograms) > maxHistograms {
		return nil, runMeta{}, fmt.Errorf("results: %s: %d histograms, more than the %d this mailsim reads (key histograms)", name, len(rj.Histograms), maxHistograms)
	}
	r := &Run{PlannedRun: plannedFromJSON(plannedJSON{ID: rj.ID, Point: rj.Point, Strategy: rj.Strategy, Replica: rj.Replica, Seed: rj.Seed})}
	for _, m := range rj.Metrics {
		r.Metrics = append(r.Metrics, Metric{m.Name, m.Unit, float64(m.Value)})
	}
	for _, hj := range rj.Histograms {
		h := Histogram{Name: hj.Name, Unit: hj.Unit}
		h.Hist.N, h.Hist.Sum, h.Hist.MinV, h.Hist.MaxV = hj.N, float64(hj.Sum), float64(hj.Min), float64(hj.Max)
		var total uint64
		for k, bc := range hj.Buckets {
			switch {
			case bc[0] >= hist.NumBuckets:
				return nil, runMeta{}, fmt.Errorf("results: %s: histogram %s: bucket %d out of range (key histograms.buckets)", name, hj.Name, bc[0])
			case k > 0 && bc[0] <= hj.Buckets[k-1][0]:
				return nil, runMeta{}, fmt.Errorf("results: %s: histogram %s: bucket %d out of order (key histograms.buckets)", name, hj.Name, bc[0])
			case bc[1] == 0:
				return nil, runMeta{}, fmt.Errorf("results: %s: histogram %s: bucket %d is listed empty (key histograms.buckets)", name, hj.Name, bc[0])
			case total+bc[1] < total:
				return nil, runMeta{}, fmt.Errorf("results: %s: histogram %s: the bucket counts overflow (key histograms.buckets)", name, hj.Name)
			}
			h.Hist.Counts[bc[0]] = bc[1]
			total += bc[1]
		}
		if total != h.Hist.N {
			return nil, runMeta{}, fmt.Errorf("results: %s: histogram %s: buckets hold %d observations, n is %d (key histograms.n)", name, hj.Name, total, hj.N)
		}
		r.Histograms = append(r.Histograms, h)
	}
	for _, v := range rj.Backends {
		r.Backends = append(r.Backends, Vector{v.Name, v.Unit, fromNums(v.Values)})
	}
	if rj.Series != nil {
		s := &Series{Start: time.Duration(rj.Series.Start), Interval: time.Duration(rj.Series.Interval)}
		for _, c := range rj.Series.Columns {
			s.Columns = append(s.Columns, Column{c.Name, c.Unit, fromNums(c.Values)})
		}
		r.Series = s
	}
	for _, e := range rj.Events {
		r.Events = append(r.Events, Event{time.Duration(e.At), e.Kind, e.Detail})
	}
	if err := checkRun(r); err != nil {
		return nil, runMeta{}, fmt.Errorf("results: %s: %v", name, strings.TrimPrefix(err.Error(), "results: "))
	}
	if err := validID(r.ID); err != nil {
		return nil, runMeta{}, fmt.Errorf("results: %s: %v (key id)", name, strings.TrimPrefix(err.Error(), "results: "))
	}
	if err := checkPoint(r.Point); err != nil {
		return nil, runMeta{}, fmt.Errorf("results: %s: %v (key point)", name, err)
	}
	return r, meta, nil
}

// isSHA256 reports whether s is a SHA-256 in lowercase hex.
func isSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func marshalIndent(v any) ([]byte, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("results: %v", err)
	}
	return append(b, '\n'), nil
}

// strictUnmarshal decodes exactly one JSON value and rejects unknown
// fields, so that a file from a newer format is not half-read.
func strictUnmarshal(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		if err == io.EOF {
			return fmt.Errorf("empty file")
		}
		return err
	}
	if _, err := d.Token(); err != io.EOF {
		return &posError{off: d.InputOffset(), msg: "trailing data after the JSON value"}
	}
	return nil
}

// posError is an error at a byte offset of a file.
type posError struct {
	off int64
	msg string
}

func (e *posError) Error() string { return e.msg }

// jsonError describes a JSON decoding error of the file called name as
// "results: name:line:col: message (key a.b)", with the position and the
// key where the error tells them.
func jsonError(name string, b []byte, err error) error {
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
		pos *posError
	)
	switch {
	case errors.As(err, &syn):
		line, col := lineCol(b, syn.Offset)
		msg := syn.Error()
		if msg == "unexpected end of JSON input" {
			msg = "the file ends inside a JSON value"
		}
		return fmt.Errorf("results: %s:%d:%d: %s", name, line, col, msg)
	case errors.As(err, &pos):
		line, col := lineCol(b, pos.off)
		return fmt.Errorf("results: %s:%d:%d: %s", name, line, col, pos.msg)
	case errors.As(err, &typ):
		key := ""
		if typ.Field != "" {
			key = " (key " + typ.Field + ")"
		}
		if typ.Offset == 0 { // a value of ours, whose offset the decoder does not tell
			return fmt.Errorf("results: %s: %s is not %s%s", name, typ.Value, jsonKind(typ.Type), key)
		}
		line, col := lineCol(b, valueStart(b, typ.Offset))
		return fmt.Errorf("results: %s:%d:%d: JSON %s where %s belongs%s", name, line, col, typ.Value, jsonKind(typ.Type), key)
	case errors.Is(err, io.ErrUnexpectedEOF):
		line, col := lineCol(b, int64(len(b)))
		return fmt.Errorf("results: %s:%d:%d: the file ends inside a JSON value", name, line, col)
	}
	if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		// The decoder does not say where: point at the key's first
		// occurrence.
		if i := bytes.Index(b, []byte(f)); i >= 0 {
			line, col := lineCol(b, int64(i+1))
			return fmt.Errorf("results: %s:%d:%d: unknown key %s", name, line, col, f)
		}
		return fmt.Errorf("results: %s: unknown key %s", name, f)
	}
	return fmt.Errorf("results: %s: %s", name, strings.TrimPrefix(strings.TrimPrefix(err.Error(), "json: "), "results: "))
}

// jsonKind names, with an article, what JSON value a Go type decodes
// from.
func jsonKind(t reflect.Type) string {
	switch t {
	case floatType:
		return "a number (or \"NaN\", \"+Inf\", \"-Inf\")"
	case durationType:
		return "a Go duration string such as \"10s\""
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map, reflect.Pointer:
		return "an object"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number in range"
	}
	return "a number"
}

// valueStart returns the offset just past the first byte of the JSON
// string or literal that ends at offset off of b (a decoder reports the
// end of a value of the wrong type), or off when b holds no such value
// there.
func valueStart(b []byte, off int64) int64 {
	i := off - 1
	if i < 0 || i >= int64(len(b)) {
		return off
	}
	if b[i] == '"' {
		for j := i - 1; j >= 0; j-- {
			if b[j] == '"' && (j == 0 || b[j-1] != '\\') {
				return j + 1
			}
		}
		return off
	}
	j := i
	for j > 0 && strings.IndexByte("+-.0123456789eEtrufalsn", b[j-1]) >= 0 {
		j--
	}
	return j + 1
}

// lineCol returns the 1-based line and column of the last of the first
// off bytes of b: the byte at which a JSON decoder that has read off bytes
// stopped.
func lineCol(b []byte, off int64) (int, int) {
	i := min(max(off-1, 0), int64(len(b)))
	line := 1 + bytes.Count(b[:i], []byte{'\n'})
	col := int(i) - bytes.LastIndexByte(b[:i], '\n')
	return line, col
}
