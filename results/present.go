package results

import (
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Group is a section of the tables and reports that metrics are shown in.
type Group string

// The sections, in the order tables show them.
const (
	GroupLatency     Group = "Latency"
	GroupNFS         Group = "NFS and storage"
	GroupConsistency Group = "Consistency (two backends on one mailbox)"
	GroupFailures    Group = "Failures"
	GroupCapacity    Group = "Capacity and balance"
	GroupSteady      Group = "Steady state"
)

// Groups lists the sections in table order.
var Groups = []Group{GroupLatency, GroupNFS, GroupConsistency, GroupFailures, GroupCapacity, GroupSteady}

// GroupOf returns the section metric name belongs to. Names are those of
// the model's and the testbed's metrics; an unknown name goes to
// GroupCapacity when it is a rate and to GroupConsistency otherwise, as
// most of the remaining counters are index damage.
func GroupOf(name string) Group {
	has := func(prefixes ...string) bool {
		for _, p := range prefixes {
			if strings.HasPrefix(name, p) {
				return true
			}
		}
		return false
	}
	switch {
	case has("steady_state."):
		return GroupSteady
	case has("imap.latency", "lmtp.latency", "latency.", "listing.", "idle_notify.", "lock_wait.", "imap.slow_", "lmtp.mean"):
		return GroupLatency
	case has("nfs.", "storage.", "cache.", "backend.cache"):
		return GroupNFS
	case has("failed_", "refused_", "users_affected", "time_to_", "proxy_host_down", "failover_", "index_failed", "lock_timeouts", "locks_retained"):
		return GroupFailures
	case has("imap.commands_per_s", "sessions", "logins_ok", "load_imbalance", "backend.", "proxy.", "testbed.", "deliveries", "user_moves", "lock_waits"):
		return GroupCapacity
	}
	return GroupConsistency
}

// Display says how a metric's values are shown to a reader: in which
// unit, scaled by how much.
type Display struct {
	// Unit is the unit shown ("ms", "s", "%", "/s"), "" for a count.
	Unit string
	// Scale multiplies a stored value into Unit.
	Scale float64
	// Percent is true for a share shown in percent; its differences are
	// percentage points.
	Percent bool
}

// isShare reports whether a unitless metric is a fraction of one.
func isShare(name string) bool {
	for _, s := range []string{"ratio", "utilization", "cpu_util", "cpu_busy", "load_cpu", "mser5_discard", "steady_state.shift"} {
		if strings.Contains(name, s) {
			return true
		}
	}
	return false
}

// DisplayOf returns how metric m is shown, given the values it takes (to
// choose between milliseconds and seconds): values all below a second are
// shown in milliseconds, shares become percentages, rates are per second.
func DisplayOf(m MetricInfo, values ...float64) Display {
	switch {
	case m.Unit == "s":
		top := 0.0
		for _, v := range values {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				top = math.Max(top, math.Abs(v))
			}
		}
		if top >= 1 {
			return Display{Unit: "s", Scale: 1}
		}
		return Display{Unit: "ms", Scale: 1000}
	case m.Unit == "1/s":
		return Display{Unit: "/s", Scale: 1}
	case m.Unit == "" && isShare(m.Name):
		return Display{Unit: "%", Scale: 100, Percent: true}
	}
	return Display{Unit: m.Unit, Scale: 1}
}

// Format formats v, a stored value, in d's unit with three significant
// digits and thousands separators, without the unit.
func (d Display) Format(v float64) string {
	return Readable(v * d.Scale)
}

// FormatUnit is Format followed by the unit ("14.8 ms", "63 %",
// "1,205/s", "49,019").
func (d Display) FormatUnit(v float64) string {
	s := d.Format(v)
	if d.Unit == "" || math.IsNaN(v) {
		return s
	}
	if d.Unit == "/s" {
		return s + "/s"
	}
	return s + " " + d.Unit
}

// Readable formats v for people: three significant digits below 1,000,
// whole numbers with thousands separators below a million, millions
// ("41.6M") and billions ("1.23G") up to a trillion, an exponent beyond
// and below a millionth ("1.23e+12"), "0" for zero and "n/a" for NaN.
func Readable(v float64) string {
	switch {
	case math.IsNaN(v):
		return "n/a"
	case math.IsInf(v, 1):
		return "∞"
	case math.IsInf(v, -1):
		return "−∞"
	case v == 0:
		return "0"
	}
	a := math.Abs(v)
	if a >= 999.5e9 || a < 1e-6 {
		// A trillion and more, or less than a millionth: no metric of a
		// run, in the units shown, is that large or small but by
		// mistake; say it exactly enough.
		return strconv.FormatFloat(v, 'e', 2, 64)
	}
	if a >= 999.5e6 {
		// Billions (G, as in SI): messages listed by a day of index
		// builds can number that many.
		return Readable(v/1e9) + "G"
	}
	if a >= 999_500 {
		// A million and more: millions, as people say them.
		return Readable(v/1e6) + "M"
	}
	if a >= 999.5 {
		return thousands(strconv.FormatFloat(math.Round(v), 'f', 0, 64))
	}
	digits := max(0, 2-int(math.Floor(math.Log10(a))))
	s := strconv.FormatFloat(v, 'f', digits, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if s == "-0" {
		s = "0"
	}
	return s
}

// thousands inserts a comma every three digits of the integer s.
func thousands(s string) string {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// labels are short names in words for the metrics a design review reads
// first; other metrics are labelled by their description.
var labels = map[string]string{
	"imap.latency.p50":                    "IMAP latency, median",
	"imap.latency.p99":                    "IMAP latency, 99th percentile",
	"imap.latency.mean":                   "IMAP latency, mean",
	"imap.commands_per_s":                 "IMAP commands per second",
	"lmtp.latency.p99":                    "LMTP delivery latency, 99th percentile",
	"nfs.ops_per_s":                       "NFS calls per second",
	"nfs.utilization":                     "NFS server busy",
	"cache.hit_ratio":                     "Backend cache hit ratio",
	"stale_reads":                         "Stale index reads",
	"dovecot_errors_per_million_sessions": "Dovecot index errors per million sessions",
	"dovecot.errors.total":                "Dovecot index errors",
	"index_fscks":                         "Index repairs (fsck)",
	"messages_new_uid":                    "Messages given a new UID",
	"users_uidvalidity_changed":           "Users whose UIDVALIDITY changed",
	"users_multi_backend":                 "Users on two backends at once",
	"user_moves":                          "Logins on another backend than before",
	"failed_logins":                       "Failed logins",
	"failed_commands":                     "Failed commands",
	"failed_deliveries":                   "Deferred deliveries",
	"users_affected":                      "Users affected by a failure",
	"time_to_detect":                      "Time to detect the failure",
	"time_to_recover":                     "Time to recover",
	"load_imbalance":                      "Load imbalance (busiest / mean)",
	"backend.cpu_util.max":                "Busiest backend's CPU",
	"sessions":                            "IMAP sessions",
	"logins_ok":                           "Successful logins",
	"listing.p50":                         "Maildir listing, median",
	"listing.mean":                        "Maildir listing, mean",
	"lock_waits":                          "Index lock waits",
	"lock_wait.mean":                      "Index lock wait, mean",
	"idle_notify.p99":                     "IDLE notification delay, 99th percentile",
}

// MetricLabel returns a short name in words for metric m: "IMAP latency, 99th
// percentile" for imap.latency.p99, else its description with a capital
// letter, else its name.
func MetricLabel(m MetricInfo) string {
	if l, ok := labels[m.Name]; ok {
		return l
	}
	if strings.HasPrefix(m.Name, "latency.") && strings.HasSuffix(m.Name, ".p99") {
		return strings.TrimSuffix(strings.TrimPrefix(m.Name, "latency."), ".p99") + " latency, 99th percentile"
	}
	if m.Doc != "" {
		r, n := utf8.DecodeRuneInString(m.Doc)
		return string(unicode.ToUpper(r)) + m.Doc[n:]
	}
	return m.Name
}

// Practical thresholds: a difference smaller than these is "the same" in
// a summary, even when its interval excludes zero. A design review asks
// whether a difference matters, not only whether it is there.
const (
	// SameLatency is the relative latency difference below which two
	// strategies are the same (5 %), and SameLatencyAbs the absolute one
	// (1 ms): below either, users cannot tell.
	SameLatency    = 0.05
	SameLatencyAbs = 0.001
	// SameShare is the difference in percentage points below which two
	// shares (hit ratios, utilisations) are the same.
	SameShare = 1.0
	// SameRate is the relative difference of rates and counts below which
	// they are the same (10 %).
	SameRate = 0.10
)

// Practical reports whether the difference diff = a − b between two
// means of metric m is large enough to matter, by the thresholds above;
// zero against non-zero always matters.
func Practical(m MetricInfo, a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return false
	}
	if (a == 0) != (b == 0) {
		return true
	}
	d := math.Abs(a - b)
	ref := math.Max(math.Abs(a), math.Abs(b))
	if ref == 0 {
		return false
	}
	switch disp := DisplayOf(m); {
	case m.Unit == "s":
		return d >= SameLatencyAbs && d/ref >= SameLatency
	case disp.Percent:
		return d*100 >= SameShare
	}
	return d/ref >= SameRate
}
