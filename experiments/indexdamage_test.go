package experiments

import (
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mailsim/mailsim/model"
	"github.com/mailsim/mailsim/results"
	"github.com/mailsim/mailsim/workloads/testbed/dovecotlog"
)

// indexDamageConfigs are the configurations of the index damage matrix,
// in table order: each is experiments/index-damage/NAME.toml, simulated
// into results/reference/index-damage/NAME and run on the testbed into
// results/reference/index-damage/NAME-testbed.
var indexDamageConfigs = []string{"one-backend", "random", "nfs-settings", "dotlock", "actimeo0", "lookupcache-none", "nfs42", "local-index"}

// indexDamageExceptions are the cells where the simulator and the testbed
// disagree by the matrix's rule, each with the reason. The test fails on
// a disagreement not listed here, and on a listed one that no longer
// disagrees, so that the list says exactly where the model falls short.
var indexDamageExceptions = map[string]string{
	"random other":           otherReason,
	"nfs-settings other":     otherReason,
	"dotlock other":          otherReason,
	"actimeo0 other":         otherReason,
	"lookupcache-none other": otherReason,
	"random uidlist_duplicate": "218 of the testbed's 222 lines come from one event in one replica, in which a " +
		"backend listed every message of a folder again with a new UID; the other two replicas logged none. The model " +
		"re-lists only the lines a backend could not read, and has no mechanism that re-lists a whole folder",
	"nfs-settings uidlist_next_uid_lowered": "the testbed logged it in every other configuration (1 to 3 times in three " +
		"runs) but not in this one; the model gives it 1 to 5 times a run here. Counts this small are within what three " +
		"runs can tell apart",
	"nfs-settings expunged_reappeared": "mail_nfs_storage makes the model revalidate the Maildir's directories on every " +
		"sync, so no listing is stale; the testbed still saw 4 in three runs, from a race between a listing and " +
		"another backend's expunge inside one round trip, which the model, working at the grain of commands, does not have",
	"dotlock transaction_log_lost": dotlockOpens,
	"dotlock index_fsck":           dotlockOpens,
	"dotlock cache_corrupted": "on the testbed most commands failed on the corrupted log before they read the cache " +
		"(see transaction_log_lost); the model fails fewer of them (19 to 29 %), so " +
		"more of its FETCHes reach stale cache records",
	"dotlock uidlist_duplicate": "the duplicates come from IMAP syncs that find messages without a UID; on the testbed " +
		"those syncs mostly failed on the corrupted log, in the model more of them run",
	"lookupcache-none uidlist_duplicate": "the model re-lists unreadable lines at every sync that finds them (19 a run); " +
		"the testbed logged none in this configuration and 9 with actimeo=0; which of the two ways a stale page shows " +
		"(an unfinished last line, or a broken one) depends on where the page boundary falls, which the model places " +
		"from a mean line length",
	"lookupcache-none stale_file_handle": staleHandles,
	"actimeo0 stale_file_handle":         staleHandles,
	"nfs42 other":                        otherReason,
	"local-index other":                  otherReason,
	"local-index uidlist_duplicate": "as in the random configuration, the testbed's duplicates come from one event per " +
		"run (about 220 lines each, in all three replicas here) in which a backend listed a whole folder again with new " +
		"UIDs; the model re-lists only the lines a backend could not read, and has no mechanism that re-lists a whole folder",
	"local-index stale_file_handle": "the model's are appends to dovecot-uidlist through a handle of a file another " +
		"backend wrote afresh; the testbed logged none with the indexes local (against 4,050 in three runs with them on " +
		"NFS), so Dovecot reopened the file by its name first there, which the model's sessions do only once the " +
		"directory's attributes show the new name",
	"nfs42 stale_file_handle": "under NFSv4 the model has none: an open keeps a deleted or replaced file at the server " +
		"(nfsd holds it until the CLOSE), so a handle of a file another backend replaced still reads. The testbed logged " +
		"6 in three runs (against 4,050 under NFSv3), from fstat() of a cache file; the model has no mechanism for these few",
	"nfs42 transaction_log_corrupted": nfs42Log,
	"nfs42 transaction_log_lost":      nfs42Log,
	"nfs42 index_fsck":                nfs42Log,
	"nfs42 uidlist_broken": "the model's uidlist damage is NFSv3's (49 a run here, 50 under NFSv3, where " +
		"the testbed logged 17, within the factor of 3); the testbed's 15 under NFSv4.2 are as many as under NFSv3, so " +
		"the model's excess is the one of the random configuration, not something of NFSv4",
	"nfs42 uidlist_duplicate": "the model re-lists lines a backend could not read at every sync that finds them, as " +
		"under NFSv3 (7 a run there, where the testbed's 222 came from one event); the testbed logged none under NFSv4.2",
	"nfs42 expunged_reappeared": "the model's stale listings of cur/ are NFSv3's, 4 to 5 a run; the testbed logged 5 in " +
		"three runs under NFSv3 and none under NFSv4.2, counts within what three runs can tell apart",
}

// nfs42Log explains the corrupted and lost transaction logs of the nfs42
// configuration.
const nfs42Log = "all of the testbed's come from one replica of three (44 lines, 2 users), none from the other two; " +
	"under NFSv3 with the same locking it logged none. The cause is not established: a candidate is that the Linux " +
	"client skips the cache invalidation of an fcntl lock while it holds a read delegation of the file " +
	"(fs/nfs/file.c, do_setlk), and the server's snapshots once showed dovecot.index.log delegated; the model grants " +
	"no delegation of a log another backend has open, so its appends under the lock never land at a stale end"

// dotlockOpens explains the lost logs and fscks of the dotlock
// configuration.
const dotlockOpens = "the model opens the folder fewer times than the testbed's clients did: with the log corrupted, " +
	"45 to 72 % of the testbed's IMAP commands failed and its clients logged in and selected again (49 to 56 sessions " +
	"a run against the model's 32 to 40), and every open of a corrupted log finds it lost and fscks the index. " +
	"transaction_log_corrupted agrees"

// staleHandles explains the stale file handles where the model logs
// fewer than a third of the testbed's.
const staleHandles = "the count is how long sessions go on using a cache file another backend replaced, 20 lines per " +
	"FETCH; it varies between runs far more than between configurations (1,418 to 2,753 a run on the testbed with " +
	"actimeo=0 or lookupcache=none, 1,147 to 1,635 with Dovecot's defaults; 86 to 1,102 in the model), and the " +
	"model's mean is 0.27 to 0.28 of the testbed's in these two configurations, 0.41 to 0.92 in the others"

// otherReason explains the class "other" in indexDamageExceptions.
const otherReason = "the testbed's class for the Dovecot lines its classifier places in no other class (here, over all " +
	"configurations: \"Mailbox was deleted under us\" 17 times, \"log position went backwards\" 12, stat() of a cache " +
	"file another backend had just deleted 13, \"view is inconsistent\" and \"view syncing failed\" 12, inotify on " +
	"the uidlist's lock 6, and one assertion failure that killed an imap process); the model has no mechanism for these"

// agreementFactor is how far apart the simulated and the testbed means of
// a class the testbed saw often may be.
const agreementFactor = 3

// oftenSeen is how many errors of a class, over all replicas, the testbed
// must log for the factor to apply; below it only whether the class
// occurs at all must agree.
const oftenSeen = 20

// TestIndexDamageAgreement holds the simulator to the testbed on the
// index damage matrix: for every configuration and error class, both
// must see the class or both not, and where the testbed logged it at
// least oftenSeen times, the simulated mean per run must be within
// agreementFactor of the testbed's. It also writes the matrix's table
// (results/reference/index-damage/TABLE.md) with -update, and otherwise
// checks that the committed table is the one the sets give.
func TestIndexDamageAgreement(t *testing.T) {
	dir := filepath.Join("..", "results", "reference", "index-damage")
	classes := make([]string, 0, len(dovecotlog.Classes())+1)
	for _, c := range dovecotlog.Classes() {
		classes = append(classes, c.Metric())
	}
	classes = append(classes, dovecotlog.MetricPrefix+"total")
	modeled := map[string]bool{model.ErrorMetricPrefix + "total": true}
	for e := range model.NumErrorClasses {
		modeled[model.ErrorMetricPrefix+e.String()] = true
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s", tableHeader)
	disagree := map[string]string{}
	for _, name := range indexDamageConfigs {
		sim, err := results.Read(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		tb, err := results.Read(filepath.Join(dir, name+"-testbed"))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "\n### %s (%d simulated runs, %d testbed runs)\n\n", name, len(sim.Runs), len(tb.Runs))
		fmt.Fprintf(&b, "| class | simulated | testbed | testbed total | agrees |\n|---|---:|---:|---:|---|\n")
		for _, m := range classes {
			sv := results.MetricValues(sim.Runs, m)
			rv := results.MetricValues(tb.Runs, m)
			short := strings.TrimPrefix(m, dovecotlog.MetricPrefix)
			if modeled[m] && len(sv) != len(sim.Runs) {
				t.Errorf("%s: the simulated set has no metric %s", name, m)
			}
			smean, rmean, rsum := mean(sv), mean(rv), sum(rv)
			scell := fmtMean(smean)
			verdict := "yes"
			switch {
			case strings.HasSuffix(m, ".total"):
				verdict = "–"
			case !modeled[m]:
				scell = "not modeled"
				if rsum != 0 {
					verdict = "no: not modeled"
				}
			case (smean == 0) != (rsum == 0):
				verdict = "no: occurs in one only"
			case rsum >= oftenSeen && (smean > agreementFactor*rmean || rmean > agreementFactor*smean):
				verdict = fmt.Sprintf("no: %.2gx", smean/rmean)
			}
			if verdict != "yes" && verdict != "–" {
				disagree[name+" "+short] = verdict
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", short, scell, fmtMean(rmean), fmtMean(rsum), verdict)
		}
	}
	fmt.Fprintf(&b, "\n## Where they disagree\n\n")
	if len(indexDamageExceptions) == 0 {
		fmt.Fprintf(&b, "Nowhere.\n")
	}
	for _, k := range slices.Sorted(maps.Keys(indexDamageExceptions)) {
		fmt.Fprintf(&b, "- **%s**: %s\n", k, indexDamageExceptions[k])
	}
	for _, k := range slices.Sorted(maps.Keys(disagree)) {
		if _, ok := indexDamageExceptions[k]; !ok {
			t.Errorf("%s: the simulator and the testbed disagree (%s), and no reason is recorded", k, disagree[k])
		}
	}
	for k := range indexDamageExceptions {
		if _, ok := disagree[k]; !ok {
			t.Errorf("%s is listed as a disagreement but agrees", k)
		}
	}
	path := filepath.Join(dir, "TABLE.md")
	if *update {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != b.String() {
		t.Errorf("%s is not the table the sets give (run the test with -update)", path)
	}
}

const tableHeader = `# Index damage: the simulator against the testbed

Dovecot's errors about its index files, by class, in each configuration
of experiments/index-damage (three users with a desktop client, a phone
and webmail each, all busy, mail every few seconds, one folder: 10 s of
warm-up and 90 s measured, three replicas), simulated ('mailsim run')
and on the one-kernel testbed ('mailsim testbed run'). Cells are means
per run over the replicas; "testbed total" sums the testbed's replicas.
A class agrees when both see it or neither does, and, where the testbed
logged it at least 20 times, the simulated mean is within a factor of 3
of the testbed's. The testbed's class "other" holds the lines its
classifier does not place in a class; the model produces none.

This file is written by 'go test ./experiments -run IndexDamageAgreement
-update' from the result sets beside it; the test checks both the table
and the rule.
`

func mean(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	return sum(v) / float64(len(v))
}

func sum(v []float64) float64 {
	var s float64
	for _, x := range v {
		if !math.IsNaN(x) {
			s += x
		}
	}
	return s
}

func fmtMean(v float64) string {
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

// The simulator's error classes are all classes the testbed knows.
func TestModelErrorClassesAreTestbedClasses(t *testing.T) {
	known := map[string]bool{}
	for _, c := range dovecotlog.Classes() {
		known[string(c)] = true
	}
	for e := range model.NumErrorClasses {
		if !known[e.String()] {
			t.Errorf("the model's class %s is not one the testbed classifies", e)
		}
	}
	if model.ErrorMetricPrefix != dovecotlog.MetricPrefix {
		t.Errorf("metric prefixes differ: %q and %q", model.ErrorMetricPrefix, dovecotlog.MetricPrefix)
	}
}
