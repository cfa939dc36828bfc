package workloads

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/mailsim/mailsim/model/sim"
)

var update = flag.Bool("update", false, "write the hostile traces of testdata/traces again")

// tinyHeader is the population of the hand-made traces: two users, three
// devices.
func tinyHeader() TraceHeader {
	p := DefaultPopulation()
	p.Users, p.Folders = 2, 2
	return TraceHeader{Seed: 7, Population: p, Devices: 3}
}

// tinyOps is a small trace for tinyHeader: user 0 has a desktop (device 0,
// two connections) and a phone (device 1), user 1 a webmail (device 2).
func tinyOps() []TraceOp {
	const u0, u1 = "user000000@example.net", "user000001@example.net"
	s := sim.Second
	return []TraceOp{
		{At: 1 * s, User: u0, Device: 0, Kind: "desktop", Op: "SESSION", Wait: s, Length: 60 * s},
		{At: 1 * s, User: u0, Device: 0, Kind: "desktop", Op: "LOGIN"},
		{At: 1 * s, User: u0, Device: 0, Kind: "desktop", Conn: 1, Op: "LOGIN"},
		{At: 2 * s, User: u1, Device: -1, Kind: "mx", Conn: -1, Op: "LMTP", Bytes: 4000},
		{At: 3 * s, User: u0, Device: 0, Kind: "desktop", Op: "SELECT", Mailbox: 2, Wait: 2 * s},
		{At: 3 * s, User: u0, Device: 0, Kind: "desktop", Conn: 1, Op: "SELECT"},
		{At: 4 * s, User: u0, Device: 1, Kind: "phone", Op: "SESSION", Wait: 4 * s, Length: 30 * s},
		{At: 4 * s, User: u0, Device: 1, Kind: "phone", Op: "LOGIN"},
		{At: 5 * s, User: u0, Device: 1, Kind: "phone", Op: "RETRY", Wait: 3 * s},
		{At: 6 * s, User: u1, Device: 2, Kind: "webmail", Op: "SESSION", Wait: 6 * s, Length: 10 * s},
		{At: 7 * s, User: u0, Device: 0, Kind: "desktop", Op: "APPEND", Mailbox: 1, Bytes: 5000, Wait: 4 * s},
		{At: 8 * s, User: u0, Device: 0, Kind: "desktop", Op: "LOGOUT", Wait: s},
		{At: 9 * s, User: u1, Device: -1, Kind: "mx", Conn: -1, Op: "LMTP", Bytes: 3000},
	}
}

// writeTrace writes ops as a trace, with the header h if not nil.
func writeTrace(t testing.TB, h *TraceHeader, ops []TraceOp) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := NewTraceWriter(&buf)
	if h != nil {
		w.Begin(*h)
	}
	for _, op := range ops {
		w.Write(op)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// lines splits a trace into lines, newlines kept.
func lines(b []byte) []string {
	return strings.SplitAfter(string(b), "\n")[:bytes.Count(b, []byte("\n"))]
}

// resum gives a trace whose records were edited a trailer that fits them
// again, so that the check behind the checksum is what refuses it.
func resum(t testing.TB, text string) []byte {
	t.Helper()
	ls := strings.SplitAfter(text, "\n")
	var body strings.Builder
	n := 0
	for _, l := range ls {
		if strings.HasPrefix(l, traceTrailer) || l == "" {
			continue
		}
		if !strings.HasPrefix(l, "#") {
			n++
		}
		body.WriteString(l)
	}
	h := sha256Hex(body.String())
	return []byte(fmt.Sprintf("%s%srecords\t%d\tsha256\t%s\n", body.String(), traceTrailer, n, h))
}

// hostileTraces are the files of testdata/traces: each is derived from
// the tiny trace and refused with the error in the file of the same name
// ending .err; those named ok-* are accepted.
func hostileTraces(t testing.TB) map[string][]byte {
	h := tinyHeader()
	good := writeTrace(t, &h, tinyOps())
	ls := lines(good)
	nhead := 2 + len(popKeys) // version, population, columns
	recs := ls[nhead : len(ls)-1]
	trailer := ls[len(ls)-1]
	head := strings.Join(ls[:nhead], "")
	withOp := func(i int, edit func(op *TraceOp)) []byte {
		ops := tinyOps()
		edit(&ops[i])
		return writeTrace(t, &h, ops)
	}
	swapped := append([]string(nil), recs...)
	swapped[3], swapped[12] = swapped[12], swapped[3] // the two deliveries
	other := h
	other.Population.Users = 1
	big := strings.Repeat("x", MaxTraceLineBytes)
	m := map[string][]byte{
		"ok-tiny.trace":          good,
		"ok-no-population.trace": writeTrace(t, nil, tinyOps()),
		"empty.trace":            nil,
		"v1.trace":               []byte("# mailsim-trace v1\n# at\tuser\tdevice\tkind\tconn\top\tmailbox\tbytes\twait\tlength\n1\tu\t0\tdesktop\t0\tLOGIN\t0\t0\t0\t0\n"),
		"not-a-trace.trace":      []byte("hello\n"),
		// Cut short at a line boundary: the trailer is gone.
		"cut-at-line.trace": []byte(head + strings.Join(recs[:5], "")),
		// Cut inside a line.
		"cut-in-line.trace": good[:len(head)+len(strings.Join(recs[:5], ""))+4],
		// A record lost, another added, two swapped: the trailer's count
		// or checksum no longer fits.
		"record-lost.trace":     []byte(head + strings.Join(recs[1:], "") + trailer),
		"record-added.trace":    []byte(head + strings.Join(recs, "") + recs[4] + trailer),
		"records-swapped.trace": []byte(head + strings.Join(swapped, "") + trailer),
		"streams-swapped.trace": []byte(head + recs[0] + recs[2] + recs[1] + strings.Join(recs[3:], "") + trailer),
		"value-changed.trace":   bytes.Replace(good, []byte("\t5000\t"), []byte("\t5001\t"), 1),
		// The same edits with the trailer made to fit: the checks behind it.
		"swapped-resummed.trace":     resum(t, head+strings.Join(swapped, "")),
		"after-trailer.trace":        append(append([]byte(nil), good...), recs[0]...),
		"comment-in-records.trace":   resum(t, head+recs[0]+"# a comment\n"+strings.Join(recs[1:], "")),
		"no-newline.trace":           good[:len(good)-1],
		"long-line.trace":            []byte(head + big + "\n" + trailer),
		"missing-key.trace":          resum(t, strings.Join(ls[:2], "")+strings.Join(ls[3:nhead], "")+strings.Join(recs, "")),
		"bad-key-value.trace":        resum(t, strings.Replace(head, "workload.users\t2\n", "workload.users\ttwo\n", 1)+strings.Join(recs, "")),
		"bad-population.trace":       resum(t, strings.Replace(head, "workload.desktop_connections\t2\n", "workload.desktop_connections\t0\n", 1)+strings.Join(recs, "")),
		"user-out-of-range.trace":    writeTrace(t, &other, tinyOps()),
		"device-out-of-range.trace":  withOp(9, func(op *TraceOp) { op.Device = 3 }),
		"device-negative.trace":      withOp(9, func(op *TraceOp) { op.Device = -1 }),
		"conn-out-of-range.trace":    withOp(7, func(op *TraceOp) { op.Conn = 1 }),
		"mailbox-out-of-range.trace": withOp(4, func(op *TraceOp) { op.Mailbox = 3 }),
		"device-two-users.trace":     withOp(7, func(op *TraceOp) { op.User = "user000001@example.net" }),
		"device-two-kinds.trace":     withOp(1, func(op *TraceOp) { op.Kind = "phone" }),
		"lmtp-with-device.trace":     withOp(3, func(op *TraceOp) { op.Device = 0 }),
		"kind-unknown.trace":         withOp(9, func(op *TraceOp) { op.Kind = "pager" }),
		"wait-max-int64.trace":       withOp(4, func(op *TraceOp) { op.Wait = math.MaxInt64 }),
		"at-max-int64.trace":         withOp(9, func(op *TraceOp) { op.At = math.MaxInt64 }),
		"wait-overflows.trace":       []byte(strings.Replace(string(good), "\t2000000000\t0\n", "\t9223372036854775808\t0\n", 1)),
		"length-too-long.trace":      withOp(0, func(op *TraceOp) { op.Length = MaxTraceDuration + 1 }),
		"bytes-too-many.trace":       withOp(3, func(op *TraceOp) { op.Bytes = MaxTraceBytes + 1 }),
		"session-out-of-order.trace": writeTrace(t, &h, append(tinyOps(), TraceOp{At: 5 * sim.Second, User: "user000001@example.net", Device: 2, Kind: "webmail", Op: "SESSION"})),
		"retry-out-of-order.trace":   writeTrace(t, &h, append(tinyOps(), TraceOp{At: 4 * sim.Second, User: "user000000@example.net", Device: 1, Kind: "phone", Op: "RETRY"})),
		"command-out-of-order.trace": withOp(4, func(op *TraceOp) { op.At, op.Wait = sim.Second/2, 0 }),
		"wait-beyond-at.trace":       withOp(4, func(op *TraceOp) { op.Wait = 4 * sim.Second }),
	}
	return m
}

// TestTraceCorpus reads every file of testdata/traces and checks that it
// is refused with the error of its .err file (or accepted, for ok-*): a
// trace cut short, edited, out of order, outside its population or with
// durations that overflow the clock is refused with an error naming the
// file and line.
func TestTraceCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "traces")
	if *update {
		for name, b := range hostileTraces(t) {
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := ReadTrace(name, bytes.NewReader(b))
			want := ""
			if err != nil {
				want = err.Error() + "\n"
			}
			if err := os.WriteFile(filepath.Join(dir, strings.TrimSuffix(name, ".trace")+".err"), []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.trace"))
	if err != nil || len(files) < 30 {
		t.Fatalf("%d traces in %s (%v)", len(files), dir, err)
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(strings.TrimSuffix(f, ".trace") + ".err")
			if err != nil {
				t.Fatal(err)
			}
			tr, err := ReadTrace(name, bytes.NewReader(b))
			ok := strings.HasPrefix(name, "ok-")
			switch {
			case ok && err != nil:
				t.Fatalf("refused: %v", err)
			case !ok && err == nil:
				t.Fatalf("accepted %d records", tr.Records)
			case !ok && err.Error()+"\n" != string(want):
				t.Fatalf("error\n%v\nwant\n%s", err, want)
			case !ok && !strings.HasPrefix(err.Error(), name+":"):
				t.Fatalf("error does not name the file: %v", err)
			}
		})
	}
}

// TestTraceRoundTrip writes the tiny trace, reads it, encodes it again and
// reads that: the same trace, and since the tiny trace is in stream order,
// the same bytes.
func TestTraceRoundTrip(t *testing.T) {
	h := tinyHeader()
	b := writeTrace(t, &h, tinyOps())
	tr, err := ReadTrace("a.trace", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if tr.Records != len(tinyOps()) || !reflect.DeepEqual(*tr.Header, h) {
		t.Fatalf("read %d records, header %+v", tr.Records, tr.Header)
	}
	if u, k, ok := tr.Device(1); !ok || u != "user000000@example.net" || k != "phone" {
		t.Errorf("device 1: %q %q %v", u, k, ok)
	}
	checkRoundTrip(t, tr)
}

// checkRoundTrip encodes tr and reads it back: the same trace.
func checkRoundTrip(t testing.TB, tr *Trace) {
	t.Helper()
	var buf bytes.Buffer
	if err := tr.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	again, err := ReadTrace(tr.Name, bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatalf("encoded trace refused: %v\n%s", err, buf.Bytes())
	}
	// The devices' first lines move; all else is the same.
	forget := func(m map[int]devOwner) map[int]devOwner {
		out := map[int]devOwner{}
		for d, o := range m {
			o.line = 0
			out[d] = o
		}
		return out
	}
	a, b := *tr, *again
	a.devs, b.devs = forget(a.devs), forget(b.devs)
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("encoded trace reads back differently")
	}
}

// TestTraceHeaderCheck: a spec whose population differs from the trace's
// in any key is refused with the key, the trace's value and the spec's.
func TestTraceHeaderCheck(t *testing.T) {
	h := tinyHeader()
	if err := h.Check(h.Population, h.Seed); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		edit func(p *Population, seed *uint64)
		want string
	}{
		{"seed", func(_ *Population, s *uint64) { *s = 8 }, "run_seed is 7 in the trace, 8 in the spec (a run seed derives from the spec's seed and the run)"},
		{"users", func(p *Population, _ *uint64) { p.Users = 3 }, "workload.users is 2 in the trace, 3 in the spec"},
		{"domain", func(p *Population, _ *uint64) { p.Domain = "example.org" }, `workload.domain is "example.net" in the trace, "example.org" in the spec`},
		{"sigma", func(p *Population, _ *uint64) { p.FolderMessagesSigma = 1.5000001 }, "workload.folder_messages_sigma is 1.5 in the trace, 1.5000001 in the spec"},
		{"connections", func(p *Population, _ *uint64) { p.DesktopConnections = 1 }, "workload.desktop_connections is 2 in the trace, 1 in the spec"},
		{"nat", func(p *Population, _ *uint64) { p.CarrierNATPools = 3 }, "workload.carrier_nat_ips is 16 in the trace, 3 in the spec"},
	}
	for _, tc := range tests {
		p, seed := h.Population, h.Seed
		tc.edit(&p, &seed)
		err := h.Check(p, seed)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.want)
		}
	}
	// Every field of Population with a spec key is a key.
	n := 0
	for f := range reflect.TypeFor[Population]().Fields() {
		if f.Tag.Get("toml") != "-" {
			n++
		}
	}
	if len(popKeys) != n+2 {
		t.Errorf("%d population keys for %d fields", len(popKeys), n)
	}
}

func sha256Hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// TestTraceRecordLimit: a trace with more records than the limit is
// refused at the first one too many.
func TestTraceRecordLimit(t *testing.T) {
	defer func(n int) { maxTraceRecords = n }(maxTraceRecords)
	maxTraceRecords = 5
	h := tinyHeader()
	_, err := ReadTrace("big.trace", bytes.NewReader(writeTrace(t, &h, tinyOps())))
	if want := "big.trace:" + fmt.Sprint(2+len(popKeys)+6) + ": more than 5 records"; err == nil || err.Error() != want {
		t.Fatalf("got %v, want %q", err, want)
	}
}

// FuzzReadTrace: ReadTrace never panics or hangs on any input, and a
// trace it accepts encodes to one that reads back the same.
func FuzzReadTrace(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "traces", "*.trace"))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		tr, err := ReadTrace("fuzz.trace", bytes.NewReader(b))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.trace") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		checkRoundTrip(t, tr)
	})
}

// FuzzReadTraceResummed is FuzzReadTrace behind the checksum: each input
// gets a trailer that fits it, so that the fuzzer reaches the checks of
// the header and the records, and the round trip of what they accept.
func FuzzReadTraceResummed(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "traces", "*.trace"))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		tr, err := ReadTrace("fuzz.trace", bytes.NewReader(resum(t, string(b))))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.trace") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		checkRoundTrip(t, tr)
	})
}
