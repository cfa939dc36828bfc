package experiments

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// withMemory makes the memory check see a machine of mem bytes for the
// rest of the test.
func withMemory(t *testing.T, mem int64) {
	t.Helper()
	old := machineMemory
	machineMemory = func() (int64, string) { return mem, "the test's machine" }
	t.Cleanup(func() { machineMemory = old })
}

// TestHostileSpecs loads every spec in testdata/hostile, each of which
// used to panic, hang, exhaust memory, write outside its folder or run
// with a value it ignored. Each must be refused with an error at a line of
// the file, naming the key its "# key:" comment gives, with a message
// containing its "# want:" comment.
func TestHostileSpecs(t *testing.T) {
	withMemory(t, 24<<30)
	files, err := filepath.Glob(filepath.Join("testdata", "hostile", "*.toml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no hostile specs: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".toml"), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var want, key string
			sc := bufio.NewScanner(bytes.NewReader(data))
			for sc.Scan() {
				line := sc.Text()
				if v, ok := strings.CutPrefix(line, "# want: "); ok {
					want = v
				}
				if v, ok := strings.CutPrefix(line, "# key: "); ok {
					key = v
				}
			}
			if want == "" || key == "" {
				t.Fatal("no '# want:' or '# key:' comment")
			}
			done := make(chan error, 1)
			go func() {
				_, err := Load(file, data)
				done <- err
			}()
			select {
			case err = <-done:
			case <-time.After(2 * time.Minute):
				t.Fatal("Load did not return within 2 minutes")
			}
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("Load returned %v, want spec errors", err)
			}
			for _, e := range es {
				if e.Key == key && strings.Contains(e.Msg, want) {
					if e.File != file || e.Pos.Line < 1 {
						t.Errorf("%v: not at a line of %s", e, file)
					}
					return
				}
			}
			t.Errorf("no error with key %s containing %q; got:\n%v", key, want, err)
		})
	}
}

// TestSpecFilesRefused checks that what is not a small regular file is
// refused before it is read whole.
func TestSpecFilesRefused(t *testing.T) {
	if _, err := DecodeFile[Spec](os.DevNull); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("%s: got %v, want \"not a regular file\"", os.DevNull, err)
	}
	big := filepath.Join(t.TempDir(), "big.toml")
	if err := os.WriteFile(big, bytes.Repeat([]byte("# padding\n"), MaxSpecBytes/10+1), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := DecodeFile[Spec](big); err == nil || !strings.Contains(err.Error(), "more than a spec may have") {
		t.Errorf("big spec: got %v", err)
	}
	if _, err := ReadSpec(bytes.NewReader(make([]byte, MaxSpecBytes+1)), "<stdin>"); err == nil {
		t.Error("ReadSpec read more than MaxSpecBytes")
	}
}

// TestNoDeliveriesValid: a delivery interval of 0 is documented as "no
// deliveries" and must stay valid, for one class of user or both.
func TestNoDeliveriesValid(t *testing.T) {
	for _, src := range []string{
		"[workload.normal]\nmail_inbox_delivery_interval = \"0s\"\n",
		"[workload.normal]\nmail_inbox_delivery_interval = \"0s\"\n[workload.aggressive]\nmail_inbox_delivery_interval = \"0s\"\n",
	} {
		if _, err := Decode[Spec]("t.toml", []byte(src)); err != nil {
			t.Errorf("%q: %v", src, err)
		}
	}
}

// TestSectionDefaults checks that two sections of one type take the
// defaults their defaults tags give, in decoding and in the defaults file.
func TestSectionDefaults(t *testing.T) {
	type inner struct {
		A int `toml:"a" default:"1" doc:"a"`
		B int `toml:"b" default:"2" doc:"b"`
	}
	type outer struct {
		X inner `toml:"x" doc:"x"`
		Y inner `toml:"y" defaults:"b=5" doc:"y"`
	}
	v, err := Decode[outer]("t.toml", []byte("[x]\na = 3\n"))
	if err != nil {
		t.Fatal(err)
	}
	if v.X != (inner{3, 2}) || v.Y != (inner{1, 5}) {
		t.Errorf("decoded %+v", v)
	}
	out, err := DefaultsTOML[outer]()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "[y]\n# a\n# default 1\na = 1\n\n# b\n# default 5\nb = 5\n") {
		t.Errorf("defaults file:\n%s", out)
	}
}
