package charts

import (
	"math"
	"path"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/mailsim/mailsim/results"
)

// paramLabels name the swept parameters in words. A parameter not listed
// is called by its key.
var paramLabels = map[string]string{
	"cluster.backends":          "Backends",
	"cluster.cache_bytes":       "Backend cache",
	"cluster.lmtp_routing":      "LMTP routing",
	"cluster.proxies":           "Proxies",
	"nfs.threads":               "nfsd threads",
	"nfs.rtt":                   "NFS round trip",
	"nfs.servers":               "NFS servers",
	"nfs.profile":               "NFS server profile",
	"nfs.client.actimeo":        "actimeo",
	"nfs.client.noac":           "noac",
	"nfs.client.vers":           "NFS version",
	"nfs.client.lookupcache":    "lookupcache",
	"storage.kind":              "Storage",
	"dovecot.mail_location":     "mail_location",
	"dovecot.mail_nfs_index":    "mail_nfs_index",
	"dovecot.mail_nfs_storage":  "mail_nfs_storage",
	"dovecot.mail_fsync":        "mail_fsync",
	"dovecot.lmtp_index_update": "LMTP updates the index",
	"director.mail_fsync":       "Director's mail_fsync",
	"health.monitor":            "Health monitor",
	"workload.think_time":       "Think time",
	"workload.mix":              "Command mix",
	"workload.users":            "Users",
	"users":                     "Users",
	"faults":                    "Faults",
	"strategies":                "Strategies",
	"plan.scenario":             "Scenario",
}

// ParamLabel returns swept parameter key in words ("Backends" for
// cluster.backends, "actimeo" for nfs.client.actimeo), or key itself when
// it has no name in words. The unit, if any, is not part of it; see
// [ParamAxisLabel].
func ParamLabel(key string) string {
	if l, ok := paramLabels[key]; ok {
		return l
	}
	return key
}

// ParamAxisLabel returns the label of an axis along which key takes
// values: its name in words and, when the values are numbers with a
// unit, the unit ("actimeo (s)", "NFS round trip (ms)", "Backends").
func ParamAxisLabel(key string, values []string) string {
	ax := newParamAxis(key, values)
	return withUnit(ParamLabel(key), ax.unit)
}

// categoricalKeys are parameters whose values look like numbers but are
// names, such as NFS versions.
var categoricalKeys = map[string]bool{"nfs.client.vers": true}

// paramKind is how a parameter's values are placed on an axis.
type paramKind int

const (
	categorical paramKind = iota
	numeric
)

// paramAxis places the values of a swept parameter on an axis: numbers
// (plain, durations, byte sizes) at their value in one display unit, and
// anything else, or any mix with a default (""), as ordered categories.
type paramAxis struct {
	key    string
	kind   paramKind
	values []string // distinct values; numeric: ascending, else in plan order
	pos    map[string]float64
	label  map[string]string // tick label per value
	unit   string            // display unit of numeric values
	log    bool              // numeric values that double: spaced by their logarithm
}

// newParamAxis lays out values (distinct, in plan order) of key.
func newParamAxis(key string, values []string) paramAxis {
	ax := paramAxis{key: key, pos: map[string]float64{}, label: map[string]string{}}
	nums, unit, ok := parseNumbers(key, values)
	if ok && len(values) > 0 && !categoricalKeys[key] {
		ax.kind, ax.unit = numeric, unit
		ax.values = append([]string(nil), values...)
		for i, v := range values {
			ax.pos[v] = nums[i]
		}
		sortByPos(ax.values, ax.pos)
		sorted := make([]float64, len(ax.values))
		for i, v := range ax.values {
			sorted[i] = ax.pos[v]
			ax.label[v] = exactLabel(ax.pos[v])
		}
		ax.log = doubling(sorted)
		return ax
	}
	ax.values = append([]string(nil), values...)
	for i, v := range values {
		ax.pos[v] = float64(i)
		ax.label[v] = ValueLabel(key, v)
	}
	return ax
}

func sortByPos(vs []string, pos map[string]float64) {
	for i := 1; i < len(vs); i++ {
		for j := i; j > 0 && pos[vs[j]] < pos[vs[j-1]]; j-- {
			vs[j], vs[j-1] = vs[j-1], vs[j]
		}
	}
}

// doubling reports whether ascending positive values are spread more
// evenly by their logarithm than by their value, as 2, 4, 8, 16 are:
// such values go on a logarithmic axis.
func doubling(xs []float64) bool {
	if len(xs) < 3 || xs[0] <= 0 || xs[len(xs)-1]/xs[0] < 4 {
		return false
	}
	lin := make([]float64, len(xs)-1)
	lg := make([]float64, len(xs)-1)
	for i := 1; i < len(xs); i++ {
		lin[i-1] = xs[i] - xs[i-1]
		lg[i-1] = math.Log(xs[i] / xs[i-1])
	}
	return spread(lg) < spread(lin)
}

// spread is the coefficient of variation of xs.
func spread(xs []float64) float64 {
	var sum float64
	for _, x := range xs {
		sum += x
	}
	mean := sum / float64(len(xs))
	if mean == 0 {
		return math.Inf(1)
	}
	var ss float64
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	return math.Sqrt(ss/float64(len(xs))) / mean
}

// parseNumbers reads values as numbers in one display unit: plain numbers
// (bytes for a key ending in _bytes, shown in KiB, MiB or GiB), or Go
// durations shown in µs, ms or s. ok is false when any value is not a
// number, or is empty (a default).
func parseNumbers(key string, values []string) (nums []float64, unit string, ok bool) {
	nums = make([]float64, len(values))
	plain := true
	for i, v := range values {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			plain = false
			break
		}
		nums[i] = f
	}
	if plain && len(values) > 0 {
		if strings.HasSuffix(key, "_bytes") {
			scale, unit := byteUnit(nums)
			for i := range nums {
				nums[i] /= scale
			}
			return nums, unit, true
		}
		return nums, "", true
	}
	for i, v := range values {
		d, err := time.ParseDuration(v)
		if err != nil {
			return nil, "", false
		}
		nums[i] = d.Seconds()
	}
	scale, unit := durationUnit(nums)
	for i := range nums {
		nums[i] *= scale
	}
	return nums, unit, true
}

// durationUnit chooses µs, ms or s for durations in seconds by the
// largest, and returns the factor from seconds.
func durationUnit(secs []float64) (scale float64, unit string) {
	top := 0.0
	for _, s := range secs {
		top = math.Max(top, math.Abs(s))
	}
	switch {
	case top >= 1 || top == 0:
		return 1, "s"
	case top >= 1e-3:
		return 1e3, "ms"
	}
	return 1e6, "µs"
}

// byteUnit chooses B, KiB, MiB or GiB for byte counts by the largest,
// and returns the divisor.
func byteUnit(ns []float64) (div float64, unit string) {
	top := 0.0
	for _, n := range ns {
		top = math.Max(top, math.Abs(n))
	}
	div, unit = 1, "B"
	for _, u := range []string{"KiB", "MiB", "GiB", "TiB"} {
		if top < div*1024 {
			break
		}
		div *= 1024
		unit = u
	}
	return div, unit
}

// ValueLabel returns a swept parameter's value for a reader: "default"
// for an empty value, "on" and "off" for booleans, "100 µs" for a
// duration, a profile's file name without folder and extension, numbers
// with thousands separators, and byte sizes in KiB, MiB or GiB.
func ValueLabel(key, v string) string {
	switch v {
	case "":
		return "default"
	case "true":
		return "on"
	case "false":
		return "off"
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
		if strings.HasSuffix(key, "_bytes") {
			div, unit := byteUnit([]float64{f})
			return results.Readable(f/div) + " " + unit
		}
		return exactLabel(f)
	}
	if d, err := time.ParseDuration(v); err == nil {
		scale, unit := durationUnit([]float64{d.Seconds()})
		return results.Readable(d.Seconds()*scale) + " " + unit
	}
	if strings.HasSuffix(v, ".toml") {
		return strings.TrimSuffix(path.Base(v), ".toml")
	}
	return v
}

// PointLabel describes a sweep point in words ("Backends: 8, actimeo:
// default"), or "" for the single point of an experiment without a sweep.
func PointLabel(pt results.Point) string {
	parts := make([]string, 0, len(pt))
	for _, kv := range pt {
		parts = append(parts, ParamLabel(kv.Key)+": "+ValueLabel(kv.Key, kv.Value))
	}
	return strings.Join(parts, ", ")
}

// except returns the parameters of pt other than key.
func except(pt results.Point, key string) results.Point {
	var rest results.Point
	for _, kv := range pt {
		if kv.Key != key {
			rest = append(rest, kv)
		}
	}
	return rest
}

// vectorLabels name the per-backend vectors in words.
var vectorLabels = map[string]string{
	"backend.commands":        "IMAP commands per backend",
	"backend.cpu_util":        "Backend CPU busy",
	"backend.logins":          "Logins per backend",
	"backend.logins_ok":       "Successful logins per backend",
	"backend.max_connections": "Most connections open at once per backend",
	"backend.cache_hit_ratio": "Backend cache hit ratio",
	"backend.nfs_ops":         "NFS calls per backend",
	"backend.dovecot_errors":  "Dovecot errors per backend",
}

// vectorLabel returns the per-backend vector name in words.
func vectorLabel(name string) string {
	if l, ok := vectorLabels[name]; ok {
		return l
	}
	if op, ok := strings.CutPrefix(name, "backend.nfs."); ok {
		return "NFS " + op + " calls per backend"
	}
	return name
}

// columnLabels name the time-series columns in words.
var columnLabels = map[string]string{
	"connections":               "Open connections",
	"active_connections":        "Open connections",
	"stale_reads":               "Stale index reads",
	"dovecot_errors":            "Dovecot index errors",
	"logins_ok":                 "Successful logins",
	"logins_failed":             "Failed logins",
	"failed_logins":             "Failed logins",
	"commands":                  "IMAP commands",
	"director_users_unassigned": "Users the director assigns to no backend",
	"director_users_host_down":  "Users the director assigns to a down backend",
}

// columnLabel returns a time-series column's name in words, and whether
// the column is a level at each sample (such as open connections) rather
// than a count per interval.
func columnLabel(name string) (label string, level bool) {
	base, backend, perBackend := strings.Cut(name, ".b")
	if perBackend && isDigits(backend) {
		switch base {
		case "logins_ok":
			return "Successful logins on backend " + backend, false
		case "director_users":
			return "Users the director assigns to backend " + backend, true
		}
	}
	level = strings.Contains(name, "connections") || strings.HasPrefix(name, "director_users")
	if l, ok := columnLabels[name]; ok {
		return l, level
	}
	return name, level
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// eventLabel describes an event for a legend: its kind in words and its
// detail, shortened.
func eventLabel(kind, detail string) string {
	k := strings.NewReplacer(".", " ", "_", " ").Replace(strings.TrimPrefix(kind, "action."))
	if detail == "" {
		return capitalize(k)
	}
	if utf8.RuneCountInString(detail) > 40 {
		r := []rune(detail)
		detail = strings.TrimSpace(string(r[:39])) + "…"
	}
	return capitalize(k) + " (" + detail + ")"
}

// isObservation reports whether an event kind is something measured
// (a Dovecot log line, a slow IMAP command) rather than something done
// to the cluster or by it.
func isObservation(kind string) bool {
	return strings.HasPrefix(kind, "dovecot.") || strings.HasPrefix(kind, "imap.")
}

// isFault reports whether an event kind is an injected fault rather than
// an action, a monitor's reaction or a log line.
func isFault(kind string) bool {
	k := kind
	if i := strings.LastIndexByte(k, '.'); i >= 0 && strings.HasPrefix(k, "backend.") {
		k = k[i+1:]
	}
	switch k {
	case "crash", "hang", "partition", "stop", "kill", "killed":
		return true
	}
	return false
}

// lowerFirst puts a title in the middle of a sentence: "SELECT latency"
// and "IMAP latency" keep their capitals, "Backend CPU" becomes "backend
// CPU".
func lowerFirst(s string) string {
	word, _, _ := strings.Cut(s, " ")
	if len(word) > 1 && strings.ToUpper(word) == word {
		return s
	}
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToLower(r)) + s[n:]
}

func capitalize(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}

// withUnit appends " (unit)" to label; a rate's unit is left out when
// the label already says "per second".
func withUnit(label, unit string) string {
	switch {
	case unit == "":
		return label
	case unit == "/s" && strings.Contains(label, "per second"):
		return label
	}
	return label + " (" + unit + ")"
}

// replicasText describes how many replicas a chart's values average:
// "1 replica", "3 replicas", "2–3 replicas".
func replicasText(lo, hi int) string {
	switch {
	case hi <= 1:
		return "1 replica"
	case lo == hi || lo == 0:
		return strconv.Itoa(hi) + " replicas"
	}
	return strconv.Itoa(lo) + "–" + strconv.Itoa(hi) + " replicas"
}

// exactLabel labels a tested value: whole numbers exactly, with thousands
// separators (a tested 1,250,000 users is not "1.25M"), others readably.
func exactLabel(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return results.FormatCount(int(f))
	}
	return results.Readable(f)
}
