package experiments

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestSweepOrder checks that points follow the order of the keys in the
// file, the last key varying fastest, whatever the TOML spelling.
func TestSweepOrder(t *testing.T) {
	in := `[sweep]
"nfs.client.lookupcache" = ["all", "none"]
cluster.backends = [4, 8, 16]
nfs.client.acregmin = ["0s", "3s"]
`
	spec, err := Decode[testSpec]("exp.toml", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range spec.Sweep.Points() {
		got = append(got, fmt.Sprintf("%d %s", p.Index, p))
	}
	want := []string{
		"0 nfs.client.lookupcache=all cluster.backends=4 nfs.client.acregmin=0s",
		"1 nfs.client.lookupcache=all cluster.backends=4 nfs.client.acregmin=3s",
		"2 nfs.client.lookupcache=all cluster.backends=8 nfs.client.acregmin=0s",
		"3 nfs.client.lookupcache=all cluster.backends=8 nfs.client.acregmin=3s",
		"4 nfs.client.lookupcache=all cluster.backends=16 nfs.client.acregmin=0s",
		"5 nfs.client.lookupcache=all cluster.backends=16 nfs.client.acregmin=3s",
		"6 nfs.client.lookupcache=none cluster.backends=4 nfs.client.acregmin=0s",
		"7 nfs.client.lookupcache=none cluster.backends=4 nfs.client.acregmin=3s",
		"8 nfs.client.lookupcache=none cluster.backends=8 nfs.client.acregmin=0s",
		"9 nfs.client.lookupcache=none cluster.backends=8 nfs.client.acregmin=3s",
		"10 nfs.client.lookupcache=none cluster.backends=16 nfs.client.acregmin=0s",
		"11 nfs.client.lookupcache=none cluster.backends=16 nfs.client.acregmin=3s",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("points:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if n := spec.Sweep.Len(); n != 12 {
		t.Errorf("Len = %d, want 12", n)
	}
}

func TestSweepEmptyHasOnePoint(t *testing.T) {
	var s Sweep
	pts := s.Points()
	if len(pts) != 1 || len(pts[0].Settings) != 0 || pts[0].String() != "" {
		t.Errorf("empty sweep points = %+v, want one empty point", pts)
	}
}

func TestApply(t *testing.T) {
	base, _ := Defaults[testSpec]()
	base.Faults = []testFault{{Backend: 1}}
	sw := Sweep{Axes: []Axis{
		{Path: "cluster.backends", Values: []any{2, 32}},
		{Path: "director.director_user_expire", Values: []any{30 * time.Second}},
	}}
	p := sw.Points()[1]
	got, err := Apply(base, p)
	if err != nil {
		t.Fatal(err)
	}
	if got.Cluster.Backends != 32 || got.Director.UserExpire != 30*time.Second {
		t.Errorf("Apply(%s) gave backends %d, director_user_expire %s", p, got.Cluster.Backends, got.Director.UserExpire)
	}
	if base.Cluster.Backends != 4 || base.Director.UserExpire != 15*time.Minute {
		t.Errorf("Apply changed its base: %+v", base)
	}
	// The copy shares nothing with the base.
	got.Faults[0].Backend = 3
	got.Strategies[0] = "changed"
	if base.Faults[0].Backend != 1 || base.Strategies[0] != "random" {
		t.Errorf("Apply's result shares lists with its base")
	}
}

func TestApplyErrors(t *testing.T) {
	base, _ := Defaults[testSpec]()
	tests := []struct {
		path string
		val  any
		want string
	}{
		{"cluster.nodes", 4, `experiments: sweep path "cluster.nodes": no key "nodes"`},
		{"cluster", 4, `experiments: sweep path "cluster" names a section`},
		{"cluster.backends.x", 4, `experiments: sweep path "cluster.backends.x": "backends" is not a section`},
		{"cluster.backends", "4", `experiments: sweep value 4 for cluster.backends is a string, not a int`},
	}
	for _, tt := range tests {
		p := Point{Settings: []Setting{{Path: tt.path, Value: tt.val}}}
		_, err := Apply(base, p)
		if err == nil || err.Error() != tt.want {
			t.Errorf("Apply(%s=%v) error = %v, want %s", tt.path, tt.val, err, tt.want)
		}
	}
}

func ExampleSweep_Points() {
	in := `[sweep]
"cluster.backends" = [4, 8]
"nfs.client.acregmin" = ["0s", "3s", "60s"]
`
	spec, err := Decode[testSpec]("exp.toml", []byte(in))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range spec.Sweep.Points() {
		fmt.Println(p.Index, p)
	}
	// Output:
	// 0 cluster.backends=4 nfs.client.acregmin=0s
	// 1 cluster.backends=4 nfs.client.acregmin=3s
	// 2 cluster.backends=4 nfs.client.acregmin=1m
	// 3 cluster.backends=8 nfs.client.acregmin=0s
	// 4 cluster.backends=8 nfs.client.acregmin=3s
	// 5 cluster.backends=8 nfs.client.acregmin=1m
}
