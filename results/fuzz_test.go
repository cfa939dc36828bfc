package results

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// Fuzz targets for every file of a result set that the reader parses. The
// invariants: decoding never panics or hangs, its allocations are bounded
// by the size caps, and whatever it accepts is written back in canonical
// form that decodes to the same thing (encoding twice gives the same
// bytes).

// seedFiles adds the golden files and a few reference files matching
// pattern as seeds, with some broken variants.
func seedFiles(f *testing.F, patterns ...string) {
	f.Helper()
	for _, p := range patterns {
		names, _ := filepath.Glob(p)
		if len(names) > 3 {
			names = names[:3]
		}
		for _, n := range names {
			b, err := os.ReadFile(n)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
			f.Add(b[:len(b)/2])
		}
	}
	for _, s := range []string{"", "{}", "null", "[]", `{"format":2}`, `{"format":1}`, `{"format":3}`, "{\"format\":2}\n{}"} {
		f.Add([]byte(s))
	}
}

func FuzzManifest(f *testing.F) {
	seedFiles(f, "testdata/golden/manifest.json", "reference/*/manifest.json")
	f.Fuzz(func(t *testing.T, b []byte) {
		m, format, err := decodeManifest(manifestFile, b)
		if err != nil {
			return
		}
		if format != FormatVersion {
			return // older sets are read, never written
		}
		enc, err := encodeManifest(m)
		if err != nil {
			t.Fatalf("accepted manifest does not encode: %v", err)
		}
		m2, _, err := decodeManifest(manifestFile, enc)
		if err != nil {
			t.Fatalf("canonical manifest does not decode: %v\n%s", err, enc)
		}
		enc2, err := encodeManifest(m2)
		if err != nil || !bytes.Equal(enc, enc2) {
			t.Fatalf("manifest changes in a round trip (%v):\n%s\n%s", err, enc, enc2)
		}
	})
}

func FuzzRunFile(f *testing.F) {
	seedFiles(f, "testdata/golden/runs_*.json", "reference/default/runs/*.json", "reference/isp-1m-plan/runs/*.json")
	f.Fuzz(func(t *testing.T, b []byte) {
		r, meta, err := decodeRun("r.json", b)
		if err != nil {
			return
		}
		for _, h := range r.Histograms {
			for _, q := range []float64{0, 0.5, 0.99, 1} {
				h.Hist.Quantile(q)
			}
		}
		if meta.format != FormatVersion {
			return
		}
		enc, err := encodeRun(r, meta.fingerprint)
		if err != nil {
			t.Fatalf("accepted run does not encode: %v", err)
		}
		r2, meta2, err := decodeRun("r.json", enc)
		if err != nil {
			t.Fatalf("canonical run does not decode: %v\n%s", err, enc)
		}
		enc2, err := encodeRun(r2, meta2.fingerprint)
		if err != nil || !bytes.Equal(enc, enc2) {
			t.Fatalf("run changes in a round trip (%v):\n%s\n%s", err, enc, enc2)
		}
	})
}

func FuzzProvenance(f *testing.F) {
	f.Add([]byte(`{"sessions":[{"host":"h","started":"2030-01-02T03:04:05Z","finished":"","workers":4,"shard":"1/2","runs":3,"note":"n"}]}`))
	f.Add([]byte(`{"sessions":[{"started":"2030-01-02T03:04:05.123456789+02:00"}]}`))
	f.Add([]byte(`{"sessions":[{"started":"0000-01-01T00:00:00+01:00"}]}`))
	seedFiles(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := decodeProvenance(provenanceFile, b)
		if err != nil {
			return
		}
		enc, err := encodeProvenance(p)
		if err != nil {
			t.Fatalf("accepted provenance does not encode: %v", err)
		}
		p2, err := decodeProvenance(provenanceFile, enc)
		if err != nil {
			t.Fatalf("canonical provenance does not decode: %v\n%s", err, enc)
		}
		enc2, err := encodeProvenance(p2)
		if err != nil || !bytes.Equal(enc, enc2) {
			t.Fatalf("provenance changes in a round trip (%v):\n%s\n%s", err, enc, enc2)
		}
	})
}

func FuzzPlanFile(f *testing.F) {
	seedFiles(f, "reference/*/plan.json")
	f.Add([]byte(`{"users":10,"confidence":0.95,"replicas_min":2,"replicas_max":5,"survive_backend_failure":true,"objectives":[{"name":"SELECT p99","metric":"latency.SELECT.p99","unit":"s","limit":0.5}],"strategies":[{"strategy":"director","found":true,"chosen":{"backends":2,"nfs_threads":8,"cache_bytes":1024},"binding":"x","probes":[{"backends":2,"nfs_threads":8,"cache_bytes":1024,"pass":true,"checks":[{"objective":"SELECT p99","scenario":"normal","n":2,"mean":0.1,"lower":0.05,"upper":0.2,"verdict":"pass"}]}],"runs":4}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := decodePlan(PlanFile, b)
		if err != nil {
			return
		}
		if err := o.WriteText(io.Discard); err != nil {
			t.Fatalf("accepted plan does not print: %v", err)
		}
		enc, err := json.MarshalIndent(o, "", "  ")
		if err != nil {
			t.Fatalf("accepted plan does not encode: %v", err)
		}
		o2, err := decodePlan(PlanFile, enc)
		if err != nil {
			t.Fatalf("canonical plan does not decode: %v\n%s", err, enc)
		}
		enc2, err := json.MarshalIndent(o2, "", "  ")
		if err != nil || !bytes.Equal(enc, enc2) {
			t.Fatalf("plan changes in a round trip (%v):\n%s\n%s", err, enc, enc2)
		}
	})
}
