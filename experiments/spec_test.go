package experiments

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/mailsim/mailsim/model"
	"github.com/mailsim/mailsim/strategies"
)

// The spec's bound keys take the model's defaults; this checks that the
// keys translated in Spec.Model (lmtp_routing, actimeo, faults) agree too.
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

// The spec's defaults for the director are Dovecot's, which the strategies
// package also fills in for parameters left zero; they must agree.
func TestSpecDefaultsMatchStrategyDefaults(t *testing.T) {
	s, err := Defaults[Spec]()
	if err != nil {
		t.Fatal(err)
	}
	d := strategies.DefaultParams().Director
	p := s.RouterParams().Director
	if p.UserExpire != d.UserExpire || p.LoginProxyMaxReconnects != d.LoginProxyMaxReconnects || p.LoginProxyReconnectInterval != d.LoginProxyReconnectInterval {
		t.Errorf("spec director defaults %+v, strategies' %+v", p, d)
	}
	if s.Dovecot.VhostCount != strategies.DefaultVhostCount {
		t.Errorf("spec vhost_count %d, strategies' %d", s.Dovecot.VhostCount, strategies.DefaultVhostCount)
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

// TestEveryKeyReachesTheModel changes each key of the spec in turn and
// checks that the model's configuration changes with it, so that no key is
// decoded and then silently ignored. Keys that other parts consume (the
// router, the monitor, the run plan, file loading) are listed.
func TestEveryKeyReachesTheModel(t *testing.T) {
	elsewhere := map[string]bool{
		"name": true, "description": true, "seed": true, "strategies": true, "replicas": true, "sweep": true, "plan": true,
		"health.monitor": true, "health.owner_failover": true, // the monitor and the router
		"dovecot.director_user_expire": true, "dovecot.vhost_count": true, // the router
		"clients.login_proxy_reconnect_interval": false,                        // the model's clients, and the router
		"nfs.profile":                            true, "workload.trace": true, // loaded from files by Execute
		"cluster.backend_addresses":        true,                                              // the router, and actions' hosts
		"dovecot.director_user_kick_delay": true, "dovecot.director_max_parallel_moves": true, // the router
		"dovecot.directors": true, "dovecot.director_ring_sync_delay": true, // the router
		"actions":            true, // an empty action is refused; TestLoadTestKeys
		"dovecot.passdb_map": true, // the router, read from a file
	}
	base, err := Defaults[Spec]()
	if err != nil {
		t.Fatal(err)
	}
	want := base.Model()
	var walk func(v reflect.Value, path string)
	walk = func(v reflect.Value, path string) {
		for i := 0; i < v.NumField(); i++ {
			f := v.Type().Field(i)
			key := strings.Split(f.Tag.Get("toml"), ",")[0]
			if key == "" || key == "-" {
				continue
			}
			p := key
			if path != "" {
				p = path + "." + key
			}
			if elsewhere[p] {
				continue
			}
			fv := v.Field(i)
			if fv.Kind() == reflect.Struct && f.Type != reflect.TypeOf(Sweep{}) {
				walk(fv, p)
				continue
			}
			old := reflect.New(fv.Type()).Elem()
			old.Set(fv)
			switch fv.Kind() {
			case reflect.Bool:
				fv.SetBool(!fv.Bool())
			case reflect.Int, reflect.Int64:
				fv.SetInt(fv.Int() + 1_000_000_007)
			case reflect.Uint64:
				fv.SetUint(fv.Uint() + 1)
			case reflect.Float64:
				fv.SetFloat(fv.Float()*1.5 + 0.25)
			case reflect.String:
				switch p {
				case "nfs.client.actimeo":
					fv.SetString("7s")
				case "cluster.lmtp_routing":
					fv.SetString("balancer")
				case "workload.imaptest.on_login_failure":
					fv.SetString("new-user")
				default:
					fv.SetString(fv.String() + "x")
				}
			case reflect.Slice:
				if fv.Type().Elem().Kind() == reflect.Float64 {
					fv.Set(reflect.ValueOf(make([]float64, 24)))
				} else {
					fv.Set(reflect.Append(fv, reflect.New(fv.Type().Elem()).Elem()))
				}
			default:
				t.Errorf("%s: no way to change a %v", p, fv.Kind())
				return
			}
			if got := base.Model(); reflect.DeepEqual(got, want) {
				t.Errorf("changing %s does not change the model's configuration", p)
			}
			fv.Set(old)
		}
	}
	walk(reflect.ValueOf(&base).Elem(), "")
}
