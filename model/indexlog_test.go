package model

import (
	"testing"

	"github.com/mailsim/mailsim/model/sim"
)

// TestIndexLogThresholds checks the main-index rewrites and log rotations
// of sequences of 512-byte index writes against counts worked out by hand
// from Dovecot's rules.
func TestIndexLogThresholds(t *testing.T) {
	def := DefaultConfig()
	small := DefaultConfig()
	small.MailIndexLogRotateMinSize = 2048 // 4 writes
	small.MailIndexLogRotateMinAge = 60 * sim.Second
	// Transactions of 512 bytes, whatever the command, so that the counts
	// below are easy to check by hand.
	const testRecordBytes = 512
	for _, tc := range []struct {
		name     string
		cfg      *Config
		writes   int
		at       func(k int) sim.Time // time of the k-th write, from 1
		replayed bool
		rewrites int
		rotates  int
	}{
		// 512·k > 128 KiB from the 257th write on; the log, at least
		// 32 KiB from the 64th, is older than 300 s only at the 301st.
		{"one a second, 300", &def, 300, func(k int) sim.Time { return sim.Time(k) * sim.Second }, false, 1, 0},
		{"one a second, 301", &def, 301, func(k int) sim.Time { return sim.Time(k) * sim.Second }, false, 2, 1},
		// All at once: a rewrite every 257 writes; the log is over 1 MiB
		// at the 2,049th write after a rotation, which rewrites too
		// (writes 257, ..., 1799, 2049; 2306, ..., 3848, 4098).
		{"all at once", &def, 4100, func(int) sim.Time { return 0 }, false, 16, 2},
		// A refresh that replays more than 8 KiB: the 18th write after
		// a rewrite finds 17·512 = 8,704 bytes behind it.
		{"replayed", &def, 100, func(int) sim.Time { return 0 }, true, 5, 0},
		{"replayed, 17", &def, 17, func(int) sim.Time { return 0 }, true, 0, 0},
		// Every 10 s with a 2 KiB, 60 s rotation: the log created at 0
		// rotates at 70 s (7th write), the next at 140 s (14th).
		{"rotation by age", &small, 20, func(k int) sim.Time { return sim.Time(k) * 10 * sim.Second }, false, 2, 2},
		// Ages count whole seconds: at 300.9 s the log is 300 s old, not
		// older than 5 min; at 301 s it is.
		{"whole seconds", &def, 65, func(k int) sim.Time {
			if k == 65 {
				return 300*sim.Second + 900*sim.Millisecond
			}
			return 0
		}, false, 0, 0},
		{"whole seconds, 301", &def, 65, func(k int) sim.Time {
			if k == 65 {
				return 301 * sim.Second
			}
			return 0
		}, false, 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var l indexLog
			rewrites, rotates := 0, 0
			for k := 1; k <= tc.writes; k++ {
				m := l.append(tc.cfg, testRecordBytes, tc.at(k), tc.replayed)
				if m.rotate && !m.rewrite {
					t.Fatalf("write %d rotates the log without rewriting the index", k)
				}
				if m.rewrite {
					rewrites++
				}
				if m.rotate {
					rotates++
				}
			}
			if rewrites != tc.rewrites || rotates != tc.rotates {
				t.Errorf("%d writes: %d rewrites and %d rotations, want %d and %d", tc.writes, rewrites, rotates, tc.rewrites, tc.rotates)
			}
		})
	}
}

// TestIndexLogInRun checks that a run counts rewrites and rotations, and
// that each one adds its calls.
func TestIndexLogInRun(t *testing.T) {
	cfg := smallConfig()
	res, err := Run(cfg, &userHashRouter{n: cfg.Backends}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if res.IndexRewrites == 0 || res.LogRotations == 0 || res.LogRotations > res.IndexRewrites {
		t.Fatalf("%d index rewrites and %d log rotations", res.IndexRewrites, res.LogRotations)
	}
	// Without them (thresholds out of reach), fewer calls are made.
	cfg.MailIndexRewriteMinLogBytes, cfg.MailIndexRewriteMaxLogBytes = 1<<40, 1<<40
	cfg.MailIndexLogRotateMinSize, cfg.MailIndexLogRotateMaxSize = 1<<40, 1<<40
	quiet, err := Run(cfg, &userHashRouter{n: cfg.Backends}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if quiet.IndexRewrites != 0 || quiet.LogRotations != 0 {
		t.Fatalf("out-of-reach thresholds gave %d rewrites and %d rotations", quiet.IndexRewrites, quiet.LogRotations)
	}
	if quiet.NFSOpsPerSecond() >= res.NFSOpsPerSecond() {
		t.Errorf("NFS calls %.1f/s without rewrites, %.1f/s with", quiet.NFSOpsPerSecond(), res.NFSOpsPerSecond())
	}
}
