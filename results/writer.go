package results

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// Writer adds finished runs to a result set on disk. Each run is persisted
// durably as soon as [Writer.Add] returns, so a killed process loses at
// most the runs in flight; [Open] resumes such a set. A Writer is safe for
// concurrent use by several workers. It writes only inside the set's
// folder.
type Writer struct {
	dir     string
	m       *Manifest
	index   map[string]int // run ID → position in m.Plan
	mu      sync.Mutex
	done    []bool
	listed  []bool // sparse sets: planned runs the stored manifest lists
	prov    *Provenance
	session int // this session's index in prov.Sessions
	// warnings are what Open found amiss but went on with.
	warnings []string
}

// Create starts a new result set in dir for manifest m, recording s as
// the first writing session. dir must not exist, be empty, or hold a set
// whose creation was interrupted (which is then started again). When
// m.Build is zero, the set records [CurrentBuild].
//
// Creation is crash-safe: the first file written is a marker saying that
// the set is unfinished, the manifest is written last, and the marker is
// removed only then. A process killed (or out of disk space) in between
// leaves a folder that [Read] refuses and that Create, or [Open] with a
// manifest, recognises and creates again from the start.
func Create(dir string, m *Manifest, s Session) (*Writer, error) {
	m = withBuild(m)
	stored := m
	if m.Sparse {
		stored = m.subset(func(int) bool { return false })
	}
	w, err := create(dir, m, stored, &Provenance{}, opCreate)
	if err != nil {
		return nil, err
	}
	if err := finish(dir); err != nil {
		return nil, err
	}
	if err := w.startSession(s); err != nil {
		return nil, err
	}
	return w, nil
}

// withBuild returns m, or a copy of it with [CurrentBuild] when its build
// is not set.
func withBuild(m *Manifest) *Manifest {
	if !m.Build.IsZero() {
		return m
	}
	c := *m
	c.Build = CurrentBuild()
	return &c
}

// The operations that mark a set unfinished while they make it.
const (
	opCreate = "create"
	opMerge  = "merge"
)

// create makes the set's folder and writes its identity files, with
// stored as manifest.json (m itself, or for a sparse set the part of its
// plan that the set holds). It leaves the set marked unfinished by op:
// the caller removes the mark with finish when the set is whole, and
// writes provenance.json.
func create(dir string, m, stored *Manifest, prov *Provenance, op string) (*Writer, error) {
	if err := checkManifest(m); err != nil {
		return nil, err
	}
	mb, err := encodeManifest(stored)
	if err != nil {
		return nil, err
	}
	if err := begin(dir, op); err != nil {
		return nil, err
	}
	if err := mkdir(filepath.Join(dir, runsDir)); err != nil {
		return nil, err
	}
	if err := syncDir(dir); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{specGivenFile, m.SpecGiven}, {specExpandedFile, m.SpecExpanded}, {manifestFile, mb}} {
		if err := writeAtomic(dir, f.name, f.data); err != nil {
			return nil, err
		}
	}
	w := newWriter(dir, m, prov)
	if m.Sparse {
		listed := planIndex(stored)
		for i, p := range m.Plan {
			_, w.listed[i] = listed[p.ID]
		}
	}
	return w, nil
}

// begin prepares dir for a new set made by op: it makes the folder, or
// checks that it is empty, or clears what an interrupted op of the same
// kind left there; then it marks the set unfinished.
func begin(dir, op string) error {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		if err := mkdir(dir); err != nil {
			return err
		}
		if err := syncDir(filepath.Dir(filepath.Clean(dir))); err != nil {
			return err
		}
		return writeAtomic(dir, unfinishedFile, []byte(op+"\n"))
	}
	if err != nil {
		return fmt.Errorf("results: %v", err)
	}
	prev, err := unfinished(dir)
	if err != nil {
		return err
	}
	if prev == "" && op == opCreate && unmarkedHalfSet(dir, ents) {
		prev = opCreate
		if err := writeAtomic(dir, unfinishedFile, []byte(op+"\n")); err != nil {
			return err
		}
	}
	switch {
	case prev == "" && !onlyTemps(ents) && op == opMerge:
		return fmt.Errorf("results: %s is not empty; merge into a new folder", dir)
	case prev == "" && !onlyTemps(ents):
		return fmt.Errorf("results: %s is not empty; open it to resume", dir)
	case prev == "":
		if err := removeTemps(dir); err != nil {
			return err
		}
		return writeAtomic(dir, unfinishedFile, []byte(op+"\n"))
	case prev != op:
		return fmt.Errorf("results: %s holds an unfinished %s, not an unfinished %s; run the %s again to finish it, or choose another folder", dir, prev, op, prev)
	}
	return clear(dir, prev)
}

// clear removes what an interrupted op left in dir, except the marker
// that says it is unfinished. It refuses to remove files that op does not
// write.
func clear(dir, op string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("results: %v", err)
	}
	var remove, foreign []string
	for _, e := range ents {
		name := e.Name()
		switch {
		case name == unfinishedFile:
		case strings.HasPrefix(name, tmpPrefix) && !e.IsDir():
			remove = append(remove, name)
		case name == runsDir && e.IsDir():
			runs, err := os.ReadDir(filepath.Join(dir, runsDir))
			if err != nil {
				return fmt.Errorf("results: %v", err)
			}
			for _, r := range runs {
				if r.IsDir() || !strings.HasPrefix(r.Name(), tmpPrefix) && !strings.HasSuffix(r.Name(), ".json") {
					foreign = append(foreign, filepath.Join(runsDir, r.Name()))
				} else {
					remove = append(remove, filepath.Join(runsDir, r.Name()))
				}
			}
			remove = append(remove, runsDir) // after its files
		case !e.IsDir() && slices.Contains([]string{specGivenFile, specExpandedFile, manifestFile, provenanceFile, runsCSVFile, summaryCSVFile}, name):
			remove = append(remove, name)
		default:
			foreign = append(foreign, name)
		}
	}
	if len(foreign) > 0 {
		return fmt.Errorf("results: %s holds an unfinished %s and files it did not write: %s; remove them or choose another folder", dir, op, strings.Join(foreign, ", "))
	}
	for _, name := range remove {
		if err := remove1(filepath.Join(dir, name)); err != nil {
			return err
		}
	}
	if err := syncDir(dir); err != nil {
		return err
	}
	return nil
}

// finish removes the mark that says dir is unfinished, durably.
func finish(dir string) error {
	if err := remove1(filepath.Join(dir, unfinishedFile)); err != nil {
		return err
	}
	return syncDir(dir)
}

// unfinished returns the operation that marked dir unfinished, or "".
func unfinished(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, unfinishedFile))
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("results: %v", err)
	}
	switch op := strings.TrimSpace(string(b)); op {
	case opCreate, opMerge:
		return op, nil
	}
	return "", fmt.Errorf("results: %s: unknown operation %q", filepath.Join(dir, unfinishedFile), b)
}

// unfinishedError says that dir cannot be read because op did not finish.
func unfinishedError(dir, op string) error {
	if op == opMerge {
		return fmt.Errorf("results: %s is an unfinished merge (it was interrupted); run the same merge again to finish it", dir)
	}
	return fmt.Errorf("results: %s is a result set whose creation was interrupted; run the same command again to start it afresh", dir)
}

// unmarkedHalfSet reports whether dir, with entries ents, is what a
// writer that did not yet mark unfinished sets left when it was
// interrupted while creating one: an empty runs folder and at most the
// two spec files, without a manifest.
func unmarkedHalfSet(dir string, ents []os.DirEntry) bool {
	runs := false
	for _, e := range ents {
		switch name := e.Name(); {
		case name == runsDir && e.IsDir():
			sub, err := os.ReadDir(filepath.Join(dir, runsDir))
			if err != nil || !onlyTemps(sub) {
				return false
			}
			runs = true
		case strings.HasPrefix(name, tmpPrefix) && !e.IsDir():
		case (name == specGivenFile || name == specExpandedFile) && !e.IsDir():
		default:
			return false
		}
	}
	return runs
}

// onlyTemps reports whether ents holds nothing but temporary files.
func onlyTemps(ents []os.DirEntry) bool {
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), tmpPrefix) || e.IsDir() {
			return false
		}
	}
	return true
}

// Open resumes the result set in dir, recording s as a new writing
// session. The set's manifest must equal m (the same spec, seed, build
// and plan; for a sparse set, the stored plan must be part of m's); when
// m is nil the stored manifest is used as it is, and the set must have
// been written by [CurrentBuild]. When m.Build is zero it is taken to be
// CurrentBuild. Leftover temporary files of an interrupted writer are
// removed; [Writer.Done] tells which runs are already there. A folder
// that is empty, or whose creation was interrupted, is created afresh
// with m as [Create] does. An unreadable provenance.json does not stop a
// resume: its sessions are lost, and [Writer.Warnings] says so.
func Open(dir string, m *Manifest, s Session) (*Writer, error) {
	op, err := unfinished(dir)
	if err != nil {
		return nil, err
	}
	switch op {
	case opMerge:
		return nil, unfinishedError(dir, op)
	case opCreate:
		if m != nil {
			return Create(dir, m, s)
		}
		if _, _, err := readManifest(dir); err != nil {
			return nil, unfinishedError(dir, op)
		}
		// Only the removal of the mark was missing.
		if err := finish(dir); err != nil {
			return nil, err
		}
	default:
		if ents, err := os.ReadDir(dir); err == nil && m != nil && (onlyTemps(ents) || unmarkedHalfSet(dir, ents)) {
			return Create(dir, m, s)
		}
	}
	stored, format, err := readManifest(dir)
	if err != nil {
		return nil, err
	}
	if format != FormatVersion {
		return nil, fmt.Errorf("results: cannot resume %s: it has format version %d, which records neither the build that wrote it nor its runs' spec fingerprints; run the experiment again into a new folder", dir, format)
	}
	if m != nil {
		m = withBuild(m)
		if err := checkManifest(m); err != nil {
			return nil, err
		}
		if err := sameBuild(stored.Build, m.Build); err != nil {
			return nil, fmt.Errorf("results: cannot resume %s: %v", dir, err)
		}
		if err := sameManifest(stored, m); err != nil {
			return nil, fmt.Errorf("results: cannot resume %s: %v", dir, err)
		}
		if m.Sparse {
			in := planIndex(m)
			for _, p := range stored.Plan {
				if _, ok := in[p.ID]; !ok {
					return nil, fmt.Errorf("results: cannot resume %s: its manifest lists run %s, which the plan does not have", dir, p.ID)
				}
			}
		}
	} else {
		if err := sameBuild(stored.Build, CurrentBuild()); err != nil {
			return nil, fmt.Errorf("results: cannot resume %s: %v", dir, err)
		}
		m = stored
	}
	for _, d := range []string{dir, filepath.Join(dir, runsDir)} {
		if err := removeTemps(d); err != nil {
			return nil, err
		}
	}
	var warnings []string
	prov, err := readProvenance(dir)
	if err != nil {
		warnings = append(warnings, fmt.Sprintf("%s; its earlier sessions are lost, and the file is written afresh", strings.TrimPrefix(err.Error(), "results: ")))
		prov = &Provenance{Sessions: []Session{{Note: "provenance.json was unreadable here; earlier sessions are lost"}}}
	}
	w := newWriter(dir, m, prov)
	w.warnings = warnings
	if m.Sparse {
		for _, p := range stored.Plan {
			w.listed[w.index[p.ID]] = true
		}
	}
	ids, err := listRunFiles(dir, w.index)
	if err != nil {
		return nil, err
	}
	fp := fingerprint(m)
	for _, id := range ids {
		if _, err := readRunFile(dir, id, &m.Plan[w.index[id]], fp, format); err != nil {
			return nil, err
		}
		w.done[w.index[id]] = true
		if m.Sparse && !w.listed[w.index[id]] {
			return nil, fmt.Errorf("results: %s/%s holds %s.json, which its manifest does not list", dir, runsDir, id)
		}
	}
	if err := w.startSession(s); err != nil {
		return nil, err
	}
	return w, nil
}

// Warnings returns what [Open] found amiss but could go on with, such as
// an unreadable provenance.json.
func (w *Writer) Warnings() []string { return w.warnings }

func newWriter(dir string, m *Manifest, prov *Provenance) *Writer {
	w := &Writer{dir: dir, m: m, index: make(map[string]int, len(m.Plan)), done: make([]bool, len(m.Plan)), prov: prov}
	if m.Sparse {
		w.listed = make([]bool, len(m.Plan))
	}
	for i, p := range m.Plan {
		w.index[p.ID] = i
	}
	return w
}

func (w *Writer) startSession(s Session) error {
	s.Runs = 0
	w.prov.Sessions = append(w.prov.Sessions, s)
	w.session = len(w.prov.Sessions) - 1
	return w.writeProvenance()
}

func (w *Writer) writeProvenance() error {
	b, err := encodeProvenance(w.prov)
	if err != nil {
		return err
	}
	return writeAtomic(w.dir, provenanceFile, b)
}

// Dir returns the set's folder.
func (w *Writer) Dir() string { return w.dir }

// Manifest returns the set's manifest, with the full plan of a sparse
// set. The caller must not modify it.
func (w *Writer) Manifest() *Manifest { return w.m }

// Done returns the IDs of the runs already in the set, in planned order.
func (w *Writer) Done() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var ids []string
	for i, d := range w.done {
		if d {
			ids = append(ids, w.m.Plan[i].ID)
		}
	}
	return ids
}

// IsDone reports whether the run called id is already in the set.
func (w *Writer) IsDone(id string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	i, ok := w.index[id]
	return ok && w.done[i]
}

// Pending returns the planned runs that are not in the set yet, in
// planned order.
func (w *Writer) Pending() []PlannedRun {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []PlannedRun
	for i, d := range w.done {
		if !d {
			out = append(out, w.m.Plan[i])
		}
	}
	return out
}

// Add persists a finished run: its file is written to a temporary name in
// the set, synced, and renamed into place before Add returns. The run must
// be in the plan, with the planned point, strategy, replica and seed, and
// must not be in the set already.
func (w *Writer) Add(r *Run) error {
	i, ok := w.index[r.ID]
	if !ok {
		return fmt.Errorf("results: run %q is not in the plan", r.ID)
	}
	if err := matchesPlan(r, &w.m.Plan[i]); err != nil {
		return err
	}
	if err := checkRun(r); err != nil {
		return err
	}
	b, err := encodeRun(r, fingerprint(w.m))
	if err != nil {
		return err
	}
	w.mu.Lock()
	if w.done[i] {
		w.mu.Unlock()
		return fmt.Errorf("results: run %s is already in the set", r.ID)
	}
	w.done[i] = true // claimed; undone below on failure
	if w.m.Sparse && !w.listed[i] {
		// List the run before its file exists: a set cut short between
		// the two lists a run it does not hold, which a sparse set
		// tolerates, and never holds a run it does not list.
		w.listed[i] = true
		if err := w.writeStoredManifest(func(j int) bool { return w.listed[j] }); err != nil {
			w.listed[i], w.done[i] = false, false
			w.mu.Unlock()
			return err
		}
	}
	w.mu.Unlock()
	if err := writeAtomic(filepath.Join(w.dir, runsDir), r.ID+".json", b); err != nil {
		w.mu.Lock()
		w.done[i] = false
		w.mu.Unlock()
		return err
	}
	w.mu.Lock()
	w.prov.Sessions[w.session].Runs++
	w.mu.Unlock()
	return nil
}

// Finalize rebuilds runs.csv and summary.csv from the run files, in
// planned order, and records the end of this writing session in
// provenance.json. A set may be finalized while runs are still missing
// (a shard, or an interrupted sweep); the tables then hold the runs that
// are there, and finalizing again after more runs are added rebuilds them.
// Call Finalize after every Add has returned.
func (w *Writer) Finalize(finished time.Time) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.m.Sparse {
		// Drop what an interrupted writer listed but never wrote.
		keep := func(j int) bool { return w.listed[j] && w.done[j] }
		if err := w.writeStoredManifest(keep); err != nil {
			return err
		}
		for j := range w.listed {
			w.listed[j] = keep(j)
		}
	}
	if err := buildTables(w.dir); err != nil {
		return err
	}
	w.prov.Sessions[w.session].Finished = finished
	return w.writeProvenance()
}

// writeStoredManifest writes manifest.json of a sparse set with the
// planned runs for which keep is true. The caller holds w.mu.
func (w *Writer) writeStoredManifest(keep func(int) bool) error {
	b, err := encodeManifest(w.m.subset(keep))
	if err != nil {
		return err
	}
	return writeAtomic(w.dir, manifestFile, b)
}

// subset returns a copy of m whose plan holds the runs at the positions
// for which keep is true.
func (m *Manifest) subset(keep func(int) bool) *Manifest {
	c := *m
	c.Plan = nil
	for i, p := range m.Plan {
		if keep(i) {
			c.Plan = append(c.Plan, p)
		}
	}
	return &c
}

// checkManifest validates a manifest before it is written.
func checkManifest(m *Manifest) error {
	if len(m.Plan) == 0 && !m.Sparse {
		return fmt.Errorf("results: the plan has no runs")
	}
	for i := 1; m.Sparse && i < len(m.Plan); i++ {
		if m.Plan[i].Order <= m.Plan[i-1].Order {
			return fmt.Errorf("results: sparse plan out of order at run %s", m.Plan[i].ID)
		}
	}
	seen := make(map[string]bool, len(m.Plan))
	var dups []string
	for _, p := range m.Plan {
		if err := validID(p.ID); err != nil {
			return err
		}
		if seen[p.ID] {
			dups = append(dups, p.ID)
		}
		seen[p.ID] = true
		if err := checkPoint(p.Point); err != nil {
			return fmt.Errorf("results: run %s: %v", p.ID, err)
		}
	}
	if len(dups) > 0 {
		return fmt.Errorf("results: run IDs planned twice: %s", strings.Join(dups, ", "))
	}
	names := map[string]bool{}
	for _, mi := range m.Metrics {
		if mi.Name == "" || names[mi.Name] {
			return fmt.Errorf("results: metric %q listed twice or unnamed", mi.Name)
		}
		names[mi.Name] = true
		switch mi.Better {
		case Lower, Higher, Neutral:
		default:
			return fmt.Errorf("results: metric %s: better must be %q, %q or empty, not %q", mi.Name, Lower, Higher, mi.Better)
		}
	}
	return nil
}

func checkPoint(p Point) error {
	keys := map[string]bool{}
	for _, kv := range p {
		if kv.Key == "" || keys[kv.Key] {
			return fmt.Errorf("sweep key %q empty or repeated", kv.Key)
		}
		keys[kv.Key] = true
	}
	return nil
}

// sameManifest reports how two manifests differ, or nil. Of two sparse
// manifests only the identity is compared, and each plan entry they both
// list must be the same in both.
func sameManifest(a, b *Manifest) error {
	if a.Sparse && b.Sparse {
		ia := planIndex(a)
		for _, p := range b.Plan {
			if i, ok := ia[p.ID]; ok && !samePlanned(&a.Plan[i], &p) {
				return fmt.Errorf("the plan entry of run %s differs", p.ID)
			}
		}
		a, b = a.subset(func(int) bool { return false }), b.subset(func(int) bool { return false })
	}
	ab, err := encodeManifest(a)
	if err != nil {
		return err
	}
	bb, err := encodeManifest(b)
	if err != nil {
		return err
	}
	switch {
	case !bytes.Equal(a.SpecGiven, b.SpecGiven):
		return fmt.Errorf("the spec differs")
	case !bytes.Equal(a.SpecExpanded, b.SpecExpanded):
		return fmt.Errorf("the expanded spec differs")
	case !bytes.Equal(ab, bb):
		return fmt.Errorf("the manifest differs (version, build, seed, metrics or plan)")
	}
	return nil
}

// samePlanned reports whether two plan entries are the same.
func samePlanned(a, b *PlannedRun) bool {
	return a.ID == b.ID && a.Order == b.Order && sameRun(a, b)
}

// sameRun reports whether two plan entries make the same run: the same
// point, strategy, replica and seed.
func sameRun(a, b *PlannedRun) bool {
	return a.Point.Equal(b.Point) && a.Strategy == b.Strategy && a.Replica == b.Replica && a.Seed == b.Seed
}

func matchesPlan(r *Run, p *PlannedRun) error {
	if !sameRun(&r.PlannedRun, p) {
		return fmt.Errorf("results: run %s does not match its plan entry (point %s, strategy %s, replica %d, seed %d)",
			r.ID, p.Point, p.Strategy, p.Replica, p.Seed)
	}
	return nil
}

// checkRun rejects a run with repeated names, which readers could not
// tell apart.
func checkRun(r *Run) error {
	dup := func(what string, names []string) error {
		seen := map[string]bool{}
		for _, n := range names {
			if n == "" || seen[n] {
				return fmt.Errorf("results: run %s: %s %q empty or repeated", r.ID, what, n)
			}
			seen[n] = true
		}
		return nil
	}
	var ms, hs, vs, cs []string
	for _, m := range r.Metrics {
		ms = append(ms, m.Name)
	}
	for _, h := range r.Histograms {
		hs = append(hs, h.Name)
	}
	for _, v := range r.Backends {
		vs = append(vs, v.Name)
	}
	if r.Series != nil {
		if r.Series.Interval <= 0 {
			return fmt.Errorf("results: run %s: time series interval must be positive", r.ID)
		}
		for _, c := range r.Series.Columns {
			cs = append(cs, c.Name)
		}
	}
	for _, c := range []struct {
		what  string
		names []string
	}{{"metric", ms}, {"histogram", hs}, {"backend vector", vs}, {"series column", cs}} {
		if err := dup(c.what, c.names); err != nil {
			return err
		}
	}
	return nil
}

// listRunFiles returns the IDs of the run files in dir/runs in planned
// order, and fails on a file that belongs to no planned run.
func listRunFiles(dir string, index map[string]int) ([]string, error) {
	ents, err := os.ReadDir(filepath.Join(dir, runsDir))
	if err != nil {
		return nil, fmt.Errorf("results: %v", err)
	}
	var ids, unknown []string
	for _, e := range ents {
		name := e.Name()
		if strings.HasPrefix(name, tmpPrefix) {
			continue
		}
		id, ok := strings.CutSuffix(name, ".json")
		if _, planned := index[id]; !ok || !planned || e.IsDir() {
			unknown = append(unknown, name)
			continue
		}
		ids = append(ids, id)
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("results: %s/%s holds files of no planned run: %s", dir, runsDir, strings.Join(unknown, ", "))
	}
	slices.SortFunc(ids, func(a, b string) int { return index[a] - index[b] })
	return ids, nil
}

// readRunFile reads and checks one run's file against its plan entry,
// the fingerprint fp of the set's spec and the set's format version.
func readRunFile(dir, id string, p *PlannedRun, fp string, format int) (*Run, error) {
	name := filepath.Join(dir, runsDir, id+".json")
	b, err := readLimited(name, name, maxRunBytes)
	if err != nil {
		return nil, err
	}
	r, meta, err := decodeRun(name, b)
	if err != nil {
		return nil, err
	}
	if r.ID != id {
		return nil, fmt.Errorf("results: %s holds run %q (key id)", name, r.ID)
	}
	if meta.format != format {
		return nil, fmt.Errorf("results: %s has format version %d, the set's manifest %d: it belongs to another set (key format)", name, meta.format, format)
	}
	if format >= 2 && meta.fingerprint != fp {
		return nil, fmt.Errorf("results: %s belongs to another experiment: it was made from a spec with SHA-256 %s, and this set's %s has SHA-256 %s (key spec_sha256)",
			name, meta.fingerprint, specExpandedFile, fp)
	}
	if err := matchesPlan(r, p); err != nil {
		return nil, fmt.Errorf("results: %s: %v", name, strings.TrimPrefix(err.Error(), "results: "))
	}
	return r, nil
}
