package results

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Merge combines shard result sets srcs into a new set in dst. Every
// source must have the same manifest (spec, seed, build and plan), and
// together they must hold every planned run exactly once: Merge fails,
// naming the run IDs, when a run is missing or is in two sources. Shards
// of a sparse set (see [Manifest.Sparse]) need only share their identity;
// the merged plan lists the runs they hold. The
// merged set is byte-identical to one written by a single uninterrupted
// process, except for provenance.json, which lists the sessions of all
// sources in argument order. dst must not exist or be empty, or already
// hold this very merge (then Merge writes nothing and succeeds).
//
// Merge checks every source before it writes anything. It then marks dst
// unfinished until the last file is written: a merge that was killed or
// ran out of disk space leaves a folder that [Read] and [Open] refuse,
// and running the same merge again clears it and merges afresh.
func Merge(dst string, srcs ...string) error {
	return MergeWarn(dst, nil, srcs...)
}

// MergeWarn is [Merge] that calls warn (when not nil) with what it found
// amiss but could go on with, such as a source's unreadable
// provenance.json (that source's sessions are then left out of the
// merged provenance).
func MergeWarn(dst string, warn func(string), srcs ...string) error {
	if len(srcs) == 0 {
		return fmt.Errorf("results: merge needs at least one source set")
	}
	var (
		m     *Manifest
		prov  Provenance
		owner = map[string]string{} // run ID → source that holds it
		dups  []string
		runs  = map[string]*Run{}
		mans  []*Manifest
	)
	for i, src := range srcs {
		if filepath.Clean(src) == filepath.Clean(dst) {
			return fmt.Errorf("results: cannot merge %s into itself", src)
		}
		s, err := Read(src)
		if err != nil {
			return err
		}
		if s.Format != FormatVersion {
			return fmt.Errorf("results: cannot merge %s: it has format version %d, which records neither the build that wrote it nor its runs' spec fingerprints", src, s.Format)
		}
		for _, w := range s.Warnings {
			if warn != nil {
				warn(w)
			}
		}
		mans = append(mans, s.Manifest)
		if i == 0 {
			m = s.Manifest
		} else if err := sameBuild(m.Build, s.Manifest.Build); err != nil {
			return fmt.Errorf("results: cannot merge %s with %s: %s was written by %s, and %s by %s; shards must come from one build", src, srcs[0], srcs[0], m.Build, src, s.Manifest.Build)
		} else if err := sameManifest(m, s.Manifest); err != nil {
			return fmt.Errorf("results: %s and %s are not shards of one experiment: %v", srcs[0], src, err)
		}
		prov.Sessions = append(prov.Sessions, s.Provenance.Sessions...)
		for _, r := range s.Runs {
			if prev, ok := owner[r.ID]; ok {
				dups = append(dups, fmt.Sprintf("%s (in %s and %s)", r.ID, prev, src))
				continue
			}
			owner[r.ID] = src
			runs[r.ID] = r
		}
	}
	if m.Sparse {
		// Each shard lists the runs it holds: the merged plan is their
		// union, in the full plan's order.
		var plan []PlannedRun
		seen := map[string]bool{}
		for _, sm := range mans {
			for _, p := range sm.Plan {
				if runs[p.ID] != nil && !seen[p.ID] {
					seen[p.ID] = true
					plan = append(plan, p)
				}
			}
		}
		slices.SortFunc(plan, func(a, b PlannedRun) int { return a.Order - b.Order })
		c := *m
		c.Plan = plan
		m = &c
	}
	// A sparse plan lists only runs the sources hold, so none is missing.
	var missing []string
	for _, p := range m.Plan {
		if _, ok := runs[p.ID]; !ok {
			missing = append(missing, p.ID)
		}
	}
	var problems []string
	if len(dups) > 0 {
		problems = append(problems, fmt.Sprintf("%d run(s) in more than one source: %s", len(dups), strings.Join(dups, ", ")))
	}
	if len(missing) > 0 {
		problems = append(problems, fmt.Sprintf("%d run(s) missing from every source: %s", len(missing), strings.Join(missing, ", ")))
	}
	if len(problems) > 0 {
		return fmt.Errorf("results: cannot merge: %s", strings.Join(problems, "; "))
	}
	if mergedAlready(dst, m, runs) {
		return nil
	}
	w, err := create(dst, m, m, &prov, opMerge)
	if err != nil {
		return err
	}
	fp := fingerprint(m)
	for _, p := range m.Plan {
		b, err := encodeRun(runs[p.ID], fp)
		if err != nil {
			return err
		}
		if err := writeAtomic(filepath.Join(dst, runsDir), p.ID+".json", b); err != nil {
			return err
		}
	}
	if err := buildTables(dst); err != nil {
		return err
	}
	if err := w.writeProvenance(); err != nil {
		return err
	}
	return finish(dst)
}

// mergedAlready reports whether dst is a finished set that is the merge
// of runs with manifest m, such as one whose merging process was killed
// after it finished but before it could say so.
func mergedAlready(dst string, m *Manifest, runs map[string]*Run) bool {
	if op, err := unfinished(dst); err != nil || op != "" {
		return false
	}
	if _, err := os.Stat(filepath.Join(dst, manifestFile)); err != nil {
		return false
	}
	s, err := Read(dst)
	if err != nil || s.Format != FormatVersion || sameManifest(s.Manifest, m) != nil || len(s.Runs) != len(m.Plan) {
		return false
	}
	fp := fingerprint(m)
	for _, p := range m.Plan {
		want, err := encodeRun(runs[p.ID], fp)
		if err != nil {
			return false
		}
		got, err := os.ReadFile(filepath.Join(dst, runsDir, p.ID+".json"))
		if err != nil || !bytes.Equal(got, want) {
			return false
		}
	}
	return true
}
