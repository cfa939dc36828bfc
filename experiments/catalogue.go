package experiments

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"unicode"

	"github.com/pelletier/go-toml/v2"
)

// catalogueFS is the catalogue built into mailsim: the experiment specs of
// this folder and its subfolders, and the files they name by a path
// relative to themselves (calibration profiles, passdb maps).
//
//go:embed *.toml hung-host/*.toml index-damage/*.toml profiles/*.toml *.csv
var catalogueFS embed.FS

// catalogueDataDirs are the catalogue's folders of files that specs refer
// to, which are not specs themselves.
var catalogueDataDirs = map[string]bool{"profiles": true}

// CatalogueEntry is one experiment of the catalogue built into mailsim.
type CatalogueEntry struct {
	// Name is the spec's name, unique in the catalogue: the name that
	// mailsim run and mailsim plan take.
	Name string
	// Path is the spec file's slash-separated path in the catalogue, such
	// as "hung-host/v3.toml" (experiments/hung-host/v3.toml in mailsim's
	// source).
	Path string
	// Description is the spec's description: the question it answers.
	Description string
	// Plan reports whether the spec has a [plan] section, which mailsim
	// plan needs.
	Plan bool
}

// Summary returns the first sentence of the entry's description, on one
// line; when that is a short statement ("Dovecot 2.4 removed the
// director."), the question after it too.
func (c CatalogueEntry) Summary() string {
	s := firstSentence(c.Description)
	if len(s) >= shortSentence || strings.HasSuffix(s, "?") {
		return s
	}
	rest := strings.Join(strings.Fields(c.Description), " ")
	rest = strings.TrimSpace(strings.TrimPrefix(rest, s))
	if rest == "" {
		return s
	}
	return s + " " + firstSentence(rest)
}

// shortSentence is the length below which a summary's first sentence,
// unless a question, is followed by the second.
const shortSentence = 40

// TOML returns the entry's spec file.
func (c CatalogueEntry) TOML() []byte {
	b, err := catalogueFS.ReadFile(c.Path)
	if err != nil {
		// Every entry was read from catalogueFS by Catalogue.
		panic("experiments: catalogue entry " + c.Path + " unreadable: " + err.Error())
	}
	return b
}

// DisplayName is how messages name the entry's spec file, as they name
// the embedded default experiment.
func (c CatalogueEntry) DisplayName() string { return c.Path + " (embedded)" }

// Load loads the entry as [Load] loads a spec file. The catalogue's files
// are copied to a new temporary folder first, so that the spec's relative
// paths resolve as they do beside the spec in mailsim's source; the
// experiment's Dir is that folder, which cleanup removes once the
// experiment is no longer needed. Messages name the entry, not the copy.
func (c CatalogueEntry) Load() (exp *Experiment, cleanup func() error, err error) {
	dir, err := os.MkdirTemp("", "mailsim-catalogue-")
	if err != nil {
		return nil, nil, err
	}
	cleanup = func() error { return os.RemoveAll(dir) }
	if err := os.CopyFS(dir, catalogueFS); err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("experiments: copy the catalogue: %w", err)
	}
	file := filepath.Join(dir, filepath.FromSlash(c.Path))
	exp, err = Load(file, c.TOML())
	if err != nil {
		cleanup()
		return nil, nil, c.relabel(err, dir, file)
	}
	exp.File = c.DisplayName()
	return exp, cleanup, nil
}

// relabel rewrites an error of loading the copy of the entry at file, in
// the temporary folder dir, to name the entry.
func (c CatalogueEntry) relabel(err error, dir, file string) error {
	prefix := dir + string(filepath.Separator)
	var errs Errors
	if !errors.As(err, &errs) {
		return errors.New(strings.ReplaceAll(err.Error(), prefix, ""))
	}
	out := make(Errors, len(errs))
	for i, e := range errs {
		e2 := *e
		if e2.File == file {
			e2.File = c.DisplayName()
		}
		e2.Msg = strings.ReplaceAll(e2.Msg, prefix, "")
		out[i] = &e2
	}
	return out
}

// catalogue is Catalogue's result, read once.
var catalogue = sync.OnceValues(readCatalogue)

// Catalogue returns the experiments built into mailsim, ordered by name.
func Catalogue() ([]CatalogueEntry, error) {
	es, err := catalogue()
	return slices.Clone(es), err
}

func readCatalogue() ([]CatalogueEntry, error) {
	var out []CatalogueEntry
	err := fs.WalkDir(catalogueFS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if catalogueDataDirs[p] {
				return fs.SkipDir
			}
			return nil
		}
		if path.Ext(p) != ".toml" {
			return nil
		}
		data, err := catalogueFS.ReadFile(p)
		if err != nil {
			return err
		}
		// Only what the listing shows: a full decode checks the spec
		// against this machine's memory, and the catalogue lists every
		// entry whatever the machine.
		var head struct {
			Name        string         `toml:"name"`
			Description string         `toml:"description"`
			Plan        map[string]any `toml:"plan"`
		}
		if err := toml.Unmarshal(data, &head); err != nil {
			return fmt.Errorf("experiments: catalogue entry %s: %w", p, err)
		}
		if head.Name == "" {
			head.Name = strings.TrimSuffix(path.Base(p), ".toml")
		}
		out = append(out, CatalogueEntry{Name: head.Name, Path: p, Description: head.Description, Plan: head.Plan != nil})
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b CatalogueEntry) int { return strings.Compare(a.Name, b.Name) })
	for i := 1; i < len(out); i++ {
		if out[i].Name == out[i-1].Name {
			return nil, fmt.Errorf("experiments: catalogue entries %s and %s have the same name %q", out[i-1].Path, out[i].Path, out[i].Name)
		}
	}
	return out, nil
}

// UnknownExperimentError is returned by [LookupCatalogue] for a name the
// catalogue does not have.
type UnknownExperimentError struct {
	// Name is the name looked up.
	Name string
	// Close lists the catalogue's names closest to it, closest first.
	Close []string
}

func (e *UnknownExperimentError) Error() string {
	msg := fmt.Sprintf("no experiment %q in the catalogue", e.Name)
	switch len(e.Close) {
	case 0:
	case 1:
		msg += "; did you mean " + e.Close[0] + "?"
	default:
		msg += "; did you mean one of " + strings.Join(e.Close, ", ") + "?"
	}
	return msg
}

// LookupCatalogue returns the catalogue's entry named name: a spec's name
// ("hung-host-v3"), or a spec file's path in the catalogue, with or
// without ".toml" and a leading "experiments/" ("hung-host/v3"). An
// unknown name gives an [*UnknownExperimentError].
func LookupCatalogue(name string) (CatalogueEntry, error) {
	es, err := catalogue()
	if err != nil {
		return CatalogueEntry{}, err
	}
	p := strings.TrimPrefix(filepath.ToSlash(name), "experiments/")
	for _, e := range es {
		if e.Name == name || e.Path == p || strings.TrimSuffix(e.Path, ".toml") == p {
			return e, nil
		}
	}
	names := make([]string, len(es))
	for i, e := range es {
		names[i] = e.Name
	}
	return CatalogueEntry{}, &UnknownExperimentError{Name: name, Close: closeNames(name, names, 5)}
}

// closeNames returns up to n of names that look like a mistyped or
// shortened name: within an edit distance of a third of its length (at
// least 2), or containing it. The closest come first.
func closeNames(name string, names []string, n int) []string {
	type cand struct {
		name string
		dist int
	}
	var cs []cand
	q := strings.ToLower(strings.TrimSuffix(path.Base(filepath.ToSlash(name)), ".toml"))
	limit := max(2, len([]rune(q))/3)
	for _, nm := range names {
		d := editDistance(q, strings.ToLower(nm))
		switch {
		case d <= limit:
		case len(q) >= 3 && strings.Contains(strings.ToLower(nm), q):
			d = limit + 1 + len(nm) - len(q)
		default:
			continue
		}
		cs = append(cs, cand{nm, d})
	}
	slices.SortStableFunc(cs, func(a, b cand) int { return a.dist - b.dist })
	var out []string
	for _, c := range cs[:min(n, len(cs))] {
		out = append(out, c.name)
	}
	return out
}

// editDistance is the Levenshtein distance between a and b, in runes.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// firstSentence returns the first sentence of text with its line breaks
// and runs of spaces made single spaces: up to the first '?' or '!' that
// ends a word, or '.' that ends a word and is followed by a capital letter,
// a digit or the end (so neither "2.4" nor "e.g. the" nor "..." ends it);
// else the first line.
func firstSentence(text string) string {
	words := strings.Fields(text)
	for i, w := range words {
		end := strings.TrimRight(w, ")\"'")
		if end == "" {
			continue
		}
		switch end[len(end)-1] {
		case '?', '!':
			return strings.Join(words[:i+1], " ")
		case '.':
		default:
			continue
		}
		if strings.HasSuffix(end, "..") {
			continue
		}
		if i+1 == len(words) {
			return strings.Join(words, " ")
		}
		if r := []rune(strings.TrimLeft(words[i+1], "(\"'")); len(r) > 0 && (unicode.IsUpper(r[0]) || unicode.IsDigit(r[0])) {
			return strings.Join(words[:i+1], " ")
		}
	}
	first, _, _ := strings.Cut(strings.TrimSpace(text), "\n")
	return strings.Join(strings.Fields(first), " ")
}
