package experiments

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (run go test -update and review the diff):\n%s", path, got)
	}
}

func TestDefaultsTOMLGolden(t *testing.T) {
	out, err := DefaultsTOML[testSpec]()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "defaults.toml", out)
}

// TestDefaultsRoundTrip decodes the printed defaults back.
func TestDefaultsRoundTrip(t *testing.T) {
	out, err := DefaultsTOML[testSpec]()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode[testSpec]("defaults.toml", out)
	if err != nil {
		t.Fatalf("printed defaults do not decode: %v", err)
	}
	want, _ := Defaults[testSpec]()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("printed defaults decode to\n%+v\nwant\n%+v", got, want)
	}
}

// TestEncodeRoundTrip prints a spec that differs from the defaults
// everywhere, with faults and a sweep, and decodes it back.
func TestEncodeRoundTrip(t *testing.T) {
	in := `name = "say \"hi\"\t\u0001"
strategies = []
[cluster]
backends = 7
[nfs.client]
acregmin = "1h2m3.5s"
acregmax = "2h"
[director]
mail_fsync = "always"
[workload]
login_rate = 1e-3
weights = [0.25, 1]
[workload.mix]
"uid fetch" = 1
select = 0
[[faults]]
at = "1ms"
backend = 6
kind = "slow"
[[faults]]
[run]
seed = 9223372036854775807
duration = "1ns"
[sweep]
"workload.think_time" = ["1s", "2s"]
"strategies" = [["random"], ["director", "per-ip"]]
"faults" = [[], [{backend = 1, kind = "partition"}]]
"director.mail_fsync" = ["never"]
"workload.mix" = [{}, {idle = 1}]
`
	spec, err := Decode[testSpec]("in.toml", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	out, err := EncodeTOML(spec)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Decode[testSpec]("out.toml", out)
	if err != nil {
		t.Fatalf("encoded spec does not decode: %v\n%s", err, out)
	}
	if !reflect.DeepEqual(back, spec) {
		t.Errorf("round trip changed the spec:\n%+v\nwant\n%+v\n%s", back, spec, out)
	}
	golden(t, "encoded.toml", out)
}

func TestFormatDuration(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"},
		{time.Nanosecond, "1ns"},
		{1500 * time.Microsecond, "1ms500us"},
		{3 * time.Second, "3s"},
		{90 * time.Second, "1m30s"},
		{15 * time.Minute, "15m"},
		{26 * time.Hour, "26h"},
		{-2 * time.Minute, "-2m"},
		{time.Duration(-1 << 63), "-2562047h47m16s854ms775us808ns"},
	}
	for _, tt := range tests {
		got := formatDuration(int64(tt.d))
		if got != tt.want {
			t.Errorf("formatDuration(%v) = %q, want %q", tt.d, got, tt.want)
		}
		back, err := time.ParseDuration(got)
		if err != nil || back != tt.d {
			t.Errorf("time.ParseDuration(%q) = %v, %v; want %v", got, back, err, tt.d)
		}
	}
}

func ExampleDefaultsTOML() {
	type Client struct {
		Acregmin    time.Duration `toml:"acregmin" default:"3s" min:"0s" doc:"minimum attribute cache time for regular files (nfs(5) acregmin, default 3 s)"`
		Lookupcache string        `toml:"lookupcache" default:"all" enum:"all|positive|none" doc:"directory entry caching (nfs(5) lookupcache, default all)"`
	}
	type Spec struct {
		Backends int    `toml:"backends" default:"4" min:"1" doc:"number of IMAP/LMTP backends"`
		Client   Client `toml:"client" doc:"NFS client mount options"`
	}
	out, err := DefaultsTOML[Spec]()
	if err != nil {
		fmt.Println(err)
	}
	fmt.Print(string(out))
	// Output:
	// # number of IMAP/LMTP backends
	// # default 4; at least 1
	// backends = 4
	//
	// # NFS client mount options
	// [client]
	// # minimum attribute cache time for regular files (nfs(5) acregmin, default 3
	// # s)
	// # default "3s"; at least 0s
	// acregmin = "3s"
	//
	// # directory entry caching (nfs(5) lookupcache, default all)
	// # default "all"; one of "all", "positive", "none"
	// lookupcache = "all"
}
