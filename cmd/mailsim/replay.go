//go:build linux

package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/mailsim/mailsim/internal/buildinfo"
	"github.com/mailsim/mailsim/workloads/replay"
)

const replaySummary = "time mail operations on a real directory and fit a calibration profile"

func init() {
	register(command{name: "replay", summary: replaySummary, run: runReplay})
}

func runReplay(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := newFlagSet("replay", "", `Times mail operations on a real directory and fits a calibration profile.

Builds Maildirs in a scratch folder under --dir the way a delivery agent
does, times listings, an index rebuild, flag changes, expunges, index-log
appends and dotlocks at each folder size, writes replay-profile.toml and
replay-report.txt to --out, and removes the scratch folder. Whole-folder
operations are timed warm; with --drop-caches (as root) they are timed cold
too, after the kernel's page, dentry and inode caches are dropped. That
empties the caches of the whole machine, not just the scratch folder's,
and slows everything else running on it: never on a live mail server.
With --clients N > 1, N replayers then work on the same Maildir at once
and the contention they meet is reported. See the package documentation
of mailsim/workloads/replay for running one replayer per host on a shared
NFS mount.`, stderr)
	dir := fs.String("dir", "", "directory to make the scratch folder in (required)")
	messages := fs.String("messages", "1000,10000", "comma-separated folder sizes to measure")
	clients := fs.Int("clients", 1, "concurrent replayers for the contention phase (1 skips it)")
	out := fs.String("out", ".", "directory to write replay-profile.toml and replay-report.txt to")
	seed := fs.Uint64("seed", 1, "seed of the generated messages and random choices")
	fsync := fs.String("mail-fsync", replay.FsyncOptimized, "fsync policy, as Dovecot's mail_fsync (whose default is optimized): always, optimized or never")
	maxSize := fs.Int("max-size", replay.DefaultMaxSize, "largest message body in bytes")
	reps := fs.Int("reps", 9, "timings of each whole-folder operation per folder size")
	ops := fs.Int("ops", 200, "timings of each per-message operation per folder size")
	coldReps := fs.Int("cold-reps", 7, "timings of each whole-folder operation per folder size with caches dropped (with --drop-caches)")
	dropCaches := fs.Bool("drop-caches", false, "also time whole-folder operations cold: sync and drop the whole machine's page, dentry and inode caches before each cold timing (needs root; never on a live server)")
	cold := fs.String("cold", "", "the older spelling of --drop-caches: yes (--drop-caches), no, or auto (cold when root)")
	fs.hide("cold")
	keep := fs.Bool("keep", false, "keep the scratch folder at the end")
	join := fs.String("join", "", "join the kept scratch folder `NAME` under --dir (made on another host) for the contention phase only")
	contOps := fs.Int("contention-ops", 400, "operations per replayer in the contention phase")
	contTime := fs.Duration("contention-time", 0, "run the contention phase this long instead of --contention-ops")
	clean := fs.String("clean", "", "remove the scratch folders under `PATH` that no running replay uses, and exit")
	machine := fs.String("machine", "", "machine class for the profile's metadata (default: CPUs and platform)")
	where := fs.String("where", "", "what was measured, for the profile's metadata (e.g. \"local disk\", \"NFS filer over 10GbE\")")
	note := fs.String("note", "", "free text for the profile's metadata")
	wallTime := fs.Bool("wall-time", false, "time whole-folder operations in plain wall time, including time spent waiting for a CPU")
	quiet := fs.Bool("quiet", false, "do not print progress to stderr")
	pos, code := parseInterspersed(fs, args)
	if code >= 0 {
		return code
	}
	if len(pos) > 0 {
		fmt.Fprintf(stderr, "mailsim replay: unexpected argument %q\n", pos[0])
		fs.Usage()
		return 2
	}
	if *clean != "" {
		if note := replay.LocalLocks(*clean); note != "" {
			fmt.Fprintf(stderr, "mailsim replay: warning: %s; a folder in use by a replay on another host looks unused from here\n", note)
		}
		removed, left, err := replay.Clean(*clean, replay.CleanAll)
		for _, p := range removed {
			fmt.Fprintf(stdout, "removed %s\n", p)
		}
		for _, l := range left {
			fmt.Fprintf(stdout, "left %s (%s)\n", l.Path, l.Reason)
		}
		if err != nil {
			fmt.Fprintf(stderr, "mailsim replay: %v\n", err)
			return 1
		}
		return 0
	}
	if *dir == "" {
		fmt.Fprintln(stderr, "mailsim replay: --dir is required")
		return 2
	}
	sizes, err := parseSizes(*messages)
	if err != nil {
		fmt.Fprintf(stderr, "mailsim replay: --messages: %v\n", err)
		return 2
	}
	if !replay.ValidFsync(*fsync) {
		fmt.Fprintf(stderr, "mailsim replay: --mail-fsync %q: want always, optimized or never\n", *fsync)
		return 2
	}
	coldSetting, err := coldMode(*dropCaches, *cold)
	if err != nil {
		fmt.Fprintf(stderr, "mailsim replay: %v\n", err)
		return 2
	}
	var outDir *outputDir
	if *join == "" {
		if outDir, err = openOutputDir(*out); err != nil {
			fmt.Fprintf(stderr, "mailsim replay: --out: %v\n", err)
			return 2
		}
		defer outDir.close()
	}
	cfg := replay.Config{
		Dir: *dir, Messages: sizes, Clients: *clients, Seed: *seed, MailFsync: *fsync,
		MaxSize: *maxSize, Reps: *reps, OpsPerPoint: *ops, Cold: coldSetting, ColdReps: *coldReps, Keep: *keep,
		Join: *join, ContentionOps: *contOps, ContentionTime: *contTime,
		Version: buildinfo.String(), Machine: *machine, Where: *where, WallTime: *wallTime,
	}
	if !*quiet {
		cfg.Progress = stderr
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if note := replay.LocalLocks(*dir); note != "" {
		fmt.Fprintf(stderr, "mailsim replay: warning: %s; a mailsim replay --clean on another host cannot see that this replay is using its folder\n", note)
	}
	res, err := replay.Run(ctx, cfg)
	if res != nil && res.Scratch != "" && !*quiet {
		state := "removed"
		if res.Kept {
			state = "kept"
		}
		fmt.Fprintf(stderr, "mailsim replay: scratch folder %s (%s)\n", res.Scratch, state)
	}
	if err != nil {
		fmt.Fprintf(stderr, "mailsim replay: %v\n", err)
		return 1
	}
	for _, p := range res.Cleaned {
		fmt.Fprintf(stderr, "mailsim replay: removed leftover %s\n", p)
	}
	var rep bytes.Buffer
	if err := replay.WriteReport(&rep, res); err != nil {
		fmt.Fprintf(stderr, "mailsim replay: %v\n", err)
		return 1
	}
	stdout.Write(rep.Bytes())
	if res.Profile == nil {
		return 0
	}
	res.Profile.Meta.Note = *note
	data, err := res.Profile.Encode()
	// Both files are checked before either is written.
	if err == nil {
		err = outDir.checkReplaceable("replay-profile.toml")
	}
	if err == nil {
		err = outDir.checkReplaceable("replay-report.txt")
	}
	if err == nil {
		err = outDir.write("replay-profile.toml", data)
	}
	if err == nil {
		err = outDir.write("replay-report.txt", rep.Bytes())
	}
	if err != nil {
		fmt.Fprintf(stderr, "mailsim replay: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "\nprofile written to %s\n", filepath.Join(outDir.path, "replay-profile.toml"))
	return 0
}

// parseSizes parses a comma-separated list of folder sizes.
func parseSizes(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 2 {
			return nil, fmt.Errorf("%q is not a folder size of at least 2", f)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no folder sizes")
	}
	return out, nil
}

// coldMode returns replay.Config.Cold for the flags --drop-caches and
// --cold: cold timings, which drop the whole machine's caches, only when
// asked for.
func coldMode(dropCaches bool, cold string) (string, error) {
	switch {
	case cold == "":
	case cold != "auto" && cold != "yes" && cold != "no":
		return "", fmt.Errorf("--cold %q: want yes, no or auto (--drop-caches is yes)", cold)
	case dropCaches && cold != "yes":
		return "", fmt.Errorf("--drop-caches asks for cold timings, --cold %s does not", cold)
	default:
		return cold, nil
	}
	if dropCaches {
		return "yes", nil
	}
	return "no", nil
}

// outputDir is the directory mailsim replay writes its profile and report
// to. It is opened, and checked, once before the replay starts and held
// open until the end, and every operation works relative to it (os.Root),
// so the files land in the directory that was checked whatever is renamed
// meanwhile. Each file is written to a new temporary file in the
// directory, created with O_EXCL so that nothing already there (a symbolic
// link, a hard link to another file, a FIFO) is ever opened, and then
// renamed over its name. A rename replaces a directory entry and never
// writes through it, so no link's target is ever changed; an existing
// entry that is not a regular file is refused rather than replaced.
type outputDir struct {
	path string
	root *os.Root
}

// openOutputDir opens path as the output directory. It refuses anything
// but a directory, and a symbolic link to one: name the directory itself.
func openOutputDir(path string) (*outputDir, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return nil, fmt.Errorf("%s is a symbolic link; give the directory itself", path)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%s is not a directory", path)
	}
	root, err := os.OpenRoot(path)
	if err != nil {
		return nil, err
	}
	if st, err := root.Stat("."); err != nil || !os.SameFile(fi, st) {
		root.Close()
		return nil, fmt.Errorf("%s changed while it was opened", path)
	}
	return &outputDir{path: path, root: root}, nil
}

func (d *outputDir) close() {
	if d != nil && d.root != nil {
		d.root.Close()
		d.root = nil
	}
}

// write replaces the file name in the directory with data, as the type's
// comment describes.
func (d *outputDir) write(name string, data []byte) error {
	final := filepath.Join(d.path, name)
	if err := d.checkReplaceable(name); err != nil {
		return err
	}
	var tmp string
	var f *os.File
	for range 10 {
		tmp = "." + name + "." + rand.Text() + ".tmp"
		var err error
		f, err = d.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("create a temporary file for %s: %w", final, err)
		}
	}
	if f == nil {
		return fmt.Errorf("create a temporary file for %s: every name tried exists", final)
	}
	_, err := f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		// Checked again just before the rename, which itself never
		// follows a link planted meanwhile.
		err = d.checkReplaceable(name)
	}
	if err == nil {
		err = d.root.Rename(tmp, name)
	}
	if err != nil {
		d.root.Remove(tmp)
		return fmt.Errorf("write %s: %w", final, err)
	}
	return nil
}

// checkReplaceable refuses to replace name if it exists and is not a
// regular file. It only looks (lstat), never opens.
func (d *outputDir) checkReplaceable(name string) error {
	final := filepath.Join(d.path, name)
	fi, err := d.root.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("refusing to replace %s: %w", final, err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("refusing to replace %s: it is %s, not a regular file", final, replay.FileKind(fi.Mode()))
	}
	return nil
}
