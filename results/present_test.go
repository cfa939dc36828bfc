package results_test

import (
	"math"
	"testing"

	"github.com/mailsim/mailsim/results"
	"github.com/mailsim/mailsim/results/stats"
)

func TestReadable(t *testing.T) {
	tests := []struct {
		v    float64
		want string
	}{
		{0, "0"}, {math.NaN(), "n/a"}, {0.0123456, "0.0123"}, {1.5, "1.5"}, {14.84, "14.8"}, {216.04, "216"},
		{999.4, "999"}, {1234.5, "1,235"}, {-216004, "-216,004"}, {999_499, "999,499"}, {9_999_999, "10M"}, {1.234e9, "1.23G"}, {1e300, "1.00e+300"}, {-1e-300, "-1.00e-300"}, {41_631_524, "41.6M"},
	}
	for _, tt := range tests {
		if got := results.Readable(tt.v); got != tt.want {
			t.Errorf("Readable(%g) = %q, want %q", tt.v, got, tt.want)
		}
	}
}

func TestDisplayOf(t *testing.T) {
	tests := []struct {
		m      results.MetricInfo
		values []float64
		want   string // FormatUnit of the first value
	}{
		{results.MetricInfo{Name: "imap.latency.p99", Unit: "s"}, []float64{0.0148}, "14.8 ms"},
		{results.MetricInfo{Name: "idle_notify.p99", Unit: "s"}, []float64{0.5, 30.8}, "0.5 s"},
		{results.MetricInfo{Name: "cache.hit_ratio"}, []float64{0.632}, "63.2 %"},
		{results.MetricInfo{Name: "nfs.ops_per_s", Unit: "1/s"}, []float64{7157}, "7,157/s"},
		{results.MetricInfo{Name: "stale_reads"}, []float64{216004}, "216,004"},
	}
	for _, tt := range tests {
		if got := results.DisplayOf(tt.m, tt.values...).FormatUnit(tt.values[0]); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.m.Name, got, tt.want)
		}
	}
}

func TestFormatInterval(t *testing.T) {
	ms := results.DisplayOf(results.MetricInfo{Name: "imap.latency.p99", Unit: "s"}, 0.0176)
	count := results.DisplayOf(results.MetricInfo{Name: "fsck_messages"})
	tests := []struct {
		d    results.Display
		iv   stats.Interval
		want string
	}{
		{ms, stats.Interval{N: 5, Mean: 0.0176, Lo: 0.0169, Hi: 0.0183}, "17.6 ± 0.7"},
		{ms, stats.Interval{N: 5, Mean: 0.00265, Lo: 0.002649, Hi: 0.002651}, "2.65 ± 0.00"},
		{ms, stats.Interval{N: 1, Mean: 0.0176, Lo: math.NaN(), Hi: math.NaN()}, "17.6"},
		{count, stats.Interval{N: 5, Mean: 41_631_524, Lo: 36_815_185, Hi: 46_447_863}, "41.6M ± 4.8M"},
		{count, stats.Interval{N: 5, Mean: 7162, Lo: 7028, Hi: 7296}, "7,162 ± 134"},
		{count, stats.Interval{}, "–"},
	}
	for _, tt := range tests {
		if got := tt.d.FormatInterval(tt.iv); got != tt.want {
			t.Errorf("FormatInterval(%+v) = %q, want %q", tt.iv, got, tt.want)
		}
	}
}

func TestGroupOf(t *testing.T) {
	for name, want := range map[string]results.Group{
		"imap.latency.p99": results.GroupLatency, "nfs.GETATTR_per_s": results.GroupNFS, "stale_reads": results.GroupConsistency,
		"dovecot.errors.total": results.GroupConsistency, "failed_logins": results.GroupFailures, "load_imbalance": results.GroupCapacity,
		"steady_state.shift": results.GroupSteady, "time_to_detect": results.GroupFailures,
	} {
		if got := results.GroupOf(name); got != want {
			t.Errorf("GroupOf(%s) = %s, want %s", name, got, want)
		}
	}
}
