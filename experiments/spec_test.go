package experiments

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"mailsim/model"
)

// The spec's default tags and the model's Default functions describe the
// same defaults; this keeps them from drifting apart.
func TestSpecDefaultsMatchModelDefaults(t *testing.T) {
	s, err := Defaults[Spec]()
	if err != nil {
		t.Fatal(err)
	}
	got, want := s.Model(), model.DefaultConfig()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("spec defaults and model defaults differ:\n spec: %+v\nmodel: %+v", got, want)
	}
}

func TestEmbeddedDefaultDecodes(t *testing.T) {
	s, err := DefaultSpec()
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "default" || len(s.Strategies) != 4 || !strings.Contains(s.Description, "routing strategy") {
		t.Fatalf("embedded default decoded to %+v", s)
	}
}

func TestActimeoSetsAllFour(t *testing.T) {
	s, err := Decode[Spec]("t.toml", []byte("[nfs.client]\nactimeo = \"0s\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	m := s.Model().Mount
	if m.Acregmin != 0 || m.Acregmax != 0 || m.Acdirmin != 0 || m.Acdirmax != 0 {
		t.Fatalf("actimeo=0 left %+v", m)
	}
	_, err = Decode[Spec]("t.toml", []byte("[nfs.client]\nactimeo = \"soon\"\n"))
	if err == nil || !strings.Contains(err.Error(), "t.toml:2:") || !strings.Contains(err.Error(), "nfs.client.actimeo") {
		t.Fatalf("bad actimeo gave %v", err)
	}
}

func TestProfileIsLoadedAndNamed(t *testing.T) {
	e, err := Load("calibrated.toml", mustRead(t, "calibrated.toml"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := e.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"profiles/ext4-local-disk.toml (ext4", "profiles/tmpfs.toml (tmpfs"} {
		if !strings.Contains(m.Description, p) {
			t.Errorf("manifest description does not name profile %q:\n%s", p, m.Description)
		}
	}
	prof, err := e.Runs[len(e.Runs)-1].Spec.LoadProfile(e.Dir)
	if err != nil || prof == nil || prof.Meta.FSType != "tmpfs" {
		t.Fatalf("last sweep point's profile: %+v, %v", prof, err)
	}
	_, err = Load("x.toml", []byte("[nfs]\nprofile = \"no-such-profile.toml\"\n"))
	if err == nil || !strings.Contains(err.Error(), "nfs.profile") {
		t.Fatalf("a missing profile gave %v", err)
	}
}

func mustRead(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
