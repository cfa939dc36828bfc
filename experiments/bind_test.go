package experiments

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mailsim/mailsim/model"
)

// TestEveryModelFieldBound checks that every field of model.Config is set
// by exactly one spec key's bind tag, or by the code in Spec.Model, so that
// the spec and the model cannot drift apart: a field added to the model
// without a key fails here.
func TestEveryModelFieldBound(t *testing.T) {
	byCode := map[string]bool{"LMTPToAnyBackend": true, "Faults": true}
	// LOGIN, LIST, IDLE, LOGOUT and deliveries are not commands of the
	// mix: their weights stay 0.
	for _, c := range []string{"Login", "List", "Idle", "Logout", "Deliver"} {
		byCode[numericBind(t, "Profile.Mix["+c+"]")] = true
	}
	s, err := schemaFor(reflect.TypeFor[Spec]())
	if err != nil {
		t.Fatal(err)
	}
	bound := map[string][]string{} // model path with numeric indexes → keys
	var walk func(s *schema, path string)
	walk = func(s *schema, path string) {
		for _, f := range s.fields {
			key := joinKey(path, f.name)
			if f.kind == kTable {
				walk(f.sub, key)
				continue
			}
			if f.bind != "" {
				p := numericBind(t, f.bind)
				bound[p] = append(bound[p], key)
			}
		}
	}
	walk(s, "")
	var leaves []string
	modelLeaves(reflect.TypeFor[model.Config](), "", &leaves)
	for _, l := range leaves {
		if strings.HasPrefix(l, "Imaptest.") || l == "Actions" || l == "Population.UserTemplate" || l == "Population.FirstUser" {
			byCode[l] = true // translated by Spec.imaptest and Spec.action
		}
		switch keys := bound[l]; {
		case byCode[l]:
			if len(keys) > 0 {
				t.Errorf("model field %s is set by Spec.Model and bound to %v", l, keys)
			}
		case len(keys) == 0:
			t.Errorf("model field %s is set by no spec key", l)
		case len(keys) > 1:
			t.Errorf("model field %s is bound to several keys: %v", l, keys)
		}
		delete(bound, l)
	}
	for p, keys := range bound {
		t.Errorf("keys %v are bound to %s, which is not a model field", keys, p)
	}
}

// numericBind writes a bind path's array elements by number.
func numericBind(t *testing.T, path string) string {
	parts := strings.Split(path, ".")
	for i, part := range parts {
		if name, idx, ok := strings.Cut(part, "["); ok {
			n, known := bindIndex[strings.TrimSuffix(idx, "]")]
			if !known {
				t.Errorf("bind path %s: unknown element %s", path, idx)
			}
			parts[i] = fmt.Sprintf("%s[%d]", name, n)
		}
	}
	return strings.Join(parts, ".")
}

// modelLeaves lists the paths of the scalar fields of struct type t, array
// elements by number; slices of structs are leaves.
func modelLeaves(t reflect.Type, path string, out *[]string) {
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		p := joinBind(path, sf.Name)
		switch ft := sf.Type; {
		case ft.Kind() == reflect.Struct && ft.NumField() > 0 && ft.PkgPath() != "time":
			modelLeaves(ft, p, out)
		case ft.Kind() == reflect.Array:
			for j := 0; j < ft.Len(); j++ {
				*out = append(*out, fmt.Sprintf("%s[%d]", p, j))
			}
		default:
			*out = append(*out, p)
		}
	}
	sort.Strings(*out)
}

type boundConfig struct {
	A int
	D time.Duration
	L []float64
}

type boundSpec struct {
	A int           `toml:"a" bind:"A" min:"0" doc:"a"`
	D time.Duration `toml:"d" bind:"D" doc:"d"`
	L []float64     `toml:"l" bind:"L" doc:"l"`
	S int           `toml:"s" default:"7" doc:"s"`
}

func (boundSpec) boundDefaults() any {
	return boundConfig{A: 3, D: time.Minute}
}

type badBindSpec struct {
	A int `toml:"a" bind:"B" doc:"a"`
}

func (badBindSpec) boundDefaults() any { return boundConfig{} }

type outOfRangeBindSpec struct {
	A int `toml:"a" bind:"A" min:"5" doc:"a"`
}

func (outOfRangeBindSpec) boundDefaults() any { return boundConfig{A: 3} }

type unboundDefaultsSpec struct {
	A int `toml:"a" bind:"A" doc:"a"`
}

// TestBoundDefaults checks that bound keys without a default tag take the
// bound field's value, and that mistakes are reported like tag mistakes.
func TestBoundDefaults(t *testing.T) {
	v, err := Defaults[boundSpec]()
	if err != nil {
		t.Fatal(err)
	}
	if v.A != 3 || v.D != time.Minute || v.L == nil || len(v.L) != 0 || v.S != 7 {
		t.Errorf("defaults %+v", v)
	}
	for _, tc := range []struct {
		err  error
		want string
	}{
		{schemaErr[badBindSpec](), `experiments: badBindSpec.a: bind path "B" names no field of experiments.boundConfig`},
		{schemaErr[outOfRangeBindSpec](), `experiments: outOfRangeBindSpec.a: default from A: 3 is below the minimum 5`},
		{schemaErr[unboundDefaultsSpec](), `experiments: unboundDefaultsSpec.a: no default tag`},
	} {
		if tc.err == nil || tc.err.Error() != tc.want {
			t.Errorf("error %v, want %s", tc.err, tc.want)
		}
	}
}
