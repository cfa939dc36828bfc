package results_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailsim/mailsim/results"
)

// Every file a reader parses, damaged in typical ways: the errors name
// the file, and the line, column and key where the format has them. The
// messages are kept in testdata/errors.golden (go test -update rewrites
// it).
func TestDecodeErrorsNameTheFile(t *testing.T) {
	var got bytes.Buffer
	const run = "runs/p00-director-r1.json"
	replace := func(old, new string) func([]byte) []byte {
		return func(b []byte) []byte { return bytes.Replace(b, []byte(old), []byte(new), 1) }
	}
	set := func(b []byte) func([]byte) []byte { return func([]byte) []byte { return b } }
	for _, tt := range []struct {
		name string
		file string
		edit func([]byte) []byte
	}{
		{"manifest truncated", "manifest.json", func(b []byte) []byte { return b[:len(b)/2] }},
		{"manifest empty", "manifest.json", set(nil)},
		{"manifest syntax", "manifest.json", replace(`"seed": "42",`, `"seed": "42",,`)},
		{"manifest wrong type", "manifest.json", replace(`"replica": 1,`, `"replica": "one",`)},
		{"manifest unknown key", "manifest.json", replace(`"seed": "42",`, `"seed": "42", "colour": "red",`)},
		{"manifest newer format", "manifest.json", replace(`"format": 2,`, `"format": 3,`)},
		{"manifest without build", "manifest.json", func(b []byte) []byte {
			i, j := bytes.Index(b, []byte(`  "build"`)), bytes.Index(b, []byte(`  "seed"`))
			return append(b[:i:i], b[j:]...)
		}},
		{"manifest trailing data", "manifest.json", func(b []byte) []byte { return append(b, "{}\n"...) }},
		{"run truncated", run, func(b []byte) []byte { return b[:100] }},
		{"run bad number", run, replace(`"unit":"s","value":`, `"unit":"s","value":"lots","x":`)},
		{"run bucket out of range", run, replace(`[[58,1]`, `[[500,1]`)},
		{"run bucket count", run, replace(`"n":200,`, `"n":201,`)},
		{"run bad duration", run, replace(`"interval":"10s"`, `"interval":"often"`)},
		{"run fingerprint", run, replace(`"spec_sha256":"`, `"spec_sha256":"x`)},
		{"run duplicate metric", run, replace(`"name":"cache.hit_ratio"`, `"name":"imap.latency.p99"`)},
		{"provenance", "provenance.json", set([]byte("{\n  \"sessions\": 7\n}\n"))},
		{"plan file", results.PlanFile, set([]byte("{\n  \"users\": 10,\n  \"objectives\": [{\"limit\": \"low\"}]\n}\n"))},
	} {
		dir := filepath.Join(t.TempDir(), "set")
		writeAll(t, dir, small)
		p := filepath.Join(dir, tt.file)
		b, _ := os.ReadFile(p)
		if err := os.WriteFile(p, tt.edit(b), 0o644); err != nil {
			t.Fatal(err)
		}
		var msg string
		if tt.file == results.PlanFile {
			_, err := results.ReadPlan(dir)
			msg = fmt.Sprint(err)
		} else {
			s, err := results.Read(dir)
			msg = fmt.Sprint(err)
			if err == nil {
				msg = "warning: " + strings.Join(s.Warnings, "; ")
			}
		}
		if !strings.Contains(msg, p) {
			t.Errorf("%s: %q does not name %s", tt.name, msg, p)
		}
		fmt.Fprintf(&got, "%s:\n\t%s\n", tt.name, strings.ReplaceAll(msg, dir, "SET"))
	}
	golden := filepath.Join("testdata", "errors.golden")
	if *update {
		if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Errorf("messages differ from %s (go test -update accepts them):\n%s", golden, got.Bytes())
	}
}

// Readers refuse files and histogram lists larger than any real set
// holds, with an error naming the file, rather than allocate without
// bound.
func TestReadersCapSizes(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "big.json")
	if err := os.WriteFile(p, bytes.Repeat([]byte(" "), 1001), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := results.ReadLimited(p, p, 1000); err == nil || !strings.Contains(err.Error(), p+" is 1001 bytes, more than the 1000") {
		t.Errorf("a file over the limit: %v", err)
	}
	if b, err := results.ReadLimited(p, p, 1001); err != nil || len(b) != 1001 {
		t.Errorf("a file at the limit: %d bytes, %v", len(b), err)
	}

	set := filepath.Join(t.TempDir(), "set")
	writeAll(t, set, small)
	run := filepath.Join(set, "runs", "p00-director-r1.json")
	b, _ := os.ReadFile(run)
	var hs []string
	for i := range 4097 {
		hs = append(hs, fmt.Sprintf(`{"name":"h%d","unit":"s","n":0,"sum":0,"min":0,"max":0,"buckets":[]}`, i))
	}
	i := bytes.Index(b, []byte(`"histograms":[`)) + len(`"histograms":[`)
	b = append(b[:i:i], append([]byte(strings.Join(hs, ",")+","), b[i:]...)...)
	if err := os.WriteFile(run, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := results.Read(set); err == nil || !strings.Contains(err.Error(), run+": 4099 histograms, more than the 4096") {
		t.Errorf("a run with too many histograms: %v", err)
	}
}
