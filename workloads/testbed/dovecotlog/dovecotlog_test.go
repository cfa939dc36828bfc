package dovecotlog

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden .counts files in testdata")

const (
	pfx = "Dec 05 10:00:01 imap(user001@example.net)<4711><AbCdEfGh1234>: "
	ix  = "/srv/index/example.net/user001"
	md  = "/srv/mail/example.net/user001/Maildir"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		line string
		want Class
	}{
		// transaction_log_corrupted
		{pfx + "Error: Mailbox INBOX: Corrupted transaction log file " + ix + "/dovecot.index.log seq 12: Unexpected garbage at EOF (sync_offset=20480)", TransactionLogCorrupted},
		{pfx + "Error: Mailbox INBOX: Corrupted transaction log file " + ix + "/dovecot.index.log seq 12: Invalid transaction log size (18432 vs 18500): " + ix + "/dovecot.index.log.2 (sync_offset=18432)", TransactionLogCorrupted},
		{pfx + "Error: Mailbox INBOX: Corrupted transaction log file " + ix + "/dovecot.index.log seq 4: indexid changed: 1733390000 -> 1733391234 (sync_offset=0)", TransactionLogCorrupted},
		{pfx + "Error: Mailbox INBOX: Transaction log " + ix + "/dovecot.index.log: duplicate transaction log sequence (7)", TransactionLogCorrupted},
		{pfx + "Error: Mailbox INBOX: Transaction log file " + ix + "/dovecot.index.log.2: marked corrupted", TransactionLogCorrupted},
		// transaction_log_lost, including when it triggers an fsck
		{pfx + "Error: Mailbox INBOX: Index " + ix + "/dovecot.index: Index mapped (file_seq=11): Lost log for seq=11 offset=4096: Missing middle file seq=11 (between 11..11, we have seqs 12,13): File doesn't exist (initial_mapped=1) - fscking (reopen_reason: index unchanged)", TransactionLogLost},
		{pfx + "Warning: Mailbox INBOX: Failed to map view for " + ix + "/dovecot.index: Missing middle file seq=9 (between 9..12, we have seqs 10,11,12): File doesn't exist - generating missing logs", TransactionLogLost},
		// index_fsck
		{pfx + "Warning: fscking index file " + ix + "/dovecot.index", IndexFsck},
		{pfx + "Error: Mailbox INBOX: Fixed index file " + ix + "/dovecot.index: log_file_seq 13 -> 12", IndexFsck},
		{pfx + "Error: Mailbox INBOX: Index " + ix + "/dovecot.index: Index mapped (file_seq=3): Log file corrupted - fscking (reopen_reason: index unchanged)", IndexFsck},
		// index_corrupted
		{pfx + "Error: Mailbox INBOX: Corrupted index file " + ix + "/dovecot.index: messages_count too large (1210 > 1204)", IndexCorrupted},
		{pfx + "Error: Mailbox INBOX: Corrupted Index file " + ix + "/dovecot.index: Record [3].uid=0", IndexCorrupted},
		{pfx + "Error: Mailbox INBOX: Synchronization corrupted index header " + ix + "/dovecot.index: Record [2].uid=0", IndexCorrupted},
		{pfx + "Error: Mailbox INBOX: broken sync positions in index file " + ix + "/dovecot.index", IndexCorrupted},
		{pfx + "Error: Mailbox INBOX: Index " + ix + "/dovecot.index lost messages without expunging (120 -> 118)", IndexCorrupted},
		{pfx + "Error: Mailbox list index: Corrupted mailbox list index header " + ix + "/dovecot.list.index", IndexCorrupted},
		// index_sync_error
		{pfx + "Error: Mailbox INBOX: Log synchronization error at seq=12,offset=20480 for " + ix + "/dovecot.index: Append with UID 1205, but next_uid = 1206", IndexSyncError},
		// cache_corrupted
		{pfx + "Error: Mailbox INBOX: Deleting corrupted cache: invalid record size", CacheCorrupted},
		// Lines as the testbed's Dovecot 2.3.19 backends and director wrote them.
		{"2026-12-05 04:36:57.099716 imap-login: Error: proxy(user000003@example.net,10.0.0.1:143): connect(10.0.0.1, 143) failed: Connection refused (after 3 secs, 3 reconnects, local=10.255.0.1:41234): user=<user000003@example.net>, method=PLAIN, rip=100.64.1.2, lip=10.255.0.1, session=<SHIkNfiTE2s0AwAA>", BackendUnreachable},
		{"2026-12-05 04:36:51.103568 lmtp(820): Error: lmtp-client: conn 10.0.0.1:24 [1]: connect(10.0.0.1:24) failed: Connection refused", BackendUnreachable},
		{"2026-12-05 04:29:08.153521 imap(user000000@example.net)<950><qVXbf9phMoN/AAAB>: Error: Mailbox INBOX: Failed to map transaction log /mnt/b2/example.net/user000000/Maildir/dovecot.index.log at sync_offset=3676 after locking: corrupted, indexid=0", TransactionLogCorrupted},
		{"2026-12-05 04:29:08.153521 imap(user000000@example.net)<950><qVXbf9phMoN/AAAB>: Error: Mailbox INBOX: fstat(/mnt/b2/example.net/user000000/Maildir/dovecot.index.cache) failed: Stale file handle", StaleFileHandle},
		{"2026-12-05 03:47:34.158603 imap(user000004@example.net)<833><C3i52dph4pQKAAAB>: Error: Mailbox INBOX: Deleting corrupted cache: record points outside file", CacheCorrupted},
		{pfx + "Error: Mailbox INBOX: Deleting corrupted cache record uid=1187: UID 1187: Broken MIME parts in mailbox INBOX: Cached MIME parts don't match message during parsing", CacheCorrupted},
		{pfx + "Error: Corrupted index cache file " + ix + "/dovecot.index.cache: file_seq is 0", CacheCorrupted},
		// uidlist_broken
		{pfx + "Error: Mailbox INBOX: Broken file " + md + "/dovecot-uidlist line 37: UID larger than next_uid (1210 >= 1206)", UidlistBroken},
		{pfx + "Error: Mailbox INBOX: Broken or unexpectedly changed file " + md + "/dovecot-uidlist line 2: Invalid data: x - re-reading from beginning", UidlistBroken},
		{pfx + "Error: Mailbox INBOX: Broken file " + md + "/dovecot-uidlist line 5: UIDs not ordered (17 >= 12)", UidlistBroken},
		{pfx + "Error: Mailbox INBOX: Maildir: 1733392855.M12P5120.b2 changed UID 1199 -> 1207", UidlistBroken},
		// uidlist_duplicate
		{pfx + "Warning: " + md + "/dovecot-uidlist: Duplicate file entry at line 41: 1733392855.M12P5120.b2,S=3321,W=3390 (uid 1199 -> 1207)", UidlistDuplicate},
		{pfx + "Warning: " + md + "/dovecot-uidlist: Duplicate file entry at line 41: 1733392855.M12P5120.b2 (uid 1199 -> 1207) - retrying by re-reading from beginning", UidlistDuplicate},
		// uidlist_next_uid_lowered
		{pfx + "Error: Mailbox INBOX: Broken file " + md + "/dovecot-uidlist line 1: next_uid header was lowered (1208 -> 1206)", UidlistNextUIDLowered},
		{pfx + "Error: Mailbox INBOX: " + md + "/dovecot-uidlist: next_uid was lowered (1208 -> 1206, hdr=1206)", UidlistNextUIDLowered},
		// expunged_reappeared
		{pfx + "Warning: Maildir " + md + ": Expunged message reappeared, giving a new UID (old uid=1150, file=1733391001.M3P4711.b1,S=2048:2,S)", ExpungedReappeared},
		{pfx + "Warning: Maildir " + md + ": Expunged message reappeared, giving a new UID (old uid=3, file=msg.1234) (Your MDA is saving MH files into Maildir?)", ExpungedReappeared},
		// stale_file_handle, first even when inside another class's message
		{pfx + "Error: Mailbox INBOX: read() failed with file " + ix + "/dovecot.index: Stale file handle", StaleFileHandle},
		{pfx + "Error: Mailbox INBOX: fstat(" + md + "/dovecot-uidlist) failed: Stale NFS file handle", StaleFileHandle},
		{pfx + "Error: Mailbox INBOX: Index " + ix + "/dovecot.index: x: Lost log for seq=3 offset=0: pread() failed: Stale file handle (initial_mapped=1) - fscking (reopen_reason: index unchanged)", StaleFileHandle},
		// lock_timeout
		{pfx + "Error: Mailbox INBOX: Timeout (180s) while waiting for lock for transaction log file " + ix + "/dovecot.index.log (WRITE lock held by pid 4711)", LockTimeout},
		{pfx + "Error: Mailbox INBOX: Timeout (180s) while waiting for dotlock for transaction log file " + ix + "/dovecot.index.log", LockTimeout},
		{pfx + "Error: Mailbox INBOX: Timeout while waiting for lock", LockTimeout},
		{pfx + "Error: fcntl(" + ix + "/dovecot.list.index.log, write-lock, F_SETLKW) locking failed: Timed out after 30 seconds (WRITE lock held by pid 4802)", LockTimeout},
		{pfx + "Error: flock(" + ix + "/dovecot.index.log, write-lock) failed: Timed out after 30 seconds", LockTimeout},
		{pfx + "Error: Timeout waiting for subscription file lock", LockTimeout},
		// lock_lost
		{pfx + "Error: Mailbox INBOX: Dotlock was lost for transaction log file " + ix + "/dovecot.index.log", LockLost},
		{pfx + "Error: Mailbox INBOX: Maildir uidlist dotlock overridden: " + md + "/dovecot-uidlist", LockLost},
		{pfx + "Warning: Our dotlock file " + md + "/dovecot-uidlist.lock was overridden (locked 130 secs ago, touched 130 secs ago)", LockLost},
		{pfx + "Warning: Our dotlock file " + md + "/dovecot-uidlist.lock was deleted (kept it 95 secs)", LockLost},
		{pfx + "Error: Mailbox INBOX: Transaction log " + ix + "/dovecot.index.log was recreated while we had it locked - locking is broken (lock_method=fcntl)", LockLost},
		// lock_slow
		{pfx + "Warning: Transaction log file " + ix + "/dovecot.index.log was locked for 42 seconds (mailbox sync)", LockSlow},
		{pfx + "Warning: Locking transaction log file " + ix + "/dovecot.index.log took 31 seconds (syncing)", LockSlow},
		{pfx + "Warning: Locking " + md + "/dovecot-uidlist took 7.512 secs", LockSlow},
		// other errors
		{pfx + "Error: Mailbox INBOX: open(" + md + "/cur/x) failed: Permission denied", Other},
		{pfx + "Fatal: master: service(imap): child 4711 returned error 89", Other},
		{pfx + "Panic: file mail-index-sync-keywords.c: line 195 (keywords_update_records): Keyword update corrupted keywords header", Other},
		{"Dec 05 10:00:01 master: Error: service(imap): child 4711 killed with signal 6 (core dumped)", Other},
		{"Error: something", Other},
		{"Error:", Other},
		// not counted
		{"Dec 05 10:00:01 imap-login: Info: Login: user=<user001@example.net>, method=PLAIN, rip=192.0.2.10, lip=192.0.2.1, mpid=4711, session=<AbCdEfGh1234>", ""},
		{pfx + "Info: Disconnected: Logged out in=120 out=4530", ""},
		{pfx + "Info: msgid=<1@example.org>: save failed to INBOX: Timeout while waiting for lock", ""},
		{pfx + "Debug: Corrupted transaction log file x", ""},
		{pfx + "Warning: Maildir: Scanning " + md + "/new took 3 seconds (12 readdir()s, 4 rename()s to cur/, why=0x2)", ""},
		{"Dec 05 10:00:01 master: Warning: Killed with signal 15 (by pid=1 uid=0 code=kill)", ""},
		{"", ""},
		{"random text", ""},
		// a bare message (no level) is matched but never Other
		{"Corrupted transaction log file x seq 1: Header size too small (sync_offset=0)", TransactionLogCorrupted},
		{"open(x) failed: Permission denied", ""},
	}
	seen := map[Class]bool{}
	for _, tt := range tests {
		got := Classify(tt.line)
		if got != tt.want {
			t.Errorf("Classify(%q) = %q, want %q", tt.line, got, tt.want)
		}
		seen[got] = true
	}
	for _, c := range Classes() {
		if !seen[c] {
			t.Errorf("no test line for class %q", c)
		}
	}
}

func TestClasses(t *testing.T) {
	cs := Classes()
	if cs[len(cs)-1] != Other {
		t.Errorf("last class = %q, want %q", cs[len(cs)-1], Other)
	}
	seen := map[Class]bool{}
	for _, c := range cs {
		if seen[c] || c == "" || c == "total" {
			t.Errorf("bad or repeated class %q", c)
		}
		seen[c] = true
		for _, r := range c {
			if (r < 'a' || r > 'z') && r != '_' {
				t.Errorf("class %q is not snake_case", c)
			}
		}
	}
	for _, r := range rules {
		if !seen[r.class] {
			t.Errorf("rule class %q not in Classes", r.class)
		}
		if r.class == Other {
			t.Errorf("a rule maps to %q", Other)
		}
	}
	cs[0] = "mutated"
	if Classes()[0] == "mutated" {
		t.Error("Classes returns the package's slice")
	}
	if got := LockTimeout.Metric(); got != "dovecot.errors.lock_timeout" {
		t.Errorf("Metric = %q", got)
	}
}

func TestParseLine(t *testing.T) {
	tests := []struct {
		line   string
		at     time.Time
		prefix string
		level  string
		text   string
	}{
		{
			"2024-12-05 10:00:01.204571 imap(u@example.net)<4711><AbC>: Error: Mailbox INBOX: Deleting corrupted cache: File too small",
			time.Date(2024, 12, 5, 10, 0, 1, 204571000, time.UTC),
			"imap(u@example.net)<4711><AbC>", LevelError, "Mailbox INBOX: Deleting corrupted cache: File too small",
		},
		{
			"Dec 05 10:00:01 master: Fatal: x",
			time.Date(0, 12, 5, 10, 0, 1, 0, time.UTC), "master", LevelFatal, "x",
		},
		{
			"Dec  5 10:00:01.5 master: Panic: x",
			time.Date(0, 12, 5, 10, 0, 1, 500000000, time.UTC), "master", LevelPanic, "x",
		},
		{
			"2024-12-05 10:00:01 Error: no prefix",
			time.Date(2024, 12, 5, 10, 0, 1, 0, time.UTC), "", LevelError, "no prefix",
		},
		{
			// not a date: the whole line before the level is the prefix
			"2024-02-30 10:00:01 x: Error: y",
			time.Time{}, "2024-02-30 10:00:01 x", LevelError, "y",
		},
		{
			"lmtp(u)<1><s>: Error: Mailbox INBOX: a: Error: b",
			time.Time{}, "lmtp(u)<1><s>", LevelError, "Mailbox INBOX: a: Error: b",
		},
	}
	for _, tt := range tests {
		l, ok := ParseLine(tt.line, "b1")
		if !ok {
			t.Errorf("ParseLine(%q) not ok", tt.line)
			continue
		}
		if !l.At.Equal(tt.at) || l.Prefix != tt.prefix || l.Level != tt.level || l.Text != tt.text || l.Backend != "b1" {
			t.Errorf("ParseLine(%q) = %+v", tt.line, l)
		}
	}
	if _, ok := ParseLine("Dec 05 10:00:01 imap-login: Info: Login: user=<u>", "b1"); ok {
		t.Error("Info line counted")
	}
}

// countsText renders counts as the golden file holds them.
func countsText(lines []Line) string {
	per, total := Count(lines)
	var b strings.Builder
	for i, c := range Classes() {
		fmt.Fprintf(&b, "%s %d\n", c.Metric(), per[i])
	}
	fmt.Fprintf(&b, "%s %d\n", TotalMetric, total)
	return b.String()
}

func TestParseGolden(t *testing.T) {
	logs, err := filepath.Glob("testdata/*.log")
	if err != nil || len(logs) == 0 {
		t.Fatalf("no testdata logs: %v", err)
	}
	for _, path := range logs {
		t.Run(filepath.Base(path), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			backend := strings.TrimSuffix(filepath.Base(path), ".log")
			lines, err := Parse(bytes.NewReader(data), backend)
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range lines {
				if l.Backend != backend {
					t.Errorf("line %q has backend %q", l.Text, l.Backend)
				}
			}
			// The same counts whatever the read sizes.
			one, err := Parse(iotest.OneByteReader(bytes.NewReader(data)), backend)
			if err != nil {
				t.Fatal(err)
			}
			got := countsText(lines)
			if c := countsText(one); c != got {
				t.Errorf("one-byte reads give\n%s\nwant\n%s", c, got)
			}
			golden := strings.TrimSuffix(path, ".log") + ".counts"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("counts for %s:\n%s\nwant (run with -update to accept):\n%s", path, got, want)
			}
		})
	}
}

func TestParseLongLine(t *testing.T) {
	long := "Dec 05 10:00:01 imap(u)<1><s>: Error: Mailbox INBOX: Corrupted transaction log file x seq 1: " +
		strings.Repeat("A", 3*MaxLineLen) + " Stale file handle"
	in := long + "\n" + "Dec 05 10:00:02 imap(u)<1><s>: Warning: fscking index file x\r\n" + strings.Repeat("B", MaxLineLen) + "\nError: last"
	lines, err := Parse(strings.NewReader(in), "b1")
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 3 {
		t.Fatalf("got %d lines, want 3: %+v", len(lines), lines)
	}
	l := lines[0]
	// The ESTALE fragment is past the cut, so the line counts as corruption.
	if !l.Truncated || l.Class != TransactionLogCorrupted || len(l.Text) > MaxLineLen {
		t.Errorf("long line: truncated=%v class=%q len=%d", l.Truncated, l.Class, len(l.Text))
	}
	if l := lines[1]; l.Truncated || l.Class != IndexFsck || l.Text != "fscking index file x" {
		t.Errorf("line after long line: %+v", l)
	}
	if l := lines[2]; l.Class != Other || l.Text != "last" || l.Truncated {
		t.Errorf("last line: %+v", l)
	}
}

type failReader struct{ n int }

var errRead = errors.New("read failed")

func (r *failReader) Read(p []byte) (int, error) {
	if r.n > 0 {
		s := "Error: x\n"
		r.n--
		return copy(p, s), nil
	}
	return 0, errRead
}

func TestParseReadError(t *testing.T) {
	lines, err := Parse(&failReader{n: 2}, "b1")
	if !errors.Is(err, errRead) {
		t.Errorf("err = %v, want %v", err, errRead)
	}
	if len(lines) != 2 {
		t.Errorf("got %d lines before the error, want 2", len(lines))
	}
}

func TestCount(t *testing.T) {
	lines := []Line{{Class: LockTimeout}, {Class: LockTimeout}, {Class: Other}, {Class: "unknown"}}
	per, total := Count(lines)
	if total != 4 || per[LockTimeout.index()] != 2 || per[Other.index()] != 2 {
		t.Errorf("Count = %v, %d", per, total)
	}
	if per, total := Count(nil); total != 0 || len(per) != len(Classes()) {
		t.Errorf("Count(nil) = %v, %d", per, total)
	}
}

func FuzzParse(f *testing.F) {
	for _, path := range []string{"testdata/b1.log", "testdata/b2.log"} {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
		for _, line := range bytes.Split(data, []byte("\n")) {
			f.Add(line)
		}
	}
	f.Add([]byte("Error: \r\n\n\r"))
	f.Add([]byte("2024-12-05 10:00:01.1234567890 x: Warning: Locking a took 1 secs"))
	f.Fuzz(func(t *testing.T, data []byte) {
		lines, err := Parse(bytes.NewReader(data), "b")
		if err != nil {
			t.Fatal(err)
		}
		if len(lines) > bytes.Count(data, []byte("\n"))+1 {
			t.Fatalf("%d lines from %d newlines", len(lines), bytes.Count(data, []byte("\n")))
		}
		for _, l := range lines {
			if l.Class.index() < 0 || l.Class == "" {
				t.Fatalf("bad class %q", l.Class)
			}
			switch l.Level {
			case LevelWarning:
				if l.Class == Other {
					t.Fatalf("warning counted as other: %q", l.Text)
				}
			case LevelError, LevelFatal, LevelPanic:
			default:
				t.Fatalf("bad level %q", l.Level)
			}
			if len(l.Text) > MaxLineLen || l.Backend != "b" {
				t.Fatalf("bad line %+v", l)
			}
		}
		// Line by line, ParseLine and Classify agree with Parse.
		if len(data) <= MaxLineLen {
			var want []Line
			for _, s := range strings.SplitAfter(string(data), "\n") {
				s = strings.TrimSuffix(s, "\n")
				s = strings.TrimSuffix(s, "\r")
				l, ok := ParseLine(s, "b")
				if c := Classify(s); ok && c != l.Class {
					t.Fatalf("Classify(%q) = %q, ParseLine says %q", s, c, l.Class)
				}
				if ok {
					want = append(want, l)
				}
			}
			if len(want) != len(lines) {
				t.Fatalf("Parse found %d lines, ParseLine %d", len(lines), len(want))
			}
			for i := range want {
				if want[i] != lines[i] {
					t.Fatalf("line %d: Parse %+v, ParseLine %+v", i, lines[i], want[i])
				}
			}
		}
		per, total := Count(lines)
		sum := 0
		for _, n := range per {
			sum += n
		}
		if sum != total || total != len(lines) {
			t.Fatalf("counts %v total %d for %d lines", per, total, len(lines))
		}
	})
}
