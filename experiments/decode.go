package experiments

import (
	"encoding"
	"fmt"
	"math"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2/unstable"
)

// Decode decodes the TOML spec data into a T, strictly: unknown keys, wrong
// types, values out of range or not among the valid ones, bad durations,
// bad sweeps and failed cross-field checks are all errors. Keys the file
// does not set take the defaults from T's tags.
//
// name is the file name used in messages. When the spec is invalid Decode
// returns the zero T and an [Errors] listing every problem found; a TOML
// syntax error stops decoding at the first one. A mistake in T's tags is
// reported as a plain error.
func Decode[T any](name string, data []byte) (T, error) {
	var zero T
	s, err := schemaFor(reflect.TypeFor[T]())
	if err != nil {
		return zero, err
	}
	var v T
	errs := decodeInto(name, data, s, reflect.ValueOf(&v).Elem())
	if len(errs) > 0 {
		return zero, errs
	}
	return v, nil
}

// DecodeFile reads and decodes the spec file at path; see [Decode].
func DecodeFile[T any](path string) (T, error) {
	data, err := ReadSpecFile(path)
	if err != nil {
		var zero T
		return zero, Errors{{File: path, Msg: readErrorMsg(err)}}
	}
	return Decode[T](path, data)
}

// readErrorMsg words a file read error without repeating the file name.
func readErrorMsg(err error) string {
	if pe, ok := err.(*os.PathError); ok {
		return "cannot read: " + pe.Err.Error()
	}
	return "cannot read: " + err.Error()
}

// Defaults returns a T with every key set to its default.
func Defaults[T any]() (T, error) {
	var v T
	s, err := schemaFor(reflect.TypeFor[T]())
	if err != nil {
		return v, err
	}
	setDefaults(s, reflect.ValueOf(&v).Elem())
	return v, nil
}

// Check decodes each spec file as a T and returns every problem in all of
// them as [Errors], or nil if all are valid.
func Check[T any](files ...string) error {
	if _, err := schemaFor(reflect.TypeFor[T]()); err != nil {
		return err
	}
	var all Errors
	for _, f := range files {
		if _, err := DecodeFile[T](f); err != nil {
			all = append(all, err.(Errors)...)
		}
	}
	if len(all) == 0 {
		return nil
	}
	return all
}

// decoder collects the errors of one file.
type decoder struct {
	file   string
	root   *tnode
	schema *schema
	errs   Errors
	sweeps []pendingSweep
	// axisPos holds the positions of the values of each swept parameter.
	axisPos map[string][]Pos
}

type pendingSweep struct {
	n    *tnode
	v    reflect.Value
	path string
}

func (d *decoder) errAt(p Pos, key, format string, args ...any) {
	d.errs = append(d.errs, &Error{File: d.file, Pos: p, Key: key, Msg: fmt.Sprintf(format, args...)})
}

// decodeInto decodes data into v, whose struct type s describes.
func decodeInto(name string, data []byte, s *schema, v reflect.Value) Errors {
	root, serr := parseTree(data)
	if serr != nil {
		return Errors{{File: name, Pos: serr.pos, Msg: serr.msg}}
	}
	d := &decoder{file: name, root: root, schema: s, axisPos: map[string][]Pos{}}
	setDefaults(s, v)
	d.table(root, s, v, "")
	if h, ok := v.Addr().Interface().(decodedHook); ok {
		h.decoded(func(key string) bool { return hasKey(root, key) })
	}
	var points []Point
	for _, ps := range d.sweeps {
		sw := d.sweep(ps)
		ps.v.Set(reflect.ValueOf(sw))
		if len(sw.Axes) > 0 {
			points = sw.Points()
		}
	}
	if len(d.errs) > 0 {
		d.errs.sort()
		return d.errs
	}
	// The size of the whole design is checked once, before the points.
	if rc, ok := v.Addr().Interface().(runCounter); ok {
		for _, fe := range rc.validateRuns(max(len(points), 1)) {
			d.errAt(lookupPos(d.root, fe.Path), fe.Path, "%s", fe.Msg)
		}
		if len(d.errs) > 0 {
			d.errs.sort()
			return d.errs
		}
	}
	if points == nil {
		d.validate(v, "", "")
	} else {
		d.validatePoints(v, points)
	}
	d.errs.sort()
	return d.errs
}

// decodedHook is implemented by spec types that fill in keys from others
// the file sets; has reports whether the file sets a key path.
type decodedHook interface {
	decoded(has func(key string) bool)
}

// hasKey reports whether the tree sets the key path ("cluster.backends").
func hasKey(root *tnode, path string) bool {
	steps, ok := splitPath(path)
	if !ok {
		return false
	}
	n := root
	for _, st := range steps {
		if n = n.child(st.key); n == nil {
			return false
		}
	}
	return true
}

// runCounter is implemented by spec types that check the number of runs
// their sweep, strategies and replicas plan, given the number of sweep
// points, once rather than at every point.
type runCounter interface {
	validateRuns(points int) []FieldError
}

// setDefaults sets every key of v, described by s, to its default.
func setDefaults(s *schema, v reflect.Value) {
	for _, f := range s.fields {
		fv := v.FieldByIndex(f.index)
		switch f.kind {
		case kTable:
			setDefaults(f.sub, fv)
		case kTables, kSweep:
			fv.SetZero()
		case kList:
			fv.Set(reflect.AppendSlice(reflect.MakeSlice(f.typ, 0, f.def.Len()), f.def))
		case kMap:
			fv.Set(deepCopy(f.def))
		default:
			fv.Set(f.def)
		}
	}
}

// table decodes table n onto struct v, described by s; path is n's key path.
func (d *decoder) table(n *tnode, s *schema, v reflect.Value, path string) {
	for _, k := range n.keys {
		c := n.kids[k]
		kpath := joinKey(path, k)
		f := s.byName[k]
		if f == nil {
			if why, ok := removedKeys[kpath]; ok {
				d.errAt(c.keyPos, kpath, "%s", why)
				continue
			}
			d.errAt(c.keyPos, kpath, "%s", unknownKey(k, s))
			continue
		}
		d.field(c, f, v.FieldByIndex(f.index), kpath)
	}
}

// removedKeys are keys that older specs may still set, by key path, with
// what replaced them.
var removedKeys = map[string]string{
	"nfs.index_corruption_probability": "nfs.index_corruption_probability was removed: index damage now follows from " +
		"Dovecot's and the NFS client's mechanisms under the nfs.client.* and dovecot.* keys " +
		"(see the dovecot.errors.* metrics), with no probability to set",
	"nfs.index_rebuild_per_message": "nfs.index_rebuild_per_message was removed: the model no longer rebuilds " +
		"an index from the Maildir; a lost or corrupted log is repaired by an fsck, an index scan charged as " +
		"cluster.cpu.select_per_message (see index_fscks)",
	"plan.objectives.corrupted_per_million_sessions": "corrupted_per_million_sessions was replaced by " +
		"dovecot_errors_per_million_sessions (Dovecot index errors of every class per million sessions)",
	"plan.objectives.users_empty_mailbox": "users_empty_mailbox was replaced by users_uidvalidity_changed " +
		"(users with a folder whose UIDVALIDITY changed, so that clients downloaded it again)",
}

// unknownKey words the error for key k, unknown in s.
func unknownKey(k string, s *schema) string {
	names := make([]string, len(s.fields))
	for i, f := range s.fields {
		names[i] = f.name
	}
	msg := fmt.Sprintf("unknown key %q", k)
	if near := nearest(k, names); near != "" {
		return msg + fmt.Sprintf("; did you mean %q?", near)
	}
	if len(names) == 0 {
		return msg + "; this table has no keys"
	}
	return msg + "; valid keys are " + strings.Join(names, ", ")
}

// expected names what a field of kind k is written as.
func expected(k kind) string {
	switch k {
	case kBool:
		return "a boolean"
	case kInt, kUint:
		return "an integer"
	case kFloat:
		return "a number"
	case kString, kText:
		return "a string"
	case kDuration:
		return `a duration string such as "90s" or "15m"`
	case kList:
		return "an array"
	case kMap:
		return "a table"
	case kTables:
		return "an array of tables"
	default:
		return "a table"
	}
}

// field decodes node n into v, the value of field f.
func (d *decoder) field(n *tnode, f *field, v reflect.Value, path string) {
	typeErr := func(n *tnode, path string, k kind) {
		d.errAt(n.valPos, path, "expected %s, found %s", expected(k), n.tomlType())
	}
	switch f.kind {
	case kTable:
		if n.kind != tTable {
			typeErr(n, path, f.kind)
			return
		}
		d.table(n, f.sub, v, path)
	case kTables:
		if n.kind != tArray {
			typeErr(n, path, f.kind)
			return
		}
		out := reflect.MakeSlice(f.typ, 0, len(n.items))
		for i, it := range n.items {
			ipath := fmt.Sprintf("%s[%d]", path, i)
			if it.kind != tTable {
				d.errAt(it.valPos, ipath, "expected a table, found %s", it.tomlType())
				continue
			}
			e := reflect.New(f.typ.Elem()).Elem()
			setDefaults(f.sub, e)
			d.table(it, f.sub, e, ipath)
			out = reflect.Append(out, e)
		}
		v.Set(out)
	case kList:
		if n.kind != tArray {
			typeErr(n, path, f.kind)
			return
		}
		out := reflect.MakeSlice(f.typ, len(n.items), len(n.items))
		for i, it := range n.items {
			d.scalar(it, f.elem, out.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
		v.Set(out)
	case kMap:
		if n.kind != tTable {
			typeErr(n, path, f.kind)
			return
		}
		out := reflect.MakeMapWithSize(f.typ, len(n.keys))
		for _, k := range n.keys {
			e := reflect.New(f.elem.typ).Elem()
			d.scalar(n.kids[k], f.elem, e, joinKey(path, k))
			out.SetMapIndex(reflect.ValueOf(k).Convert(f.typ.Key()), e)
		}
		v.Set(out)
	case kSweep:
		if n.kind != tTable {
			typeErr(n, path, f.kind)
			return
		}
		d.sweeps = append(d.sweeps, pendingSweep{n: n, v: v, path: path})
	default:
		d.scalar(n, f, v, path)
	}
}

// scalar decodes node n into v, a scalar of field f.
func (d *decoder) scalar(n *tnode, f *field, v reflect.Value, path string) {
	if msg := scalarMsg(n, f, v); msg != "" {
		d.errAt(n.valPos, path, "%s", msg)
	}
}

// scalarMsg decodes n into v and returns what is wrong, or "".
func scalarMsg(n *tnode, f *field, v reflect.Value) string {
	mismatch := func() string {
		msg := fmt.Sprintf("expected %s, found %s", expected(f.kind), n.tomlType())
		if f.kind == kDuration && n.kind == tScalar && (n.sk == unstable.Integer || n.sk == unstable.Float) {
			msg += fmt.Sprintf(`; write "%ss" for seconds`, n.data)
		}
		return msg
	}
	if n.kind != tScalar {
		return mismatch()
	}
	text := n.data
	switch f.kind {
	case kBool:
		if n.sk != unstable.Bool {
			return mismatch()
		}
		v.SetBool(n.data == "true")
	case kInt, kUint:
		if n.sk != unstable.Integer {
			return mismatch()
		}
		i, err := strconv.ParseInt(n.data, 0, 64)
		if err != nil {
			return fmt.Sprintf("%s does not fit in a 64-bit integer", n.data)
		}
		text = strconv.FormatInt(i, 10)
		if f.kind == kUint {
			if i < 0 {
				return fmt.Sprintf("%d is below the minimum 0", i)
			}
			if v.OverflowUint(uint64(i)) {
				return fmt.Sprintf("%d does not fit in %s", i, f.typ)
			}
			v.SetUint(uint64(i))
		} else {
			if v.OverflowInt(i) {
				return fmt.Sprintf("%d does not fit in %s", i, f.typ)
			}
			v.SetInt(i)
		}
	case kFloat:
		var x float64
		switch n.sk {
		case unstable.Integer:
			i, err := strconv.ParseInt(n.data, 0, 64)
			if err != nil {
				return fmt.Sprintf("%s does not fit in a 64-bit integer", n.data)
			}
			x = float64(i)
		case unstable.Float:
			var err error
			x, err = strconv.ParseFloat(strings.ReplaceAll(n.data, "_", ""), 64)
			if err != nil && !math.IsInf(x, 0) {
				return fmt.Sprintf("bad number %s", n.data)
			}
		default:
			return mismatch()
		}
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Sprintf("%s is not a finite number", n.data)
		}
		if v.OverflowFloat(x) {
			return fmt.Sprintf("%s does not fit in %s", n.data, f.typ)
		}
		v.SetFloat(x)
	case kString:
		if n.sk != unstable.String {
			return mismatch()
		}
		v.SetString(n.data)
	case kDuration:
		if n.sk != unstable.String {
			return mismatch()
		}
		dur, err := time.ParseDuration(n.data)
		if err != nil {
			return fmt.Sprintf(`bad duration %q: want a number and a unit (ns, us, ms, s, m, h) such as "90s", "15m" or "1h30m"`, n.data)
		}
		v.SetInt(int64(dur))
	case kText:
		if n.sk != unstable.String {
			return mismatch()
		}
		if f.enum == nil {
			if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(n.data)); err != nil {
				return fmt.Sprintf("bad value %q: %v", n.data, err)
			}
			return checkValue(f, v, text)
		}
		// Check the enum first: it names the valid values, which the
		// type's own error may not.
		if msg := checkValue(f, v, text); msg != "" {
			return msg
		}
		if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(n.data)); err != nil {
			return fmt.Sprintf("bad value %q: %v", n.data, err)
		}
		return ""
	}
	return checkValue(f, v, text)
}

// validate calls Validate on v and on every section inside it that
// implements [Validator], reporting each FieldError where its path is in the
// file; path is v's key path and suffix is appended to each message.
func (d *decoder) validate(v reflect.Value, path, suffix string) {
	s, _ := schemaFor(v.Type())
	for _, f := range s.fields {
		fv := v.FieldByIndex(f.index)
		switch f.kind {
		case kTable:
			d.validate(fv, joinKey(path, f.name), suffix)
		case kTables:
			for i := 0; i < fv.Len(); i++ {
				d.validate(fv.Index(i), fmt.Sprintf("%s[%d]", joinKey(path, f.name), i), suffix)
			}
		}
	}
	for _, fe := range callValidate(v) {
		key := fe.Path
		switch {
		case path == "":
		case fe.Path == "":
			key = path
		default:
			key = path + "." + fe.Path
		}
		d.errAt(lookupPos(d.root, key), key, "%s%s", fe.Msg, suffix)
	}
}

// callValidate calls v's Validate method, with a value or pointer receiver.
func callValidate(v reflect.Value) []FieldError {
	if v.CanAddr() {
		if val, ok := v.Addr().Interface().(Validator); ok {
			return val.Validate()
		}
	}
	if val, ok := v.Interface().(Validator); ok {
		return val.Validate()
	}
	return nil
}

// validatePoints validates the spec at every sweep point. A problem that
// recurs at several points is reported once, naming the first of them.
func (d *decoder) validatePoints(base reflect.Value, points []Point) {
	type seen struct {
		err   *Error
		msg   string
		count int
	}
	var order []*seen
	index := map[string]*seen{}
	// Every point sets every swept key, so one copy serves them all.
	c := deepCopy(base)
	for _, p := range points {
		if err := applyPoint(c, p); err != nil {
			d.errAt(Pos{}, "", "%v", err)
			return
		}
		sub := &decoder{file: d.file, root: d.root}
		sub.validate(c, "", "")
		for _, e := range sub.errs {
			k := e.Key + "\x00" + e.Msg
			if s := index[k]; s != nil {
				s.count++
				continue
			}
			s := &seen{err: e, msg: e.Msg, count: 1}
			e.Msg += " at sweep point " + p.String()
			// A problem with a swept value is where that value is.
			for _, set := range p.Settings {
				if set.Path == e.Key {
					e.Pos = d.axisPos[set.Path][set.Index]
				}
			}
			index[k] = s
			order = append(order, s)
		}
	}
	for _, s := range order {
		if s.count > 1 {
			s.err.Msg += fmt.Sprintf(", and at %d other point%s", s.count-1, plural(s.count-1))
		}
		d.errs = append(d.errs, s.err)
	}
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
