//go:build linux

package replay

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailsim/mailsim/nfsmodel"
)

func smallConfig(dir string) Config {
	return Config{Dir: dir, Messages: []int{24, 60}, MaxSize: 2048, Reps: 2, OpsPerPoint: 6, ColdReps: 2, Cold: "no", Seed: 3}
}

func TestRunMeasuresEveryOperation(t *testing.T) {
	parent := t.TempDir()
	drops := 0
	cfg := smallConfig(parent)
	cfg.Cold = "yes"
	cfg.DropCaches = func() error { drops++; return nil }
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if n := names(t, parent); len(n) != 0 {
		t.Fatalf("left behind in the parent directory: %v", n)
	}
	cps := Checkpoints(cfg.Messages)
	if want := cfg.ColdReps * len(cps) * 3; drops != want {
		t.Errorf("caches dropped %d times, want %d", drops, want)
	}
	type key struct{ op, cache string }
	count := map[key]int{}
	for _, p := range res.Points {
		count[key{p.Op, p.Cache}] += p.Count
		if p.Count == 0 || p.P50 <= 0 || p.P99 < p.P50 {
			t.Errorf("point %+v", p)
		}
	}
	total, perMessage := 0, 0
	for _, n := range cps {
		total += n
		perMessage += min(cfg.OpsPerPoint, n/2)
	}
	wantCount := map[key]int{
		{OpReaddir, nfsmodel.Warm}:     cfg.Reps * len(cps),
		{OpReaddirStat, nfsmodel.Warm}: cfg.Reps * len(cps),
		{OpRebuild, nfsmodel.Warm}:     cfg.Reps * len(cps),
		{OpHeaderRead, nfsmodel.Warm}:  cfg.Reps * total,
		{OpReaddir, nfsmodel.Cold}:     cfg.ColdReps * len(cps),
		{OpReaddirStat, nfsmodel.Cold}: cfg.ColdReps * len(cps),
		{OpRebuild, nfsmodel.Cold}:     cfg.ColdReps * len(cps),
		{OpHeaderRead, nfsmodel.Cold}:  cfg.ColdReps * total,
		{OpFlag, nfsmodel.Warm}:        perMessage,
		{OpExpunge, nfsmodel.Warm}:     perMessage,
		{OpLogAppend, nfsmodel.Warm}:   perMessage,
		{OpDotlock, nfsmodel.Warm}:     perMessage,
		{OpDeliver, nfsmodel.Warm}:     total + perMessage,
		{OpNewToCur, nfsmodel.Warm}:    total + perMessage,
	}
	for k, want := range wantCount {
		if count[k] != want {
			t.Errorf("%s (%s): %d timings, want %d", k.op, k.cache, count[k], want)
		}
	}
	if len(count) != len(wantCount) {
		t.Errorf("operations measured: %v", count)
	}
	if len(res.Anomalies) != 0 {
		t.Errorf("anomalies: %v", res.Anomalies)
	}
	// The profile encodes, loads strictly and predicts every operation.
	data, err := res.Profile.Encode()
	if err != nil {
		t.Fatal(err)
	}
	p, err := nfsmodel.ParseProfile("replay", data)
	if err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	if len(p.Ops) != len(wantCount) || len(p.Measurements) != len(res.Points) {
		t.Errorf("profile has %d ops and %d measurements", len(p.Ops), len(p.Measurements))
	}
	for _, o := range p.Ops {
		if o.PredictNs(1000, 4096) <= 0 {
			t.Errorf("%s (%s) predicts no cost: %+v", o.Name, o.Cache, o)
		}
	}
	if p.Meta.MailFsync != FsyncOptimized || p.Meta.Seed != 3 || p.Meta.FSType == "" {
		t.Errorf("meta %+v", p.Meta)
	}
}

func TestRunContention(t *testing.T) {
	parent := t.TempDir()
	cfg := smallConfig(parent)
	cfg.Clients = 3
	cfg.ContentionOps = 60
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	c := res.Contention
	if c == nil || c.Clients != 3 {
		t.Fatalf("contention %+v", c)
	}
	ops := 0
	for _, o := range c.Ops {
		ops += o.Count
	}
	if ops != 3*60 {
		t.Errorf("%d operations, want %d", ops, 3*60)
	}
	if len(c.Other) != 0 {
		t.Errorf("unexpected errors: %v", c.Other)
	}
	if c.RenameRaces+c.StaleReads > c.ENOENT {
		t.Errorf("races %d + stale reads %d exceed ENOENT %d", c.RenameRaces, c.StaleReads, c.ENOENT)
	}
	if n := names(t, parent); len(n) != 0 {
		t.Fatalf("left behind: %v", n)
	}
}

// TestJoin runs the two-host procedure on one host: build and keep, join
// with a second replayer, clean.
func TestJoin(t *testing.T) {
	parent := t.TempDir()
	cfg := smallConfig(parent)
	cfg.Keep = true
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Kept {
		t.Fatal("not kept")
	}
	if m, err := ReadMarker(res.Scratch); err != nil || !m.Kept {
		t.Fatalf("kept marker: %+v, %v", m, err)
	}
	// Automatic cleaning leaves a kept folder alone.
	if removed, _, _ := Clean(parent, CleanStale); len(removed) != 0 {
		t.Fatalf("CleanStale removed a kept folder: %v", removed)
	}
	join := Config{Dir: parent, Join: filepath.Base(res.Scratch), Clients: 2, ContentionOps: 30, Seed: 9}
	jres, err := Run(context.Background(), join)
	if err != nil {
		t.Fatal(err)
	}
	if jres.Contention == nil || len(jres.Points) != 0 || jres.Profile != nil {
		t.Fatalf("join result %+v", jres)
	}
	if _, err := ReadMarker(res.Scratch); err != nil {
		t.Fatalf("joined folder damaged: %v", err)
	}
	if _, err := Run(context.Background(), Config{Dir: parent, Join: "../etc"}); err == nil {
		t.Error("joined a path outside the parent")
	}
	if _, err := Run(context.Background(), Config{Dir: parent, Join: ScratchPrefix + "missing"}); err == nil {
		t.Error("joined a missing folder")
	}
	removed, _, err := Clean(parent, CleanAll)
	if err != nil || len(removed) != 1 {
		t.Fatalf("CleanAll removed %v, %v", removed, err)
	}
}

// TestRunCancelled stops a replay part way through and checks it leaves
// nothing behind.
func TestRunCancelled(t *testing.T) {
	parent := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cfg := smallConfig(parent)
	cfg.Progress = cancelAfter{cancel, "timing"}
	_, err := Run(ctx, cfg)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want context.Canceled", err)
	}
	if n := names(t, parent); len(n) != 0 {
		t.Fatalf("left behind: %v", n)
	}
}

// cancelAfter cancels when a progress line containing word is written.
type cancelAfter struct {
	cancel context.CancelFunc
	word   string
}

func (c cancelAfter) Write(p []byte) (int, error) {
	if strings.Contains(string(p), c.word) {
		c.cancel()
	}
	return len(p), nil
}

func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"tiny folder", Config{Dir: dir, Messages: []int{1}}, "at least 2"},
		{"bad fsync", Config{Dir: dir, MailFsync: "sometimes"}, "mail_fsync"},
		{"bad cold", Config{Dir: dir, Cold: "lukewarm"}, "cold"},
	}
	for _, tt := range tests {
		_, err := Run(context.Background(), tt.cfg)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want an error containing %q", tt.name, err, tt.want)
		}
	}
	if n := names(t, dir); len(n) != 0 {
		t.Errorf("left behind: %v", n)
	}
}

func TestFSType(t *testing.T) {
	if got := FSType("/proc"); got != "proc" {
		t.Errorf("FSType(/proc) = %q", got)
	}
	if got := FSType(t.TempDir()); got == "" || got == "unknown" {
		t.Errorf("FSType(temp dir) = %q", got)
	}
	if got := unescapeMount(`/mnt/my\040disk`); got != "/mnt/my disk" {
		t.Errorf("unescapeMount = %q", got)
	}
}

func TestWriteReport(t *testing.T) {
	res, err := Run(context.Background(), smallConfig(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := WriteReport(&b, res); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"index_rebuild", "per entry", "fitted costs", "60 *"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, b.String())
		}
	}
	if os.Getenv("REPLAY_SHOW") != "" {
		t.Log(b.String())
	}
}

// TestLocalLocks reads mount tables whose NFS mounts keep their locks to
// the host, and others whose locks reach the server.
func TestLocalLocks(t *testing.T) {
	const table = `22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
40 22 0:50 / /mnt/v3 rw,noatime shared:30 - nfs filer:/export rw,vers=3,rsize=1048576,namlen=255,hard,nolock,proto=tcp,local_lock=all,addr=10.0.0.1
41 22 0:51 / /mnt/v3lock rw,noatime shared:31 - nfs filer:/export rw,vers=3,hard,proto=tcp,local_lock=none,addr=10.0.0.1
42 22 0:52 / /mnt/v4 rw,noatime shared:32 - nfs4 filer:/export rw,vers=4.2,hard,proto=tcp,local_lock=none,addr=10.0.0.1
43 22 0:53 / /mnt/v4posix rw,noatime shared:33 - nfs4 filer:/export rw,vers=4.2,hard,proto=tcp,local_lock=posix,addr=10.0.0.1
44 22 0:54 / /mnt/my\040disk rw shared:34 - nfs filer:/x rw,vers=3,nolock
`
	tests := []struct {
		path, typ, want string
	}{
		{"/home/x", "ext4", ""},
		{"/mnt/v3/mail", "nfs", "nolock"},
		{"/mnt/v3lock/mail", "nfs", ""},
		{"/mnt/v4", "nfs4", ""},
		{"/mnt/v4posix/a/b", "nfs4", "local_lock=posix"},
		{"/mnt/my disk/a", "nfs", "nolock"},
	}
	for _, tt := range tests {
		typ, opts := parseMountInfo(strings.NewReader(table), tt.path)
		if typ != tt.typ {
			t.Errorf("%s: type %q, want %q", tt.path, typ, tt.typ)
		}
		got := localLocks(typ, opts)
		if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
			t.Errorf("%s: localLocks = %q, want it to name %q", tt.path, got, tt.want)
		}
	}
	if got := LocalLocks(t.TempDir()); got != "" {
		t.Errorf("LocalLocks(temp dir) = %q", got)
	}
}
