package experiments

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mailsim/mailsim/model/sim"
)

// TestDecodeErrors checks the exact message of every class of spec error.
func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{
			name: "syntax error",
			in:   "[cluster]\nbackends = = 4\n",
			want: []string{`exp.toml:2:12: unexpected character U+003D '=' at start of value`},
		},
		{
			name: "key defined twice",
			in:   "[cluster]\nbackends = 2\nbackends = 3\n",
			want: []string{`exp.toml:3:1: key backends is already defined`},
		},
		{
			name: "unknown key near a valid one",
			in:   "[cluster]\nbackens = 4\n",
			want: []string{`exp.toml:2:1: unknown key "backens"; did you mean "backends"? (key cluster.backens)`},
		},
		{
			name: "unknown key far from any",
			in:   "[nfs.client]\nactimeo = \"3s\"\n",
			want: []string{`exp.toml:2:1: unknown key "actimeo"; valid keys are acregmin, acregmax, lookupcache (key nfs.client.actimeo)`},
		},
		{
			name: "removed key",
			in:   "[nfs]\nindex_corruption_probability = 0.05\n",
			want: []string{`exp.toml:2:1: nfs.index_corruption_probability was removed: index damage now follows from Dovecot's and the NFS client's mechanisms under the nfs.client.* and dovecot.* keys (see the dovecot.errors.* metrics), with no probability to set (key nfs.index_corruption_probability)`},
		},
		{
			name: "unknown section",
			in:   "[clutser]\nbackends = 4\n",
			want: []string{`exp.toml:1:2: unknown key "clutser"; did you mean "cluster"? (key clutser)`},
		},
		{
			name: "unknown key in a sub-table header",
			in:   "[nfs.clinet]\n",
			want: []string{`exp.toml:1:6: unknown key "clinet"; did you mean "client"? (key nfs.clinet)`},
		},
		{
			name: "unknown key in an array of tables",
			in:   "[[faults]]\nbackend = 0\n[[faults]]\nbakend = 1\n",
			want: []string{`exp.toml:4:1: unknown key "bakend"; did you mean "backend"? (key faults[1].bakend)`},
		},
		{
			name: "string for an integer",
			in:   "[cluster]\nusers = \"many\"\n",
			want: []string{`exp.toml:2:9: expected an integer, found a string (key cluster.users)`},
		},
		{
			name: "float for an integer",
			in:   "[cluster]\nusers = 1.5\n",
			want: []string{`exp.toml:2:9: expected an integer, found a float (key cluster.users)`},
		},
		{
			name: "scalar for a section",
			in:   "cluster = 4\n",
			want: []string{`exp.toml:1:11: expected a table, found an integer (key cluster)`},
		},
		{
			name: "scalar for a list",
			in:   "strategies = \"director\"\n",
			want: []string{`exp.toml:1:14: expected an array, found a string (key strategies)`},
		},
		{
			name: "table for an array of tables",
			in:   "[faults]\nbackend = 1\n",
			want: []string{`exp.toml:1:2: expected an array of tables, found a table (key faults)`},
		},
		{
			name: "string for a boolean",
			in:   "[workload]\nbulk_delivery = \"yes\"\n",
			want: []string{`exp.toml:2:17: expected a boolean, found a string (key workload.bulk_delivery)`},
		},
		{
			name: "scalar for a map",
			in:   "[workload]\nmix = 0.5\n",
			want: []string{`exp.toml:2:7: expected a table, found a float (key workload.mix)`},
		},
		{
			name: "map value of the wrong type and out of range",
			in:   "[workload.mix]\nselect = \"most\"\nfetch = 1.5\n",
			want: []string{
				`exp.toml:2:10: expected a number, found a string (key workload.mix.select)`,
				`exp.toml:3:9: 1.5 is above the maximum 1 (key workload.mix.fetch)`,
			},
		},
		{
			name: "zero backends",
			in:   "[cluster]\nbackends = 0\n",
			want: []string{`exp.toml:2:12: 0 is below the minimum 1 (key cluster.backends)`},
		},
		{
			name: "too many backends",
			in:   "[cluster]\nbackends = 2000\n",
			want: []string{`exp.toml:2:12: 2000 is above the maximum 1024 (key cluster.backends)`},
		},
		{
			name: "negative rate",
			in:   "[workload]\nlogin_rate = -2.5\n",
			want: []string{`exp.toml:2:14: -2.5 is not greater than 0 (key workload.login_rate)`},
		},
		{
			name: "infinite rate",
			in:   "[workload]\nlogin_rate = inf\n",
			want: []string{`exp.toml:2:14: inf is not a finite number (key workload.login_rate)`},
		},
		{
			name: "list element out of range",
			in:   "[workload]\nweights = [0.5, 2]\n",
			want: []string{`exp.toml:2:17: 2 is above the maximum 1 (key workload.weights[1])`},
		},
		{
			name: "unsigned integer negative",
			in:   "[run]\nseed = -1\n",
			want: []string{`exp.toml:2:8: -1 is below the minimum 0 (key run.seed)`},
		},
		{
			name: "integer overflows its type",
			in:   "[run]\nworkers = 300\n",
			want: []string{`exp.toml:2:11: 300 does not fit in uint8 (key run.workers)`},
		},
		{
			name: "bad enum value, near a valid one",
			in:   "[nfs.client]\nlookupcache = \"nonee\"\n",
			want: []string{`exp.toml:2:15: "nonee" is not one of "all", "positive", "none"; did you mean "none"? (key nfs.client.lookupcache)`},
		},
		{
			name: "bad enum value in a list",
			in:   "strategies = [\"director\", \"round-robin\"]\n",
			want: []string{`exp.toml:1:27: "round-robin" is not one of "random", "per-ip", "director", "owner-proxy" (key strategies[1])`},
		},
		{
			name: "bad enum value of a text type",
			in:   "[director]\nmail_fsync = \"sometimes\"\n",
			want: []string{`exp.toml:2:14: "sometimes" is not one of "optimized", "always", "never" (key director.mail_fsync)`},
		},
		{
			name: "bad duration",
			in:   "[director]\ndirector_user_expire = \"15 min\"\n",
			want: []string{`exp.toml:2:24: bad duration "15 min": want a number and a unit (ns, us, ms, s, m, h) such as "90s", "15m" or "1h30m" (key director.director_user_expire)`},
		},
		{
			name: "number for a duration",
			in:   "[workload]\nthink_time = 30\n",
			want: []string{`exp.toml:2:14: expected a duration string such as "90s" or "15m", found an integer; write "30s" for seconds (key workload.think_time)`},
		},
		{
			name: "duration below its minimum",
			in:   "[director]\ndirector_user_expire = \"5s\"\n",
			want: []string{`exp.toml:2:24: 5s is below the minimum 10s (key director.director_user_expire)`},
		},
		{
			name: "negative duration",
			in:   "[nfs.client]\nacregmin = \"-1s\"\n",
			want: []string{`exp.toml:2:12: -1s is below the minimum 0s (key nfs.client.acregmin)`},
		},
		{
			name: "cross-field: fault on a backend that does not exist",
			in:   "[cluster]\nbackends = 2\n\n[[faults]]\nat = \"1m\"\nbackend = 2\n",
			want: []string{`exp.toml:6:11: backend 2 does not exist (cluster.backends = 2) (key faults[0].backend)`},
		},
		{
			name: "cross-field: a section's own check",
			in:   "[nfs.client]\nacregmin = \"90s\"\n",
			want: []string{`exp.toml:2:12: acregmin 1m30s is above acregmax 1m0s (key nfs.client.acregmin)`},
		},
		{
			name: "cross-field: a whole section",
			in:   "[nfs]\nclient = {acregmin = \"0s\", acregmax = \"0s\", lookupcache = \"none\"}\n",
			want: []string{`exp.toml:2:1: no caching at all: use the noac model instead (key nfs.client)`},
		},
		{
			name: "cross-field: key at its default is placed at its table",
			in:   "[[faults]]\nkind = \"slow\"\n[cluster]\nbackends = 1\n[[faults]]\nbackend = 7\n",
			want: []string{`exp.toml:6:11: backend 7 does not exist (cluster.backends = 1) (key faults[1].backend)`},
		},
		{
			name: "cross-field: nothing in the file to point at",
			in:   "[nfs.client]\nacregmax = \"1s\"\n",
			want: []string{`exp.toml:1:6: acregmin 3s is above acregmax 1s (key nfs.client.acregmin)`},
		},
		{
			name: "sweep: removed parameter",
			in:   "[sweep]\n\"nfs.index_corruption_probability\" = [0.01, 0.05]\n",
			want: []string{`exp.toml:2:1: nfs.index_corruption_probability was removed: index damage now follows from Dovecot's and the NFS client's mechanisms under the nfs.client.* and dovecot.* keys (see the dovecot.errors.* metrics), with no probability to set (key sweep."nfs.index_corruption_probability")`},
		},
		{
			name: "sweep: unknown parameter",
			in:   "[sweep]\n\"cluster.backens\" = [1, 2]\n",
			want: []string{`exp.toml:2:1: unknown parameter "cluster.backens"; did you mean "cluster.backends"? (key sweep."cluster.backens")`},
		},
		{
			name: "sweep: a section",
			in:   "[sweep]\nnfs = [1]\n",
			want: []string{`exp.toml:2:1: "nfs" is a section; sweep its keys (key sweep.nfs)`},
		},
		{
			name: "sweep: through a key that is not a section",
			in:   "[sweep]\n\"cluster.users.x\" = [1]\n",
			want: []string{`exp.toml:2:1: "cluster.users" is not a section (key sweep."cluster.users.x")`},
		},
		{
			name: "sweep: not a list",
			in:   "[sweep]\n\"cluster.backends\" = 4\n",
			want: []string{`exp.toml:2:22: expected an array of values to sweep, found an integer (key sweep."cluster.backends")`},
		},
		{
			name: "sweep: empty list",
			in:   "[sweep]\n\"cluster.backends\" = []\n",
			want: []string{`exp.toml:2:22: no values to sweep (key sweep."cluster.backends")`},
		},
		{
			name: "sweep: swept twice",
			in:   "[sweep]\n\"cluster.backends\" = [1]\ncluster.backends = [2]\n",
			want: []string{`exp.toml:3:9: parameter "cluster.backends" is swept twice (key sweep.cluster.backends)`},
		},
		{
			name: "sweep: bad values",
			in:   "[sweep]\n\"cluster.backends\" = [2, 0, \"x\"]\n\"nfs.client.acregmin\" = [\"1s\", \"1 s\"]\n",
			want: []string{
				`exp.toml:2:26: 0 is below the minimum 1 (key sweep."cluster.backends"[1])`,
				`exp.toml:2:29: expected an integer, found a string (key sweep."cluster.backends"[2])`,
				`exp.toml:3:32: bad duration "1 s": want a number and a unit (ns, us, ms, s, m, h) such as "90s", "15m" or "1h30m" (key sweep."nfs.client.acregmin"[1])`,
			},
		},
		{
			name: "sweep: a point fails a cross-field check",
			in:   "[[faults]]\nbackend = 3\n[sweep]\n\"cluster.backends\" = [2, 4, 8]\n\"nfs.client.lookupcache\" = [\"all\", \"none\"]\n",
			want: []string{`exp.toml:2:11: backend 3 does not exist (cluster.backends = 2) at sweep point cluster.backends=2 nfs.client.lookupcache=all, and at 1 other point (key faults[0].backend)`},
		},
		{
			name: "sweep: a swept value fails a cross-field check",
			in:   "[sweep]\n\"nfs.client.acregmin\" = [\"1s\", \"2m\"]\n",
			want: []string{`exp.toml:2:32: acregmin 2m0s is above acregmax 1m0s at sweep point nfs.client.acregmin=2m (key nfs.client.acregmin)`},
		},
		{
			name: "every error at once, in file order",
			in: `name = 7
[cluster]
backens = 4
users = 0
[nfs.client]
lookupcache = "some"
[[faults]]
kind = "melt"
at = "soon"
[run]
replicas = -1
[sweep]
"run.seeds" = [1, 2]
`,
			want: []string{
				`exp.toml:1:8: expected a string, found an integer (key name)`,
				`exp.toml:3:1: unknown key "backens"; did you mean "backends"? (key cluster.backens)`,
				`exp.toml:4:9: 0 is below the minimum 1 (key cluster.users)`,
				`exp.toml:6:15: "some" is not one of "all", "positive", "none"; did you mean "none"? (key nfs.client.lookupcache)`,
				`exp.toml:8:8: "melt" is not one of "crash", "slow", "partition" (key faults[0].kind)`,
				`exp.toml:9:6: bad duration "soon": want a number and a unit (ns, us, ms, s, m, h) such as "90s", "15m" or "1h30m" (key faults[0].at)`,
				`exp.toml:11:12: -1 is below the minimum 1 (key run.replicas)`,
				`exp.toml:13:1: unknown parameter "run.seeds"; did you mean "run.seed"? (key sweep."run.seeds")`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := Decode[testSpec]("exp.toml", []byte(tt.in))
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("Decode error = %v (%T), want Errors", err, err)
			}
			got := strings.Split(errs.Error(), "\n")
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if !reflect.DeepEqual(v, testSpec{}) {
				t.Errorf("an invalid spec decoded to a non-zero value: %+v", v)
			}
		})
	}
}

// TestDecodeValues decodes a spec that sets a key of every kind.
func TestDecodeValues(t *testing.T) {
	in := `name = "big"
strategies = ["director", "owner-proxy"]

[cluster]
backends = 0x10  # hexadecimal is TOML too
users = 1_000_000

[nfs.client]
acregmin = "0s"
lookupcache = "positive"

[director]
director_user_expire = "30s"
mail_fsync = "never"

[workload]
login_rate = 120  # an integer is a fine number
think_time = "1m30s"
weights = []
bulk_delivery = true
mix = {fetch = 1, "uid fetch" = 0.25}

[[faults]]
at = "2m"
backend = 15
kind = "partition"

[[faults]]
at = "5m"

[run]
seed = 42
duration = "1h"
workers = 2

[sweep]
"nfs.client.acregmax" = ["3s", "60s"]
cluster.users = [100, 200]
`
	got, err := Decode[testSpec]("exp.toml", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want, err := Defaults[testSpec]()
	if err != nil {
		t.Fatal(err)
	}
	want.Name = "big"
	want.Strategies = []string{"director", "owner-proxy"}
	want.Cluster = testCluster{Backends: 16, Users: 1000000}
	want.NFS.Client.Acregmin = 0
	want.NFS.Client.Lookupcache = "positive"
	want.Director = testDirector{UserExpire: 30 * time.Second, Fsync: 2}
	want.Workload = testWorkload{LoginRate: 120, Think: 90 * sim.Second, Weights: []float64{}, Bulk: true,
		Mix: map[string]float64{"fetch": 1, "uid fetch": 0.25}}
	want.Faults = []testFault{{At: 2 * time.Minute, Backend: 15, Kind: "partition"}, {At: 5 * time.Minute, Kind: "crash"}}
	want.Run = testRun{Seed: 42, Replicas: 3, Duration: sim.Hour, Workers: 2}
	want.Sweep = Sweep{Axes: []Axis{
		{Path: "nfs.client.acregmax", Values: []any{3 * time.Second, 60 * time.Second}, Labels: []string{"3s", "1m"}},
		{Path: "cluster.users", Values: []any{100, 200}, Labels: []string{"100", "200"}},
	}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decoded\n%+v\nwant\n%+v", got, want)
	}
}

func TestDecodeEmptyIsDefaults(t *testing.T) {
	got, err := Decode[testSpec]("empty.toml", nil)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := Defaults[testSpec]()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("empty file decoded to\n%+v\nwant the defaults\n%+v", got, want)
	}
	if want.Cluster.Backends != 4 || want.Director.UserExpire != 15*time.Minute || len(want.Strategies) != 4 {
		t.Errorf("defaults not taken from the tags: %+v", want)
	}
}

// TestDefaultsNotShared checks that decoded values do not share the default
// lists, so that changing one spec cannot change another.
func TestDefaultsNotShared(t *testing.T) {
	a, _ := Defaults[testSpec]()
	a.Strategies[0] = "changed"
	b, _ := Defaults[testSpec]()
	if b.Strategies[0] != "random" {
		t.Errorf("changing one spec's default list changed another's: %q", b.Strategies[0])
	}
}

func TestSchemaErrors(t *testing.T) {
	type noTag struct {
		A int `default:"1" doc:"a"`
	}
	type noDoc struct {
		A int `toml:"a" default:"1"`
	}
	type noDefault struct {
		A int `toml:"a" doc:"a"`
	}
	type badDefault struct {
		A int `toml:"a" default:"0" min:"1" doc:"a"`
	}
	type badBound struct {
		A time.Duration `toml:"a" default:"1s" min:"1" doc:"a"`
	}
	type enumOnInt struct {
		A int `toml:"a" default:"1" enum:"1|2" doc:"a"`
	}
	type dup struct {
		A int `toml:"a" default:"1" doc:"a"`
		B int `toml:"a" default:"1" doc:"b"`
	}
	type unsupported struct {
		M map[int]int `toml:"m" doc:"m"`
	}
	type sectionDefault struct {
		S struct {
			A int `toml:"a" default:"1" doc:"a"`
		} `toml:"s" default:"x" doc:"s"`
	}
	type nestedSweep struct {
		S struct {
			W Sweep `toml:"sweep" doc:"w"`
		} `toml:"s" doc:"s"`
	}
	type twoSweeps struct {
		A Sweep `toml:"a" doc:"a"`
		B Sweep `toml:"b" doc:"b"`
	}
	type inner struct {
		A int `toml:"a" default:"1" min:"0" doc:"a"`
	}
	type overrideUnknown struct {
		S inner `toml:"s" defaults:"b=2" doc:"s"`
	}
	type overrideOutOfRange struct {
		S inner `toml:"s" defaults:"a=-1" doc:"s"`
	}
	type overrideOnKey struct {
		A int `toml:"a" default:"1" defaults:"a=2" doc:"a"`
	}
	type emptyNoSweep struct {
		A int `toml:"a" default:"1" nosweep:"" doc:"a"`
	}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"two sweeps", schemaErr[twoSweeps](), `experiments: twoSweeps: more than one Sweep field`},
		{"sweep below the root", schemaErr[nestedSweep](), `experiments: nestedSweep.S.W: a sweep must be a key of the root struct`},
		{"no toml tag", schemaErr[noTag](), `experiments: noTag.A: no toml tag`},
		{"no doc", schemaErr[noDoc](), `experiments: noDoc.A: no doc tag`},
		{"no default", schemaErr[noDefault](), `experiments: noDefault.A: no default tag`},
		{"default out of range", schemaErr[badDefault](), `experiments: badDefault.A: default "0": 0 is below the minimum 1`},
		{"bad bound", schemaErr[badBound](), `experiments: badBound.A: min tag: time: missing unit in duration "1"`},
		{"enum on an integer", schemaErr[enumOnInt](), `experiments: enumOnInt.A: enum tag on a non-string key`},
		{"key used twice", schemaErr[dup](), `experiments: dup.B: key "a" used twice`},
		{"unsupported type", schemaErr[unsupported](), `experiments: unsupported.M: unsupported type map[int]int`},
		{"default on a section", schemaErr[sectionDefault](), `experiments: sectionDefault.S: default tag on a section`},
		{"not a struct", schemaErr[int](), `experiments: spec type int is not a struct`},
		{"override of an unknown key", schemaErr[overrideUnknown](), `experiments: overrideUnknown.S: defaults tag: no key "b" in the section`},
		{"override out of range", schemaErr[overrideOutOfRange](), `experiments: overrideOutOfRange.S: defaults tag: a="-1": -1 is below the minimum 0`},
		{"defaults on a key", schemaErr[overrideOnKey](), `experiments: overrideOnKey.A: defaults tag on a key that is not a section`},
		{"empty nosweep", schemaErr[emptyNoSweep](), `experiments: emptyNoSweep.A: empty nosweep tag; say why the key cannot be swept`},
	}
	for _, tt := range tests {
		if tt.err == nil || tt.err.Error() != tt.want {
			t.Errorf("%s: error %v, want %s", tt.name, tt.err, tt.want)
		}
	}
}

// schemaErr returns the error that Decode, Defaults and DefaultsTOML all
// give for a type with bad tags.
func schemaErr[T any]() error {
	_, err1 := Decode[T]("x.toml", nil)
	_, err2 := Defaults[T]()
	_, err3 := DefaultsTOML[T]()
	if err1 == nil || err2 == nil || err3 == nil || err1.Error() != err2.Error() || err2.Error() != err3.Error() {
		return errors.New("inconsistent schema errors")
	}
	return err1
}

func TestSplitPath(t *testing.T) {
	tests := []struct {
		in   string
		want []pathStep
		ok   bool
	}{
		{"a", []pathStep{{"a", -1}}, true},
		{"a.b[2].c", []pathStep{{"a", -1}, {"b", 2}, {"c", -1}}, true},
		{`sweep."cluster.backends"[1]`, []pathStep{{"sweep", -1}, {"cluster.backends", 1}}, true},
		{"a..b", nil, false},
		{"a.", nil, false},
		{"a[x]", nil, false},
		{"a[1", nil, false},
		{`"a`, nil, false},
		{"a[1]b", nil, false},
	}
	for _, tt := range tests {
		got, ok := splitPath(tt.in)
		if ok != tt.ok || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("splitPath(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestCheckFiles(t *testing.T) {
	dir := t.TempDir()
	good := dir + "/good.toml"
	bad := dir + "/bad.toml"
	writeFile(t, good, "[cluster]\nbackends = 8\n")
	writeFile(t, bad, "[cluster]\nbackends = 0\n")
	if err := Check[testSpec](good); err != nil {
		t.Errorf("Check(good) = %v", err)
	}
	err := Check[testSpec](good, bad, dir+"/missing.toml")
	want := bad + ":2:12: 0 is below the minimum 1 (key cluster.backends)\n" +
		dir + "/missing.toml: cannot read: no such file or directory"
	if err == nil || err.Error() != want {
		t.Errorf("Check = %v\nwant %s", err, want)
	}
}

// TestDecodeInlineTables checks that inline tables mean the same as table
// headers, and that errors inside them are placed exactly.
func TestDecodeInlineTables(t *testing.T) {
	headers := "[cluster]\nbackends = 3\n[[faults]]\nat = \"1s\"\n[[faults]]\nkind = \"slow\"\n"
	inline := "cluster = {backends = 3}\nfaults = [{at = \"1s\"}, {kind = \"slow\"}]\n"
	a, err := Decode[testSpec]("a.toml", []byte(headers))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Decode[testSpec]("b.toml", []byte(inline))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Errorf("inline tables decode to\n%+v\nheaders to\n%+v", b, a)
	}
	_, err = Decode[testSpec]("c.toml", []byte("faults = [{at = \"1s\"}, {kidn = \"slow\"}, 3]\n"))
	want := "c.toml:1:25: unknown key \"kidn\"; did you mean \"kind\"? (key faults[1].kidn)\n" +
		"c.toml:1:41: expected a table, found an integer (key faults[2])"
	if err == nil || err.Error() != want {
		t.Errorf("error = %v\nwant %s", err, want)
	}
}
