package nfsmodel

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"
)

// Cache states under which an operation was measured.
const (
	// Warm means the page, dentry and inode caches of the measuring host
	// held the folder from earlier operations.
	Warm = "warm"
	// Cold means those caches were dropped just before the operation
	// (on Linux, "3" written to /proc/sys/vm/drop_caches).
	Cold = "cold"
)

// Operations a profile may name: those mailsim replay measures, in the
// order it reports them. Any other name in a profile is refused.
var ProfileOps = []string{
	"deliver", "new_to_cur", "readdir", "readdir_stat", "index_rebuild",
	"header_read", "flag_change", "expunge", "log_append", "dotlock",
}

// CalibrationOps are the operations [Server.Calibrate] takes costs from,
// warm: a profile that lacks one of them cannot calibrate a server (see
// [Profile.Missing]).
var CalibrationOps = []string{
	"deliver", "readdir", "readdir_stat", "header_read", "flag_change",
	"expunge", "log_append", "dotlock",
}

// Limits of the values a profile may hold. Larger ones are refused with an
// error naming the file, line and key, so that no cost computed from a
// profile (a service time, a per-entry or per-byte cost times a folder's
// entries or a call's bytes) can overflow the simulator's clock.
const (
	// MaxProfileNs bounds fixed_ns and the measured times (mean_ns,
	// trimmed_mean_ns, p50_ns, p99_ns): 10¹⁵ ns, that is 10⁶ s.
	MaxProfileNs = 1e15
	// MaxPerEntryNs bounds per_entry_ns: 1 s per folder entry.
	MaxPerEntryNs = 1e9
	// MaxPerByteNs bounds per_byte_ns: 1 ms per byte, 1 KB/s.
	MaxPerByteNs = 1e6
	// MaxMeanFactor bounds mean_factor.
	MaxMeanFactor = 1e3
	// MaxProfileEntries bounds a measurement's entries.
	MaxProfileEntries = 1_000_000_000
	// MaxProfileBytes bounds a measurement's bytes: 1 TiB.
	MaxProfileBytes = 1 << 40
	// MaxProfileFileBytes bounds the size of a profile file: 16 MiB.
	MaxProfileFileBytes = 16 << 20
)

// Profile is a calibration profile: fitted costs of mail-store operations on
// one file system, and the measurements they were fitted to. It is plain
// data, written by the replay (mailsim replay) and read with [LoadProfile].
type Profile struct {
	// Meta describes where and how the profile was measured.
	Meta ProfileMeta `toml:"meta"`
	// Ops holds one fitted cost per operation and cache state.
	Ops []OpCost `toml:"op"`
	// Measurements holds the measured points behind Ops, so that a profile
	// can be checked against its own workload.
	Measurements []Measurement `toml:"measurement,omitempty"`
	// source is the file the profile was read from, for error messages.
	source string
}

// ProfileMeta is descriptive metadata. None of it enters a cost prediction.
type ProfileMeta struct {
	// MailsimVersion is the version of mailsim that measured the profile.
	MailsimVersion string `toml:"mailsim_version"`
	// FSType is the file system type of the measured directory (ext4,
	// tmpfs, nfs4, fuse...), as the kernel reports it.
	FSType string `toml:"fs_type"`
	// Where describes the measured location in words (local disk, tmpfs,
	// NFS mount shared by two hosts) without naming paths.
	Where string `toml:"where,omitempty"`
	// Machine describes the class of machine that produced the profile.
	Machine string `toml:"machine,omitempty"`
	// OS is the operating system and kernel release.
	OS string `toml:"os,omitempty"`
	// MailFsync is the fsync policy used while measuring, named after
	// Dovecot's mail_fsync setting (always, optimized, never).
	MailFsync string `toml:"mail_fsync,omitempty"`
	// Seed is the seed of the generated messages.
	Seed uint64 `toml:"seed"`
	// Messages lists the folder sizes the replay was asked for.
	Messages []int `toml:"messages,omitempty"`
	// Timing says how durations were taken: "wall time", or wall time
	// less the time the measuring thread waited for a CPU.
	Timing string `toml:"timing,omitempty"`
	// Date is when the profile was measured (RFC 3339). Metadata only.
	Date string `toml:"date,omitempty"`
	// Note is free text.
	Note string `toml:"note,omitempty"`
}

// OpCost is the fitted cost of one operation under one cache state, as a
// trimmed mean (the mean of its timings without the fastest and the
// slowest tenth, or quarter for fewer than 20 timings):
//
//	cost = FixedNs + PerEntryNs·entries + PerByteNs·bytes
//
// where entries is the number of messages in the folder the operation runs
// on and bytes the bytes it writes or reads (zero where size plays no part).
// For a whole-folder operation such as a listing, PerEntryNs is the cost of
// each entry; for a per-message operation such as a rename it is how much a
// larger folder slows each operation down.
type OpCost struct {
	// Name is the operation, for example "readdir" or "expunge".
	Name string `toml:"name"`
	// Cache is Warm or Cold.
	Cache string `toml:"cache"`
	// Scope is "folder" for an operation over a whole folder and
	// "message" for one on a single message or file.
	Scope string `toml:"scope"`
	// FixedNs is the cost that does not depend on size, in nanoseconds.
	FixedNs float64 `toml:"fixed_ns"`
	// PerEntryNs is the cost per folder entry, in nanoseconds.
	PerEntryNs float64 `toml:"per_entry_ns"`
	// PerByteNs is the cost per byte moved, in nanoseconds.
	PerByteNs float64 `toml:"per_byte_ns"`
	// MeanFactor is the ratio of mean to trimmed-mean cost over the measured
	// points: multiply a prediction by it for the expected cost including
	// the occasional stall. Zero means not measured.
	MeanFactor float64 `toml:"mean_factor"`
	// Points is the number of measured points the fit used.
	Points int `toml:"points"`
}

// Measurement is one measured point: an operation's timings at one folder
// size and cache state.
type Measurement struct {
	// Op is the operation name, as in [OpCost.Name].
	Op string `toml:"op"`
	// Cache is Warm or Cold.
	Cache string `toml:"cache"`
	// Entries is the folder size (messages) during the measurement.
	Entries int `toml:"entries"`
	// Bytes is the mean bytes moved per operation.
	Bytes float64 `toml:"bytes"`
	// Count is the number of timed operations.
	Count int `toml:"count"`
	// MeanNs, TrimmedNs, P50Ns and P99Ns summarise the timings in
	// nanoseconds: the mean, the trimmed mean (without the fastest and
	// slowest tenth, or quarter for fewer than 20 timings: what costs are
	// fitted to), the median and the 99th percentile.
	MeanNs    float64 `toml:"mean_ns"`
	TrimmedNs float64 `toml:"trimmed_mean_ns"`
	P50Ns     float64 `toml:"p50_ns"`
	P99Ns     float64 `toml:"p99_ns"`
}

// Op returns the fitted cost of operation name under cache state cache.
func (p *Profile) Op(name, cache string) (OpCost, bool) {
	for _, o := range p.Ops {
		if o.Name == name && o.Cache == cache {
			return o, true
		}
	}
	return OpCost{}, false
}

// Predict returns the fitted cost of the operation on a folder of entries
// messages, moving bytes bytes.
// A prediction too large for a time.Duration is the largest one.
func (o OpCost) Predict(entries int, bytes float64) time.Duration {
	return durationNs(o.PredictNs(entries, bytes))
}

// durationNs converts nanoseconds to a Duration, rounding, and saturating
// at the largest Duration (and at zero for negative or NaN values).
func durationNs(ns float64) time.Duration {
	switch {
	case !(ns > 0):
		return 0
	case ns >= math.MaxInt64:
		return math.MaxInt64
	}
	return time.Duration(math.Round(ns))
}

// PredictNs is [OpCost.Predict] in (fractional) nanoseconds.
func (o OpCost) PredictNs(entries int, bytes float64) float64 {
	return o.FixedNs + o.PerEntryNs*float64(entries) + o.PerByteNs*bytes
}

// Encode returns the profile as TOML.
func (p *Profile) Encode() ([]byte, error) {
	var b bytes.Buffer
	enc := toml.NewEncoder(&b)
	enc.SetIndentTables(false)
	if err := enc.Encode(p); err != nil {
		return nil, fmt.Errorf("nfsmodel: encode profile: %w", err)
	}
	return b.Bytes(), nil
}

// LoadProfile reads and validates the profile at path. Decoding is strict:
// an unknown key, a value of the wrong type or an invalid value is an
// error that names the file and line.
func LoadProfile(path string) (*Profile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("nfsmodel: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxProfileFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("nfsmodel: %w", err)
	}
	if len(data) > MaxProfileFileBytes {
		return nil, fmt.Errorf("%s: nfsmodel: larger than %d bytes, not a calibration profile", path, MaxProfileFileBytes)
	}
	return ParseProfile(path, data)
}

// ParseProfile decodes and validates a profile from data; name is used in
// error messages in place of a file name.
func ParseProfile(name string, data []byte) (*Profile, error) {
	if len(data) > MaxProfileFileBytes {
		return nil, fmt.Errorf("%s: nfsmodel: larger than %d bytes, not a calibration profile", name, MaxProfileFileBytes)
	}
	var p Profile
	dec := toml.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		var strict *toml.StrictMissingError
		if errors.As(err, &strict) {
			msgs := make([]string, 0, len(strict.Errors))
			for _, e := range strict.Errors {
				row, _ := e.Position()
				msgs = append(msgs, fmt.Sprintf("%s:%d: nfsmodel: unknown key %s", name, row, strings.Join(e.Key(), ".")))
			}
			return nil, errors.New(strings.Join(msgs, "\n"))
		}
		var de *toml.DecodeError
		if errors.As(err, &de) {
			row, _ := de.Position()
			return nil, fmt.Errorf("%s:%d: nfsmodel: %s", name, row, de.Error())
		}
		return nil, fmt.Errorf("%s: nfsmodel: %w", name, err)
	}
	if err := checkKeyCase(name, data); err != nil {
		return nil, err
	}
	if err := p.validate(name, data); err != nil {
		return nil, err
	}
	p.source = name
	return &p, nil
}

// checkKeyCase refuses keys spelt with other capitals than the profile's
// own (FIXED_NS for fixed_ns): the decoder accepts them, so that a key
// given twice in two spellings would silently keep one of the values.
func checkKeyCase(name string, data []byte) error {
	var raw map[string]any
	if toml.Unmarshal(data, &raw) != nil {
		return nil // the strict decoder has accepted it; nothing to add
	}
	tables := map[string]reflect.Type{"meta": reflect.TypeFor[ProfileMeta](), "op": reflect.TypeFor[OpCost](), "measurement": reflect.TypeFor[Measurement]()}
	check := func(path string, m map[string]any, t reflect.Type) error {
		keys := map[string]bool{}
		for i := range t.NumField() {
			if tag, _, _ := strings.Cut(t.Field(i).Tag.Get("toml"), ","); tag != "" {
				keys[tag] = true
			}
		}
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if keys[k] {
				continue
			}
			want := k
			for kk := range keys {
				if strings.EqualFold(kk, k) {
					want = kk
				}
			}
			return fmt.Errorf("%s:%d: nfsmodel: key %s%s: keys are case-sensitive, write %s", name, keyLine(data, k), path, k, want)
		}
		return nil
	}
	if err := check("", raw, reflect.TypeFor[Profile]()); err != nil {
		return err
	}
	for table, t := range tables {
		switch v := raw[table].(type) {
		case map[string]any:
			if err := check(table+".", v, t); err != nil {
				return err
			}
		case []any:
			for _, e := range v {
				if m, ok := e.(map[string]any); ok {
					if err := check(table+".", m, t); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

// keyLine returns the first line that sets key (or names the table key),
// or 0.
func keyLine(data []byte, key string) int {
	for n, line := range strings.Split(string(data), "\n") {
		t := strings.TrimSpace(line)
		if rest, ok := strings.CutPrefix(t, key); ok {
			if r := strings.TrimSpace(rest); strings.HasPrefix(r, "=") {
				return n + 1
			}
		}
		if strings.Trim(t, "[] \t") == key {
			return n + 1
		}
	}
	return 0
}

// validate checks values that decode but make no sense, reporting the line
// of the offending key.
func (p *Profile) validate(name string, data []byte) error {
	lines := tableLines(data)
	at := func(table string, i int, key string) string {
		return fmt.Sprintf("%s:%d", name, lines.keyLine(table, i, key))
	}
	if len(p.Ops) == 0 {
		return fmt.Errorf("%s: nfsmodel: profile has no [[op]] entries", name)
	}
	seen := map[string]bool{}
	for i, o := range p.Ops {
		if o.Name == "" {
			return fmt.Errorf("%s: nfsmodel: op without a name", at("op", i, "name"))
		}
		if err := knownOp(o.Name); err != nil {
			return fmt.Errorf("%s: nfsmodel: op.name: %v", at("op", i, "name"), err)
		}
		if o.Cache != Warm && o.Cache != Cold {
			return fmt.Errorf("%s: nfsmodel: op %q: cache %q is neither %q nor %q", at("op", i, "cache"), o.Name, o.Cache, Warm, Cold)
		}
		if o.Scope != "folder" && o.Scope != "message" {
			return fmt.Errorf("%s: nfsmodel: op %q: scope %q is neither \"folder\" nor \"message\"", at("op", i, "scope"), o.Name, o.Scope)
		}
		for _, f := range o.bounded() {
			if !(f.v >= 0 && f.v <= f.max) {
				return fmt.Errorf("%s: nfsmodel: op %q (%s): %s = %v, want a value from 0 to %g", at("op", i, f.key), o.Name, o.Cache, f.key, f.v, f.max)
			}
		}
		if o.Points < 0 {
			return fmt.Errorf("%s: nfsmodel: op %q (%s): points = %d, want a count >= 0", at("op", i, "points"), o.Name, o.Cache, o.Points)
		}
		k := o.Name + "/" + o.Cache
		if seen[k] {
			return fmt.Errorf("%s: nfsmodel: op %q (%s) given twice", at("op", i, "name"), o.Name, o.Cache)
		}
		seen[k] = true
	}
	for i, m := range p.Measurements {
		if err := knownOp(m.Op); err != nil {
			return fmt.Errorf("%s: nfsmodel: measurement.op: %v", at("measurement", i, "op"), err)
		}
		if !seen[m.Op+"/"+m.Cache] {
			return fmt.Errorf("%s: nfsmodel: measurement of %q (%s) has no matching [[op]]", at("measurement", i, "op"), m.Op, m.Cache)
		}
		if m.Entries < 0 || m.Count <= 0 {
			return fmt.Errorf("%s: nfsmodel: measurement of %q: entries must be >= 0 and count > 0", at("measurement", i, "count"), m.Op)
		}
		if m.Entries > MaxProfileEntries {
			return fmt.Errorf("%s: nfsmodel: measurement of %q: entries = %d, want at most %d", at("measurement", i, "entries"), m.Op, m.Entries, MaxProfileEntries)
		}
		for _, f := range []struct {
			key  string
			v    float64
			most float64
		}{{"bytes", m.Bytes, MaxProfileBytes}, {"mean_ns", m.MeanNs, MaxProfileNs}, {"trimmed_mean_ns", m.TrimmedNs, MaxProfileNs}, {"p50_ns", m.P50Ns, MaxProfileNs}, {"p99_ns", m.P99Ns, MaxProfileNs}} {
			if !(f.v >= 0 && f.v <= f.most) {
				return fmt.Errorf("%s: nfsmodel: measurement of %q: %s = %v, want a value from 0 to %g", at("measurement", i, f.key), m.Op, f.key, f.v, f.most)
			}
		}
	}
	return nil
}

// bound is a value of a profile and its largest allowed value.
type bound struct {
	key    string
	v, max float64
}

// bounded lists o's costs with their limits.
func (o OpCost) bounded() []bound {
	return []bound{{"fixed_ns", o.FixedNs, MaxProfileNs}, {"per_entry_ns", o.PerEntryNs, MaxPerEntryNs},
		{"per_byte_ns", o.PerByteNs, MaxPerByteNs}, {"mean_factor", o.MeanFactor, MaxMeanFactor}}
}

// knownOp checks that name is one of [ProfileOps], suggesting the nearest
// one if it is not.
func knownOp(name string) error {
	if slices.Contains(ProfileOps, name) {
		return nil
	}
	// Suggest a name within two edits, or one that contains the name.
	best, dist := "", 3
	low := strings.ToLower(name)
	for _, k := range ProfileOps {
		d := editDistance(low, k)
		if len(low) >= 4 && strings.Contains(k, low) {
			d = min(d, 2)
		}
		if d < dist {
			best, dist = k, d
		}
	}
	if best != "" {
		return fmt.Errorf("unknown operation %q (did you mean %q?)", name, best)
	}
	return fmt.Errorf("unknown operation %q (known: %s)", name, strings.Join(ProfileOps, ", "))
}

// editDistance is the Levenshtein distance between a and b, in bytes; it
// gives up at 64 bytes (far from any operation name).
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			sub := prev[j-1]
			if a[i-1] != b[j-1] {
				sub++
			}
			cur[j] = min(sub, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Missing returns the operations of [CalibrationOps] that p has no warm
// cost for, in that order.
func (p *Profile) Missing() []string {
	var out []string
	for _, name := range CalibrationOps {
		if _, ok := p.Op(name, Warm); !ok {
			out = append(out, name)
		}
	}
	return out
}

// tableIndex records, for each array-of-tables name, the line of each
// "[[name]]" header and of each "key =" line below it, so that validation
// errors can point at a line. It understands the layout the encoder writes
// and hand-edited files of the same shape; where it cannot tell, it
// answers line 0.
type tableIndex map[string][]map[string]int

func tableLines(data []byte) tableIndex {
	idx := tableIndex{}
	var cur map[string]int
	for n, line := range strings.Split(string(data), "\n") {
		t := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(t, "[["):
			name := strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(strings.SplitN(t, "]]", 2)[0], "[["), "]]"))
			cur = map[string]int{"": n + 1}
			idx[name] = append(idx[name], cur)
		case strings.HasPrefix(t, "["):
			cur = nil
		case cur != nil:
			if k, _, ok := strings.Cut(t, "="); ok {
				cur[strings.Trim(strings.TrimSpace(k), `"'`)] = n + 1
			}
		}
	}
	return idx
}

func (idx tableIndex) keyLine(table string, i int, key string) int {
	tabs := idx[table]
	if i >= len(tabs) {
		return 0
	}
	if l, ok := tabs[i][key]; ok {
		return l
	}
	return tabs[i][""]
}

// CheckRow compares one measurement with the profile's prediction for it.
type CheckRow struct {
	Measurement
	// PredictedNs is the fitted cost at the measurement's folder size and
	// bytes.
	PredictedNs float64
	// RelErr is (predicted − measured) / measured.
	RelErr float64
}

// OpCheck is the verdict for one operation and cache state.
type OpCheck struct {
	Op, Cache string
	// Rows are the operation's measurements, in profile order.
	Rows []CheckRow
	// MaxAbsRelErr is the largest |RelErr| among Rows.
	MaxAbsRelErr float64
	// OK reports whether MaxAbsRelErr is within the tolerance.
	OK bool
}

// Check predicts every stored measurement with the fitted costs and
// compares: the profile's fit against the workload that produced it. An
// operation passes when every one of its measurements is predicted within
// tolerance (0.25 for 25 %) of its measured trimmed mean, the statistic
// the costs are fitted to. Operations appear in the
// order of Ops; those without measurements are left out.
func (p *Profile) Check(tolerance float64) []OpCheck {
	var out []OpCheck
	for _, o := range p.Ops {
		c := OpCheck{Op: o.Name, Cache: o.Cache, OK: true}
		for _, m := range p.Measurements {
			if m.Op != o.Name || m.Cache != o.Cache {
				continue
			}
			pred := o.PredictNs(m.Entries, m.Bytes)
			rel := 0.0
			if m.TrimmedNs > 0 {
				rel = (pred - m.TrimmedNs) / m.TrimmedNs
			} else if pred > 0 {
				rel = math.Inf(1)
			}
			c.Rows = append(c.Rows, CheckRow{Measurement: m, PredictedNs: pred, RelErr: rel})
			c.MaxAbsRelErr = max(c.MaxAbsRelErr, math.Abs(rel))
		}
		if len(c.Rows) == 0 {
			continue
		}
		c.OK = c.MaxAbsRelErr <= tolerance
		out = append(out, c)
	}
	return out
}
