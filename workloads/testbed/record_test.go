package testbed

import (
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mailsim/mailsim/model/hist"
	"github.com/mailsim/mailsim/results"
	"github.com/mailsim/mailsim/workloads/imapload"
	"github.com/mailsim/mailsim/workloads/testbed/guest"
)

func nfsdCounters(getattr, lookup, write int) string {
	return "rc 0 0 15\nproc3 22 0 " + strconv.Itoa(getattr) + " 0 " + strconv.Itoa(lookup) + " 0 0 0 " + strconv.Itoa(write) + " 0 0 0 0 0 0 0 0 0 0 0 0 0 0\nproc4 2 0 0\n"
}

func mountstats(b1getattr, b2getattr int) string {
	m := func(dir string, g int) string {
		return "device 127.0.0.1:/export mounted on " + dir + " with fstype nfs statvers=1.1\n\topts:\trw,vers=3\n\tper-op statistics\n\t        NULL: 1 1 0 44 24 0 0 1 0\n\t     GETATTR: " + strconv.Itoa(g) + " 2 0 168 224 0 0 0 0\n\t      LOOKUP: 5 5 0 0 0 0 0 0 0\n\n"
	}
	return "device proc mounted on /proc with fstype proc\n" + m("/mnt/b1", b1getattr) + m("/mnt/b2", b2getattr)
}

// TestRecord turns a guest's result into a run record: rates from the
// server's counter deltas over the measured period, per-backend calls
// from each mount's statistics, Dovecot errors only from the measured
// period, latencies from the replay's histograms.
func TestRecord(t *testing.T) {
	c := smallCluster("random")
	work := t.TempDir()
	logs := filepath.Join(work, guest.LogDir)
	if err := os.MkdirAll(logs, 0o755); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 12, 5, 4, 0, 0, 0, time.UTC)
	b1 := strings.Join([]string{
		"2026-12-05 04:00:05.000000 imap(u@example.net)<1><a>: Error: Mailbox INBOX: fstat(/mnt/b1/x/dovecot.index.cache) failed: Stale file handle",                                               // warm-up: not counted
		"2026-12-05 04:00:15.000000 imap(u@example.net)<1><a>: Error: Mailbox INBOX: Deleting corrupted cache: record points outside file",                                                         // counted
		"2026-12-05 04:00:25.500000 imap(u@example.net)<1><a>: Error: Mailbox INBOX: Corrupted transaction log file /mnt/b1/x/dovecot.index.log seq 2: Unexpected garbage at EOF (sync_offset=10)", // counted
		"2026-12-05 04:00:26.000000 imap(u@example.net)<1><a>: Info: Logged out in=1 out=2",
		"2026-12-05 04:01:15.000000 imap(u@example.net)<1><a>: Error: Mailbox INBOX: Deleting corrupted cache: record points outside file", // after the end: not counted
	}, "\n") + "\n"
	if err := os.WriteFile(filepath.Join(logs, "b1.log"), []byte(b1), 0o644); err != nil {
		t.Fatal(err)
	}
	var h hist.Histogram
	for _, v := range []float64{0.001, 0.002, 0.004} {
		h.Add(v)
	}
	m := &imapload.Measurements{
		Warmup: 10 * time.Second, Duration: 60 * time.Second, Interval: 30 * time.Second,
		Latency:   map[string]hist.Histogram{"SELECT": h, "LMTP": h},
		Intervals: []imapload.Interval{{Start: 10 * time.Second, Commands: 2, LoginsOK: 1}, {Start: 40 * time.Second, Commands: 1}},
		LoginsOK:  1, DeliveriesOK: 3,
		Backends:          []imapload.Backend{{Name: "b2", LoginsOK: 1, LoginsOKPerInterval: []uint64{1, 0}}},
		MultiBackendUsers: []string{"u@example.net"},
	}
	res := &guest.Result{
		LoadStart:      t0,
		Measurements:   m,
		CountersBefore: []guest.KV{{Key: "nfsd", Value: nfsdCounters(10, 5, 0)}, {Key: "mountstats", Value: mountstats(100, 200)}},
		CountersAfter:  []guest.KV{{Key: "nfsd", Value: nfsdCounters(70, 65, 120)}, {Key: "mountstats", Value: mountstats(130, 260)}},
		Events:         []guest.Event{{At: 40 * time.Second, Kind: "backend.crash", Detail: "b1"}},
	}
	r, err := Record(results.PlannedRun{ID: "p0-random-r0", Strategy: "random"}, c, res, work)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mt := range r.Metrics {
		got[mt.Name] = mt.Value
	}
	want := map[string]float64{
		"nfs.ops_per_s":                            (60 + 60 + 120) / 60.0,
		"nfs.GETATTR_per_s":                        1,
		"nfs.WRITE_per_s":                          2,
		"imap.commands_per_s":                      3 / 60.0,
		"sessions":                                 1,
		"users_multi_backend":                      1,
		"deliveries":                               3,
		"dovecot.errors.cache_corrupted":           1,
		"dovecot.errors.transaction_log_corrupted": 1,
		"dovecot.errors.stale_file_handle":         0,
		"dovecot.errors.total":                     2,
	}
	for k, v := range want {
		if math.Abs(got[k]-v) > 1e-9 {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	vec := map[string][]float64{}
	for _, v := range r.Backends {
		vec[v.Name] = v.Values
	}
	if g := vec["backend.nfs.GETATTR"]; len(g) != 2 || g[0] != 30 || g[1] != 60 {
		t.Errorf("backend.nfs.GETATTR = %v, want [30 60]", g)
	}
	if g := vec["backend.nfs.LOOKUP"]; len(g) != 2 || g[0] != 0 || g[1] != 0 {
		t.Errorf("backend.nfs.LOOKUP = %v, want [0 0]", g)
	}
	if g := vec["backend.nfs_ops"]; len(g) != 2 || g[0] != 30 || g[1] != 60 {
		t.Errorf("backend.nfs_ops = %v, want [30 60]", g)
	}
	if g := vec["backend.logins"]; len(g) != 2 || g[0] != 0 || g[1] != 1 {
		t.Errorf("backend.logins = %v, want [0 1]", g)
	}
	if g := vec["backend.dovecot_errors"]; len(g) != 2 || g[0] != 2 {
		t.Errorf("backend.dovecot_errors = %v, want [2 0]", g)
	}
	if r.Series == nil || len(r.Series.Columns) == 0 {
		t.Fatal("no series")
	}
	for _, col := range r.Series.Columns {
		if col.Name == "dovecot_errors" && (len(col.Values) != 2 || col.Values[0] != 2 || col.Values[1] != 0) {
			t.Errorf("dovecot_errors per interval = %v, want [2 0]", col.Values)
		}
	}
	var kinds []string
	for _, e := range r.Events {
		kinds = append(kinds, e.Kind)
	}
	if strings.Join(kinds, ",") != "dovecot.stale_file_handle,dovecot.cache_corrupted,dovecot.transaction_log_corrupted,backend.crash,dovecot.cache_corrupted" {
		t.Errorf("events %v", kinds)
	}
}
