package experiments

import (
	"bytes"
	"encoding"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// DefaultsTOML renders the default T as TOML: every key with its default
// value and, above it, a comment with its documentation, default, range or
// valid values and unit; sections in struct order. Decoding the output
// gives the same value as [Defaults].
func DefaultsTOML[T any]() ([]byte, error) {
	v, err := Defaults[T]()
	if err != nil {
		return nil, err
	}
	return EncodeTOML(v)
}

// EncodeTOML renders v as TOML in the layout of [DefaultsTOML], for
// recording the exact spec of a run next to its results. Decoding the
// output gives v back.
func EncodeTOML[T any](v T) ([]byte, error) {
	s, err := schemaFor(reflect.TypeFor[T]())
	if err != nil {
		return nil, err
	}
	e := &encoder{root: s}
	e.table(s, reflect.ValueOf(v), "")
	return e.b.Bytes(), nil
}

type encoder struct {
	b    bytes.Buffer
	root *schema
	// header is set right after a table header, which needs no blank line
	// after it.
	header bool
}

// blank separates blocks with one empty line.
func (e *encoder) blank() {
	if e.header {
		e.header = false
		return
	}
	if e.b.Len() > 0 && !bytes.HasSuffix(e.b.Bytes(), []byte("\n\n")) {
		e.b.WriteByte('\n')
	}
}

// comment writes text as wrapped comment lines.
func (e *encoder) comment(text string) {
	for _, line := range wrap(text, 76) {
		if line == "" {
			e.b.WriteString("#\n")
		} else {
			e.b.WriteString("# " + line + "\n")
		}
	}
}

// table writes the keys of struct v, then its sections; path is v's table
// path ("" for the root).
func (e *encoder) table(s *schema, v reflect.Value, path string) {
	for _, f := range s.fields {
		switch f.kind {
		case kTable, kTables, kSweep:
			continue
		}
		e.blank()
		e.comment(f.doc)
		e.comment(describe(f))
		fmt.Fprintf(&e.b, "%s = %s\n", joinKey("", f.name), tomlValue(f, v.FieldByIndex(f.index)))
	}
	for _, f := range s.fields {
		fv := v.FieldByIndex(f.index)
		fpath := joinKey(path, f.name)
		if f.kind == kTable || f.kind == kTables || f.kind == kSweep {
			e.header = false
		}
		switch f.kind {
		case kTable:
			e.blank()
			e.comment(f.doc)
			fmt.Fprintf(&e.b, "[%s]\n", fpath)
			e.header = true
			e.table(f.sub, fv, fpath)
			e.header = false
		case kTables:
			e.blank()
			e.comment(f.doc)
			if fv.Len() == 0 {
				e.example(f, fpath)
			}
			for i := 0; i < fv.Len(); i++ {
				if i > 0 {
					e.blank()
				}
				fmt.Fprintf(&e.b, "[[%s]]\n", fpath)
				e.header = true
				e.table(f.sub, fv.Index(i), fpath)
				e.header = false
			}
		case kSweep:
			e.blank()
			e.comment(f.doc)
			e.sweep(fv.Interface().(Sweep), fpath)
		}
	}
}

// example writes a commented-out array-of-tables entry with its defaults.
func (e *encoder) example(f *field, path string) {
	e.comment(fmt.Sprintf("None by default. Each entry is a [[%s]] table such as this one, shown with the defaults of its keys:", path))
	el := reflect.New(f.typ.Elem()).Elem()
	setDefaults(f.sub, el)
	sub := &encoder{root: e.root}
	fmt.Fprintf(&sub.b, "[[%s]]\n", path)
	sub.header = true
	sub.table(f.sub, el, path)
	e.b.WriteString("#\n")
	for _, line := range strings.SplitAfter(sub.b.String(), "\n") {
		switch line {
		case "":
		case "\n":
			e.b.WriteString("#\n")
		default:
			e.b.WriteString("# " + line)
		}
	}
}

// sweep writes a [sweep] table.
func (e *encoder) sweep(sw Sweep, path string) {
	fmt.Fprintf(&e.b, "[%s]\n", path)
	if len(sw.Axes) == 0 {
		e.comment(`Nothing is swept by default. Each key is the path of a parameter and each value the list of its values to try, e.g. "section.key" = [1, 2, 4]. Runs cover every combination, the last key varying fastest.`)
		return
	}
	for _, ax := range sw.Axes {
		f, _, err := resolveSetting(e.root, reflect.New(e.root.typ).Elem(), ax.Path)
		vals := make([]string, len(ax.Values))
		for i, x := range ax.Values {
			if err != nil {
				vals[i] = quoteTOML(fmt.Sprint(x))
				continue
			}
			vals[i] = tomlValue(f, reflect.ValueOf(x))
		}
		fmt.Fprintf(&e.b, "%s = [%s]\n", strconv.Quote(ax.Path), strings.Join(vals, ", "))
	}
}

// describe summarises f's default and constraints for its comment.
func describe(f *field) string {
	parts := []string{"default " + tomlValue(f, f.def)}
	c, each := f, ""
	if f.kind == kList || f.kind == kMap {
		c, each = f.elem, "each "
	}
	var r []string
	if c.min != nil {
		r = append(r, "at least "+c.min.text)
	}
	if c.gt != nil {
		r = append(r, "greater than "+c.gt.text)
	}
	if c.max != nil {
		r = append(r, "at most "+c.max.text)
	}
	if c.lt != nil {
		r = append(r, "less than "+c.lt.text)
	}
	if len(r) > 0 {
		parts = append(parts, each+strings.Join(r, " and "))
	}
	if c.enum != nil {
		parts = append(parts, each+"one of "+quoteList(c.enum))
	}
	if f.unit != "" {
		parts = append(parts, "unit "+f.unit)
	}
	return strings.Join(parts, "; ")
}

// tomlValue renders v, a value of field f, as a TOML value.
func tomlValue(f *field, v reflect.Value) string {
	switch f.kind {
	case kBool:
		return strconv.FormatBool(v.Bool())
	case kInt:
		return strconv.FormatInt(v.Int(), 10)
	case kUint:
		return strconv.FormatUint(v.Uint(), 10)
	case kFloat:
		s := strconv.FormatFloat(v.Float(), 'g', -1, v.Type().Bits())
		if !strings.ContainsAny(s, ".e") {
			s += ".0"
		}
		return s
	case kString:
		return quoteTOML(v.String())
	case kDuration:
		return quoteTOML(formatDuration(v.Int()))
	case kText:
		s, _ := textOf(v)
		return quoteTOML(s)
	case kList:
		items := make([]string, v.Len())
		for i := range items {
			items[i] = tomlValue(f.elem, v.Index(i))
		}
		return "[" + strings.Join(items, ", ") + "]"
	case kMap:
		keys := make([]string, 0, v.Len())
		for _, k := range v.MapKeys() {
			keys = append(keys, k.String())
		}
		sort.Strings(keys)
		items := make([]string, len(keys))
		for i, k := range keys {
			items[i] = joinKey("", k) + " = " + tomlValue(f.elem, v.MapIndex(reflect.ValueOf(k).Convert(f.typ.Key())))
		}
		return "{" + strings.Join(items, ", ") + "}"
	case kTable:
		return inlineTable(f.sub, v)
	case kTables:
		items := make([]string, v.Len())
		for i := range items {
			items[i] = inlineTable(f.sub, v.Index(i))
		}
		return "[" + strings.Join(items, ", ") + "]"
	}
	return quoteTOML(fmt.Sprint(v.Interface()))
}

// inlineTable renders struct v as a TOML inline table.
func inlineTable(s *schema, v reflect.Value) string {
	var parts []string
	for _, f := range s.fields {
		if f.kind == kSweep {
			continue
		}
		parts = append(parts, joinKey("", f.name)+" = "+tomlValue(f, v.FieldByIndex(f.index)))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// textOf returns the text form of a kText value.
func textOf(v reflect.Value) (string, bool) {
	if v.Type().Implements(textMarshalerType) {
		b, err := v.Interface().(encoding.TextMarshaler).MarshalText()
		return string(b), err == nil
	}
	if v.CanAddr() && v.Addr().Type().Implements(textMarshalerType) {
		b, err := v.Addr().Interface().(encoding.TextMarshaler).MarshalText()
		return string(b), err == nil
	}
	return fmt.Sprint(v.Interface()), true
}

// quoteTOML renders s as a TOML basic string.
func quoteTOML(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\t':
			b.WriteString(`\t`)
		case '\n':
			b.WriteString(`\n`)
		case '\f':
			b.WriteString(`\f`)
		case '\r':
			b.WriteString(`\r`)
		default:
			if r < 0x20 || r == 0x7f {
				fmt.Fprintf(&b, `\u%04X`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// wrap splits text into lines of at most width bytes where it can, breaking
// at spaces.
func wrap(text string, width int) []string {
	var lines []string
	for _, para := range strings.Split(text, "\n") {
		words := strings.Fields(para)
		if len(words) == 0 {
			lines = append(lines, "")
			continue
		}
		line := words[0]
		for _, w := range words[1:] {
			if utf8.RuneCountInString(line)+1+utf8.RuneCountInString(w) > width {
				lines = append(lines, line)
				line = w
				continue
			}
			line += " " + w
		}
		lines = append(lines, line)
	}
	return lines
}
