package experiments

import (
	"errors"
	"os"
	"reflect"
	"testing"
)

// FuzzDecode feeds the decoder arbitrary documents. It must never panic; a
// spec it accepts must print and decode back to itself; a spec it rejects
// must come with positioned messages.
func FuzzDecode(f *testing.F) {
	defaults, err := DefaultsTOML[testSpec]()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(defaults))
	if b, err := os.ReadFile("testdata/encoded.toml"); err == nil {
		f.Add(string(b))
	}
	for _, s := range []string{
		"",
		"[cluster]\nbackends = 0\n",
		"[[faults]]\nbackend = 9\n[sweep]\n\"cluster.backends\" = [2, 16]\n",
		"[nfs.client]\nacregmin = \"1h\"\nlookupcache = \"none\"\n",
		"strategies = [\"director\"]\n[workload]\nweights = [1e300, -0.0]\n",
		"cluster = {backends = 3, users = 7}\nfaults = [{at = \"1s\"}, {kind = \"slow\"}]\n",
		"[sweep]\nnfs.client.lookupcache = [\"all\"]\n\"faults\" = [[{backend = 1}]]\n",
		"a.b.c = 1\n[a]\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		spec, err := Decode[testSpec]("fuzz.toml", []byte(in))
		if err != nil {
			var errs Errors
			if !errors.As(err, &errs) || len(errs) == 0 {
				t.Fatalf("error %v (%T) is not a non-empty Errors", err, err)
			}
			for _, e := range errs {
				if e.Msg == "" || e.File != "fuzz.toml" || e.Pos.Line < 0 || e.Pos.Col < 0 {
					t.Fatalf("malformed error %#v", e)
				}
			}
			return
		}
		out, err := EncodeTOML(spec)
		if err != nil {
			t.Fatal(err)
		}
		back, err := Decode[testSpec]("out.toml", out)
		if err != nil {
			t.Fatalf("accepted spec prints as an invalid one: %v\n%s", err, out)
		}
		if !reflect.DeepEqual(back, spec) {
			t.Fatalf("print and decode changed the spec:\n%+v\nwant\n%+v\n%s", back, spec, out)
		}
	})
}
