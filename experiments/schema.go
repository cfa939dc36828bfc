package experiments

import (
	"encoding"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mailsim/mailsim/model/sim"
)

// kind is how a field is written in TOML.
type kind int

const (
	kBool     kind = iota + 1
	kInt           // any signed integer kind
	kUint          // any unsigned integer kind
	kFloat         // float32, float64
	kString        // string or a named string type
	kDuration      // time.Duration, sim.Time: a Go duration string
	kText          // encoding.TextUnmarshaler: a string
	kList          // slice of scalars: an array
	kMap           // map from string to scalar: a table of any keys
	kTable         // struct: a table
	kTables        // slice of structs: an array of tables
	kSweep         // Sweep: a table of paths to value lists
)

var (
	durationTypes = map[reflect.Type]bool{
		reflect.TypeFor[time.Duration](): true,
		reflect.TypeFor[sim.Time]():      true,
	}
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	textMarshalerType   = reflect.TypeFor[encoding.TextMarshaler]()
	sweepType           = reflect.TypeFor[Sweep]()
)

// field describes one key of a spec struct.
type field struct {
	name  string
	index []int
	typ   reflect.Type
	kind  kind
	doc   string
	unit  string

	defText string // the default tag, as written
	hasDef  bool
	def     reflect.Value // the parsed default (scalars and lists)

	min, max, gt, lt *bound
	enum             []string

	// noSweep, from the nosweep tag, says why the key cannot be swept;
	// "" lets it be.
	noSweep string

	elem *field  // element of a kList, value of a kMap
	sub  *schema // struct of a kTable or kTables

	// bind is the path of the field of the bound configuration that the
	// key sets (see bind.go), with its sections' bind tags before it; ""
	// for none. For a section it is the prefix of its keys' paths.
	bind string
}

// bound is a parsed range limit, comparable with values of its field.
type bound struct {
	text string
	i    int64
	u    uint64
	f    float64
}

// schema is the parsed description of one struct type.
type schema struct {
	typ    reflect.Type
	fields []*field
	byName map[string]*field
}

var schemaCache sync.Map // reflect.Type -> schemaResult

type schemaResult struct {
	s   *schema
	err error
}

// schemaFor returns the schema of struct type t, building it once.
func schemaFor(t reflect.Type) (*schema, error) {
	if r, ok := schemaCache.Load(t); ok {
		res := r.(schemaResult)
		return res.s, res.err
	}
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("experiments: spec type %s is not a struct", t)
	}
	var errs []error
	s := buildSchema(t, t.Name(), "", 0, map[reflect.Type]bool{}, &errs)
	if b, ok := reflect.Zero(t).Interface().(defaultsBinder); ok {
		fillBoundDefaults(s, reflect.ValueOf(b.boundDefaults()), t.Name(), &errs)
	} else {
		requireDefaults(s, t.Name(), &errs)
	}
	sweeps := 0
	for _, f := range s.fields {
		if f.kind == kSweep {
			if sweeps++; sweeps == 2 {
				errs = append(errs, fmt.Errorf("experiments: %s: more than one Sweep field", t.Name()))
			}
		}
	}
	res := schemaResult{s: s, err: errors.Join(errs...)}
	schemaCache.Store(t, res)
	return res.s, res.err
}

// buildSchema describes struct t, reporting tag mistakes in errs; where names
// t's place for messages, and bind is the bind path of the section t is.
func buildSchema(t reflect.Type, where, bind string, depth int, seen map[reflect.Type]bool, errs *[]error) *schema {
	s := &schema{typ: t, byName: map[string]*field{}}
	if seen[t] {
		*errs = append(*errs, fmt.Errorf("experiments: %s: recursive type %s", where, t))
		return s
	}
	seen[t] = true
	defer delete(seen, t)
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		name, ok := sf.Tag.Lookup("toml")
		if name == "-" {
			continue
		}
		fwhere := where + "." + sf.Name
		name, _, _ = strings.Cut(name, ",")
		if !ok || name == "" {
			*errs = append(*errs, fmt.Errorf("experiments: %s: no toml tag", fwhere))
			continue
		}
		if s.byName[name] != nil {
			*errs = append(*errs, fmt.Errorf("experiments: %s: key %q used twice", fwhere, name))
			continue
		}
		f := &field{name: name, index: sf.Index, typ: sf.Type}
		f.doc = sf.Tag.Get("doc")
		f.unit = sf.Tag.Get("unit")
		if f.doc == "" {
			*errs = append(*errs, fmt.Errorf("experiments: %s: no doc tag", fwhere))
		}
		f.defText, f.hasDef = sf.Tag.Lookup("default")
		if b, ok := sf.Tag.Lookup("bind"); ok {
			f.bind = joinBind(bind, b)
		}
		if why, ok := sf.Tag.Lookup("nosweep"); ok {
			if why == "" {
				*errs = append(*errs, fmt.Errorf("experiments: %s: empty nosweep tag; say why the key cannot be swept", fwhere))
			}
			f.noSweep = why
		}
		fillField(f, sf.Tag, fwhere, bind, depth, seen, errs)
		s.fields = append(s.fields, f)
		s.byName[name] = f
	}
	return s
}

// scalarKind classifies a type that is written as one TOML value, or returns
// 0.
func scalarKind(t reflect.Type) kind {
	if durationTypes[t] {
		return kDuration
	}
	if reflect.PointerTo(t).Implements(textUnmarshalerType) {
		return kText
	}
	switch t.Kind() {
	case reflect.Bool:
		return kBool
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return kInt
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return kUint
	case reflect.Float32, reflect.Float64:
		return kFloat
	case reflect.String:
		return kString
	}
	return 0
}

// fillField classifies f, a field of a struct depth levels below the root
// whose section has bind path bind, and parses its constraint and default
// tags.
func fillField(f *field, tag reflect.StructTag, where, bind string, depth int, seen map[reflect.Type]bool, errs *[]error) {
	bad := func(format string, args ...any) {
		*errs = append(*errs, fmt.Errorf("experiments: %s: "+format, append([]any{where}, args...)...))
	}
	t := f.typ
	switch {
	case t == sweepType:
		f.kind = kSweep
		if depth > 0 {
			bad("a sweep must be a key of the root struct")
		}
	case scalarKind(t) != 0:
		f.kind = scalarKind(t)
	case t.Kind() == reflect.Struct:
		f.kind = kTable
		// A section without a bind tag keeps its parent's prefix.
		if f.bind == "" {
			f.bind = bind
		}
		f.sub = buildSchema(t, where, f.bind, depth+1, seen, errs)
		if over, ok := tag.Lookup("defaults"); ok {
			overrideDefaults(f.sub, over, bad)
		}
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct && scalarKind(t.Elem()) == 0:
		f.kind = kTables
		f.sub = buildSchema(t.Elem(), where, "", depth+1, seen, errs)
	case t.Kind() == reflect.Slice && scalarKind(t.Elem()) != 0:
		f.kind = kList
		f.elem = &field{name: f.name, typ: t.Elem(), kind: scalarKind(t.Elem())}
	case t.Kind() == reflect.Map && t.Key().Kind() == reflect.String && scalarKind(t.Elem()) != 0:
		f.kind = kMap
		f.elem = &field{name: f.name, typ: t.Elem(), kind: scalarKind(t.Elem())}
	default:
		bad("unsupported type %s", t)
		return
	}
	// Constraints live on the scalar: the field itself or a list's element.
	c := f
	if f.kind == kList || f.kind == kMap {
		c = f.elem
	}
	for _, b := range []struct {
		name string
		dst  **bound
	}{{"min", &c.min}, {"max", &c.max}, {"gt", &c.gt}, {"lt", &c.lt}} {
		text, ok := tag.Lookup(b.name)
		if !ok {
			continue
		}
		switch c.kind {
		case kInt, kUint, kFloat, kDuration:
		default:
			bad("%s tag on a non-numeric key", b.name)
			continue
		}
		v, err := parseBound(c, text)
		if err != nil {
			bad("%s tag: %v", b.name, err)
			continue
		}
		*b.dst = v
	}
	if e, ok := tag.Lookup("enum"); ok {
		if c.kind != kString && c.kind != kText {
			bad("enum tag on a non-string key")
		} else {
			c.enum = strings.Split(e, "|")
		}
	}
	if _, ok := tag.Lookup("defaults"); ok && f.kind != kTable {
		bad("defaults tag on a key that is not a section")
	}
	switch f.kind {
	case kTable, kTables, kSweep:
		if f.hasDef {
			bad("default tag on a section")
		}
		return
	}
	if !f.hasDef {
		if f.bind == "" {
			bad("no default tag")
		}
		// A bound key without one takes the bound field's default:
		// see fillBoundDefaults.
		return
	}
	v, msg := parseDefault(f)
	if msg != "" {
		bad("default %q: %s", f.defText, msg)
		return
	}
	f.def = v
}

// defaultsBinder is implemented by spec types whose bound keys (see
// bind.go) take their defaults from the fields they are bound to:
// boundDefaults returns the bound configuration with its defaults.
type defaultsBinder interface {
	boundDefaults() any
}

// fillBoundDefaults gives every bound key of s that has no default tag the
// value of its field in bound, checked against the key's own range.
func fillBoundDefaults(s *schema, bound reflect.Value, where string, errs *[]error) {
	for _, f := range s.fields {
		fwhere := where + "." + f.name
		switch {
		case f.kind == kTable:
			fillBoundDefaults(f.sub, bound, fwhere, errs)
			continue
		case f.hasDef || f.kind == kTables || f.kind == kSweep:
			continue
		}
		bad := func(format string, args ...any) {
			*errs = append(*errs, fmt.Errorf("experiments: %s: "+format, append([]any{fwhere}, args...)...))
		}
		tv, ok := lookupBind(bound, f.bind)
		if !ok {
			bad("bind path %q names no field of %s", f.bind, bound.Type())
			continue
		}
		if !tv.Type().ConvertibleTo(f.typ) || f.kind == kMap {
			bad("bind path %q: a %s cannot be the default of a %s", f.bind, tv.Type(), f.typ)
			continue
		}
		v := reflect.New(f.typ).Elem()
		if f.kind == kList {
			if tv.Len() > 0 {
				v.Set(deepCopy(tv).Convert(f.typ))
			} else {
				v.Set(reflect.MakeSlice(f.typ, 0, 0))
			}
		} else {
			v.Set(tv.Convert(f.typ))
			if msg := checkValue(f, v, tomlValue(f, v)); msg != "" {
				bad("default from %s: %s", f.bind, msg)
				continue
			}
		}
		f.def, f.hasDef, f.defText = v, true, tomlValue(f, v)
	}
}

// requireDefaults reports every key of s without a default, for spec
// types that bind no defaults.
func requireDefaults(s *schema, where string, errs *[]error) {
	for _, f := range s.fields {
		switch {
		case f.kind == kTable:
			requireDefaults(f.sub, where+"."+f.name, errs)
		case !f.hasDef && f.kind != kTables && f.kind != kSweep && f.bind != "":
			*errs = append(*errs, fmt.Errorf("experiments: %s.%s: no default tag", where, f.name))
		}
	}
}

// overrideDefaults applies a section's defaults tag, "key=value;key=value",
// to the keys of sub, the section's own schema (built for this field
// alone): each value replaces the default tag of its key.
func overrideDefaults(sub *schema, tag string, bad func(string, ...any)) {
	for _, part := range strings.Split(tag, ";") {
		k, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		g := sub.byName[k]
		switch {
		case !ok:
			bad("defaults tag: %q is not key=value", part)
			continue
		case g == nil:
			bad("defaults tag: no key %q in the section", k)
			continue
		case g.kind == kTable || g.kind == kTables || g.kind == kSweep:
			bad("defaults tag: %q is a section", k)
			continue
		}
		g.defText, g.hasDef = val, true
		v, msg := parseDefault(g)
		if msg != "" {
			bad("defaults tag: %s=%q: %s", k, val, msg)
			continue
		}
		g.def = v
	}
}

// parseBound parses a min/max/gt/lt tag for scalar field c.
func parseBound(c *field, text string) (*bound, error) {
	b := &bound{text: text}
	var err error
	switch c.kind {
	case kInt:
		b.i, err = strconv.ParseInt(text, 10, 64)
	case kUint:
		b.u, err = strconv.ParseUint(text, 10, 64)
	case kFloat:
		b.f, err = strconv.ParseFloat(text, 64)
	case kDuration:
		var d time.Duration
		d, err = time.ParseDuration(text)
		b.i = int64(d)
		b.text = formatDuration(b.i)
	}
	return b, err
}

// parseDefault parses f's default tag into a value of f's type, checking it
// against f's own constraints.
func parseDefault(f *field) (reflect.Value, string) {
	if f.kind == kMap {
		v := reflect.MakeMap(f.typ)
		if f.defText == "" {
			return v, ""
		}
		for _, part := range strings.Split(f.defText, ",") {
			k, val, ok := strings.Cut(part, "=")
			if !ok {
				return v, "want key=value pairs"
			}
			e, msg := parseText(f.elem, strings.TrimSpace(val))
			if msg != "" {
				return v, msg
			}
			v.SetMapIndex(reflect.ValueOf(strings.TrimSpace(k)).Convert(f.typ.Key()), e)
		}
		return v, ""
	}
	if f.kind == kList {
		v := reflect.MakeSlice(f.typ, 0, 0)
		if f.defText == "" {
			return v, ""
		}
		for _, part := range strings.Split(f.defText, ",") {
			e, msg := parseText(f.elem, strings.TrimSpace(part))
			if msg != "" {
				return v, msg
			}
			v = reflect.Append(v, e)
		}
		return v, ""
	}
	return parseText(f, f.defText)
}

// parseText parses the tag form of a scalar (as in a default tag) and checks
// it against the field's constraints.
func parseText(f *field, text string) (reflect.Value, string) {
	v := reflect.New(f.typ).Elem()
	switch f.kind {
	case kBool:
		b, err := strconv.ParseBool(text)
		if err != nil {
			return v, "not a boolean"
		}
		v.SetBool(b)
	case kInt:
		i, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return v, "not an integer"
		}
		if v.OverflowInt(i) {
			return v, "overflows " + f.typ.String()
		}
		v.SetInt(i)
	case kUint:
		u, err := strconv.ParseUint(text, 10, 64)
		if err != nil {
			return v, "not an unsigned integer"
		}
		if v.OverflowUint(u) {
			return v, "overflows " + f.typ.String()
		}
		v.SetUint(u)
	case kFloat:
		x, err := strconv.ParseFloat(text, 64)
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
			return v, "not a finite number"
		}
		v.SetFloat(x)
	case kString:
		v.SetString(text)
	case kDuration:
		d, err := time.ParseDuration(text)
		if err != nil {
			return v, "not a duration"
		}
		v.SetInt(int64(d))
	case kText:
		if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(text)); err != nil {
			return v, err.Error()
		}
	}
	if msg := checkValue(f, v, text); msg != "" {
		return v, msg
	}
	return v, ""
}

// checkValue checks scalar v of field f against f's range and enum; text is
// how the value was written, for the enum check of kText fields.
func checkValue(f *field, v reflect.Value, text string) string {
	switch f.kind {
	case kInt, kDuration:
		x := v.Int()
		show := func(n int64) string {
			if f.kind == kDuration {
				return formatDuration(n)
			}
			return strconv.FormatInt(n, 10)
		}
		switch {
		case f.kind == kDuration && f.max == nil && x > int64(MaxDuration):
			return fmt.Sprintf("%s is above the maximum %s that any duration may have", show(x), formatDuration(int64(MaxDuration)))
		case f.min != nil && x < f.min.i:
			return fmt.Sprintf("%s is below the minimum %s", show(x), f.min.text)
		case f.max != nil && x > f.max.i:
			return fmt.Sprintf("%s is above the maximum %s", show(x), f.max.text)
		case f.gt != nil && x <= f.gt.i:
			return fmt.Sprintf("%s is not greater than %s", show(x), f.gt.text)
		case f.lt != nil && x >= f.lt.i:
			return fmt.Sprintf("%s is not less than %s", show(x), f.lt.text)
		}
	case kUint:
		x := v.Uint()
		s := strconv.FormatUint(x, 10)
		switch {
		case f.min != nil && x < f.min.u:
			return fmt.Sprintf("%s is below the minimum %s", s, f.min.text)
		case f.max != nil && x > f.max.u:
			return fmt.Sprintf("%s is above the maximum %s", s, f.max.text)
		case f.gt != nil && x <= f.gt.u:
			return fmt.Sprintf("%s is not greater than %s", s, f.gt.text)
		case f.lt != nil && x >= f.lt.u:
			return fmt.Sprintf("%s is not less than %s", s, f.lt.text)
		}
	case kFloat:
		x := v.Float()
		s := strconv.FormatFloat(x, 'g', -1, 64)
		switch {
		case f.min != nil && x < f.min.f:
			return fmt.Sprintf("%s is below the minimum %s", s, f.min.text)
		case f.max != nil && x > f.max.f:
			return fmt.Sprintf("%s is above the maximum %s", s, f.max.text)
		case f.gt != nil && x <= f.gt.f:
			return fmt.Sprintf("%s is not greater than %s", s, f.gt.text)
		case f.lt != nil && x >= f.lt.f:
			return fmt.Sprintf("%s is not less than %s", s, f.lt.text)
		}
	case kString, kText:
		if f.enum == nil {
			return ""
		}
		s := text
		if f.kind == kString {
			s = v.String()
		}
		for _, e := range f.enum {
			if s == e {
				return ""
			}
		}
		msg := fmt.Sprintf("%q is not one of %s", s, quoteList(f.enum))
		if near := nearest(s, f.enum); near != "" {
			msg += fmt.Sprintf("; did you mean %q?", near)
		}
		return msg
	}
	return ""
}

// quoteList renders names as "a", "b", "c".
func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, ", ")
}

// nearest returns the candidate closest to s within edit distance 2, the
// first one on ties, or "" if none is that close.
func nearest(s string, candidates []string) string {
	best, bestD := "", 3
	for _, c := range candidates {
		if d := levenshtein(s, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// levenshtein is the edit distance between a and b, in bytes.
func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// formatDuration writes ns nanoseconds as a compact Go duration string that
// time.ParseDuration reads back: "15m", "1h30m", "3s", "250ms", "0s".
func formatDuration(ns int64) string {
	if ns == 0 {
		return "0s"
	}
	var b strings.Builder
	u := uint64(ns)
	if ns < 0 {
		b.WriteByte('-')
		u = -u
	}
	units := []struct {
		name string
		size uint64
	}{{"h", uint64(time.Hour)}, {"m", uint64(time.Minute)}, {"s", uint64(time.Second)},
		{"ms", uint64(time.Millisecond)}, {"us", uint64(time.Microsecond)}, {"ns", 1}}
	for _, un := range units {
		if q := u / un.size; q > 0 {
			b.WriteString(strconv.FormatUint(q, 10))
			b.WriteString(un.name)
			u -= q * un.size
		}
	}
	return b.String()
}
