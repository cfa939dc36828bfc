package report

import (
	"bufio"
	"strings"
)

// specKey is one key of an expanded spec with its value and the comment
// above it (the key's documentation, with its default and source).
type specKey struct {
	Key   string
	Value string
	Doc   string
}

// parseExpanded reads the keys of an expanded spec, as `mailsim spec
// defaults` writes it: each key preceded by its comment, tables in
// [brackets]. A multi-line string's value is kept as its first line, and
// its other lines are not read as keys; nothing here interprets values
// beyond their text.
func parseExpanded(spec string) []specKey {
	var out []specKey
	var doc []string
	def := false
	table := ""
	sc := bufio.NewScanner(strings.NewReader(spec))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	closing := "" // the delimiter of a multi-line string being skipped
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if closing != "" {
			// Inside a multi-line string: its lines are text, not keys.
			if strings.Contains(line, closing) {
				closing = ""
			}
			continue
		}
		switch {
		case line == "":
			doc, def = nil, false
		case strings.HasPrefix(line, "#"):
			c := strings.TrimSpace(strings.TrimPrefix(line, "#"))
			if strings.HasPrefix(c, "default ") || strings.HasPrefix(c, "default:") {
				def = true // the default and range follow the description
			}
			if !def {
				doc = append(doc, c)
			}
		case strings.HasPrefix(line, "[[") && strings.HasSuffix(line, "]]"):
			table = strings.Trim(line, "[] ")
			doc, def = nil, false
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			table = strings.Trim(line, "[] ")
			doc, def = nil, false
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				doc, def = nil, false
				continue
			}
			k, v = strings.TrimSpace(k), strings.TrimSpace(v)
			for _, q := range []string{`"""`, `'''`} {
				if strings.HasPrefix(v, q) && !strings.Contains(v[len(q):], q) {
					closing = q
				}
			}
			if table != "" {
				k = table + "." + k
			}
			out = append(out, specKey{Key: k, Value: v, Doc: strings.Join(doc, " ")})
			doc, def = nil, false
		}
	}
	return out
}

// given returns the dotted keys that a spec as given sets (its own
// choices, not defaults).
func given(spec string) map[string]bool {
	out := map[string]bool{}
	for _, k := range parseExpanded(spec) {
		out[k.Key] = true
	}
	return out
}

// assumption is one row of the report's "what drives the result" table.
type assumption struct {
	Kind  string // varied, chosen, measured, assumed
	Key   string
	Value string
	Note  string
}

// notApplicable lists tables whose keys do not act unless another key
// selects them: key prefix → the condition, as key=value, that makes them
// act.
var notApplicable = map[string]string{
	"storage.cluster_fs.": "storage.kind=\"cluster-fs\"",
	"storage.fuse.":       "storage.kind=\"fuse\"",
}

// assumptions lists what drives a result: the swept keys, the keys the
// experiment sets, the keys whose defaults are measurements, and those
// whose defaults are the model's assumptions (their documentation says
// so). Keys of storage kinds the experiment does not use are left out.
func assumptions(expanded, givenSpec string, swept []string, values map[string][]string) []assumption {
	keys := parseExpanded(expanded)
	val := map[string]string{}
	for _, k := range keys {
		val[k.Key] = k.Value
	}
	applies := func(key string) bool {
		for prefix, cond := range notApplicable {
			if strings.HasPrefix(key, prefix) {
				k, v, _ := strings.Cut(cond, "=")
				return val[k] == v
			}
		}
		return true
	}
	var out []assumption
	seen := map[string]bool{}
	for _, k := range swept {
		out = append(out, assumption{Kind: "varied", Key: k, Value: strings.Join(values[k], ", ")})
		seen[k] = true
	}
	skip := map[string]bool{"name": true, "description": true}
	g := given(givenSpec)
	for _, k := range keys {
		if g[k.Key] && !seen[k.Key] && !skip[k.Key] && !strings.HasPrefix(k.Key, "sweep") {
			out = append(out, assumption{Kind: "chosen", Key: k.Key, Value: k.Value, Note: firstSentence(k.Doc)})
			seen[k.Key] = true
		}
	}
	for _, kind := range []string{"measured", "assumed"} {
		for _, k := range keys {
			if seen[k.Key] || !applies(k.Key) || strings.HasPrefix(k.Key, "plan.") {
				continue
			}
			if (kind == "measured" && isMeasured(k.Doc)) || (kind == "assumed" && isAssumed(k.Doc)) {
				out = append(out, assumption{Kind: kind, Key: k.Key, Value: k.Value, Note: source(k.Doc)})
				seen[k.Key] = true
			}
		}
	}
	return out
}

// isAssumed reports whether a key's documentation calls its default an
// assumption of the model.
func isAssumed(doc string) bool {
	return strings.Contains(doc, "assumption")
}

// isMeasured reports whether a key's documentation gives its default as
// a measurement.
func isMeasured(doc string) bool {
	for _, s := range []string{"measured on", "measured for", "measured by", "MEASURED.md", "measured against", "calibration profile"} {
		if strings.Contains(doc, s) {
			return true
		}
	}
	return false
}

// firstSentence returns doc up to its first "; " or ". ", at most about
// 160 characters.
func firstSentence(doc string) string {
	if i := strings.Index(doc, ". "); i > 0 {
		doc = doc[:i]
	}
	return clip(doc, 160)
}

// source returns the part of doc that says where the default comes from:
// its parenthesised note mentioning a measurement or an assumption, else
// its first sentence.
func source(doc string) string {
	for _, open := range []int{strings.Index(doc, "(MEASURED"), strings.Index(doc, "(model assumption"), strings.Index(doc, "(measured"), strings.Index(doc, "(assumption")} {
		if open >= 0 {
			if end := strings.Index(doc[open:], ")"); end > 0 {
				return clip(firstSentence(doc[:open])+" "+doc[open:open+end+1], 220)
			}
		}
	}
	return clip(doc, 220)
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return strings.TrimSpace(string(r[:n-1])) + "…"
}
