package probe

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseOptions(t *testing.T) {
	def := DefaultOptions()
	with := func(f func(o *Options)) Options {
		o := DefaultOptions()
		f(&o)
		return o
	}
	tests := []struct {
		in   string
		want Options
	}{
		{"", def},
		{"vers=3", with(func(o *Options) { o.Extra = []string{"vers=3"} })},
		{"vers=3,acregmin=3,acregmax=60", with(func(o *Options) { o.Extra = []string{"vers=3"} })},
		{"acregmin=1,acregmax=2", with(func(o *Options) { o.Acregmin, o.Acregmax = time.Second, 2*time.Second })},
		{"acdirmin=1, acdirmax=4", with(func(o *Options) { o.Acdirmin, o.Acdirmax = time.Second, 4*time.Second })},
		{"actimeo=0", with(func(o *Options) { o.Acregmin, o.Acregmax, o.Acdirmin, o.Acdirmax = 0, 0, 0, 0 })},
		{"actimeo=5,acregmax=9", with(func(o *Options) {
			o.Acregmin, o.Acregmax, o.Acdirmin, o.Acdirmax = 5*time.Second, 9*time.Second, 5*time.Second, 5*time.Second
		})},
		{"acregmax=9,actimeo=5", with(func(o *Options) {
			o.Acregmin, o.Acregmax, o.Acdirmin, o.Acdirmax = 5*time.Second, 5*time.Second, 5*time.Second, 5*time.Second
		})},
		{"noac", with(func(o *Options) { o.Noac = true })},
		{"noac,ac", def},
		{"nocto", with(func(o *Options) { o.Nocto = true })},
		{"nocto,cto", def},
		{"nolock", with(func(o *Options) { o.LocalLock = true })},
		{"local_lock=all", with(func(o *Options) { o.LocalLock = true })},
		{"local_lock=posix", with(func(o *Options) { o.LocalLock = true })},
		{"local_lock=flock", def},
		{"nolock,lock", def},
		{"lookupcache=positive", with(func(o *Options) { o.Lookupcache = "pos" })},
		{"lookupcache=pos", with(func(o *Options) { o.Lookupcache = "pos" })},
		{"lookupcache=none", with(func(o *Options) { o.Lookupcache = "none" })},
		{"proto=tcp,nosharecache,hard", with(func(o *Options) { o.Extra = []string{"proto=tcp", "nosharecache", "hard"} })},
	}
	for _, tc := range tests {
		got, err := ParseOptions(tc.in)
		if err != nil {
			t.Errorf("ParseOptions(%q): %v", tc.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseOptions(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
		// Formatting and parsing again gives the same options.
		again, err := ParseOptions(got.String())
		if err != nil || !reflect.DeepEqual(again, got) {
			t.Errorf("ParseOptions(%q).String() = %q, which parses to %+v, %v", tc.in, got.String(), again, err)
		}
	}
}

func TestParseOptionsErrors(t *testing.T) {
	for _, in := range []string{
		"acregmin", "acregmin=", "acregmin=-1", "acregmin=1.5", "acregmin=3s", "actimeo=x",
		"lookupcache=some", "local_lock=maybe",
	} {
		if o, err := ParseOptions(in); err == nil {
			t.Errorf("ParseOptions(%q) = %+v, want an error", in, o)
		}
	}
}

func TestOptionsString(t *testing.T) {
	tests := []struct {
		o    Options
		want string
	}{
		{DefaultOptions(), "acregmin=3,acregmax=60,acdirmin=30,acdirmax=60,lookupcache=all"},
		{Options{Lookupcache: "none", Noac: true, Nocto: true, LocalLock: true, Extra: []string{"vers=3"}},
			"vers=3,acregmin=0,acregmax=0,acdirmin=0,acdirmax=0,lookupcache=none,noac,nocto,local_lock=all"},
		{Options{Acregmin: time.Second, Acregmax: 2 * time.Second, Acdirmin: 4 * time.Second, Acdirmax: 8 * time.Second, Lookupcache: "pos"},
			"acregmin=1,acregmax=2,acdirmin=4,acdirmax=8,lookupcache=pos"},
	}
	for _, tc := range tests {
		if got := tc.o.String(); got != tc.want {
			t.Errorf("%+v.String() = %q, want %q", tc.o, got, tc.want)
		}
	}
}

func TestMaxTimeout(t *testing.T) {
	tests := []struct {
		opts      string
		file, dir time.Duration
	}{
		{"", 60 * time.Second, 60 * time.Second},
		{"acregmax=2,acdirmax=4", 2 * time.Second, 4 * time.Second},
		{"noac", 0, 0},
		{"actimeo=0", 0, 0},
	}
	for _, tc := range tests {
		o, err := ParseOptions(tc.opts)
		if err != nil {
			t.Fatal(err)
		}
		if f, d := o.MaxTimeout(false), o.MaxTimeout(true); f != tc.file || d != tc.dir {
			t.Errorf("%q: MaxTimeout = %v, %v; want %v, %v", tc.opts, f, d, tc.file, tc.dir)
		}
	}
}

func TestDefaultCases(t *testing.T) {
	names := map[string]bool{}
	kinds := map[string]bool{}
	var wait time.Duration
	for _, c := range DefaultCases() {
		if names[c.Name] {
			t.Errorf("case %s twice", c.Name)
		}
		names[c.Name] = true
		full, o, err := c.withDefaults()
		if err != nil {
			t.Errorf("case %s: %v", c.Name, err)
			continue
		}
		if strings.Trim(c.Name, "abcdefghijklmnopqrstuvwxyz0123456789/_-") != "" {
			t.Errorf("case %q: name has other characters than letters, digits and /_-", c.Name)
		}
		if !strings.HasPrefix(c.Name, c.Kind+"/") {
			t.Errorf("case %s: name does not start with its kind %s", c.Name, c.Kind)
		}
		if !strings.Contains(c.Options, "vers=3") {
			t.Errorf("case %s: options %q do not ask for NFSv3", c.Name, c.Options)
		}
		if c.Param > 0 && c.Every > 0 && c.Every%time.Second == 0 {
			t.Errorf("case %s: observations every %v fall on the timeouts' whole seconds", c.Name, c.Every)
		}
		kinds[c.Kind] = true
		// A bound of the case's waiting: its unchanged period and the
		// longest window the kernel should show, the minimum timeout
		// doubled for every Every the unchanged period lets it grow.
		lo := o.Acregmin
		if c.Kind == InvisibleCreate {
			lo = o.Acdirmin
		}
		win := lo
		if c.Every > 0 {
			win = min(lo<<3, o.MaxTimeout(c.Kind == InvisibleCreate))
		}
		wait += time.Duration(full.Repeat) * (c.Param + win + settle)
	}
	for _, k := range Kinds {
		if !kinds[k] {
			t.Errorf("no case of kind %s", k)
		}
	}
	if wait > 6*time.Minute {
		t.Errorf("the default cases wait about %v, more than 6 minutes", wait)
	}
	t.Logf("the default cases wait about %v", wait)
}

func TestWithDefaults(t *testing.T) {
	c, _, err := Case{Name: "x", Options: "acregmax=7", Kind: StaleSize}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if c.Poll != DefaultPoll || c.Repeat != DefaultRepeat || c.Cap != 24*time.Second {
		t.Errorf("defaults: %+v", c)
	}
	c, _, _ = Case{Name: "x", Options: "acdirmax=1", Kind: InvisibleCreate}.withDefaults()
	if c.Cap != 12*time.Second {
		t.Errorf("invisible_create cap %v, want 12s from acdirmax", c.Cap)
	}
	for _, bad := range []Case{
		{Name: "kind", Kind: "stale"},
		{Name: "opts", Kind: StaleSize, Options: "acregmin=x"},
		{Name: "neg", Kind: StaleSize, Poll: -1},
	} {
		if _, _, err := bad.withDefaults(); err == nil {
			t.Errorf("case %s: no error", bad.Name)
		}
	}
}

func TestCasesNamed(t *testing.T) {
	all, err := CasesNamed()
	if err != nil || len(all) != len(DefaultCases()) {
		t.Fatalf("no names: %d cases, %v", len(all), err)
	}
	cs, err := CasesNamed("stale_size/noac", "stale_size/default")
	if err != nil || len(cs) != 2 || cs[0].Name != "stale_size/noac" || cs[1].Options != "vers=3" {
		t.Errorf("two names: %+v, %v", cs, err)
	}
	if _, err := CasesNamed("stale_size/noac", "nope"); err == nil {
		t.Error("an unknown name was accepted")
	}
}
