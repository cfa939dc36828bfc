package experiments

import (
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
