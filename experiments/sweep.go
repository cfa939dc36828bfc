package experiments

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
)

// MaxSweepPoints is the largest number of points a sweep may have.
const MaxSweepPoints = 100_000

// Sweep is a spec section that varies parameters: each key is the dotted
// path of a parameter and its value the list of values to try,
//
//	[sweep]
//	"cluster.backends" = [4, 8, 16]
//	"nfs.client.actimeo" = ["0s", "3s", "60s"]
//
// The points of the sweep are the cartesian product of the lists, in the
// order the keys appear in the file, the last key varying fastest. A path
// names a key of the spec (not a section); each value is checked like the
// same value at that key in the file.
type Sweep struct {
	// Axes are the swept parameters in file order.
	Axes []Axis
}

// Axis is one swept parameter.
type Axis struct {
	// Path is the parameter's key path, "cluster.backends".
	Path string
	// Values are the values to try, each of the parameter's Go type.
	Values []any
	// Labels are the values as short text, "8", "3s", "director", for run
	// tables and chart legends; nil means fmt.Sprint of each value.
	Labels []string
}

// Setting is one parameter's value at a sweep point.
type Setting struct {
	Path  string
	Value any
	Label string
	// Index is the position of Value in its axis.
	Index int
}

// Point is one combination of swept values.
type Point struct {
	// Index is the point's position in the sweep, from 0.
	Index int
	// Settings holds one value per axis, in axis order.
	Settings []Setting
}

// String renders p as "cluster.backends=8 nfs.client.actimeo=3s", or "" for
// the single point of an empty sweep.
func (p Point) String() string {
	parts := make([]string, len(p.Settings))
	for i, s := range p.Settings {
		parts[i] = s.Path + "=" + s.Label
	}
	return strings.Join(parts, " ")
}

// Len returns the number of points of s: the product of the lengths of its
// axes, 1 for an empty sweep.
func (s Sweep) Len() int {
	n := 1
	for _, a := range s.Axes {
		n *= len(a.Values)
	}
	return n
}

// Points returns the points of s in order, the last axis varying fastest.
// An empty sweep has one point with no settings.
func (s Sweep) Points() []Point {
	n := s.Len()
	points := make([]Point, n)
	for i := range points {
		p := Point{Index: i, Settings: make([]Setting, len(s.Axes))}
		rest := i
		for a := len(s.Axes) - 1; a >= 0; a-- {
			ax := s.Axes[a]
			j := rest % len(ax.Values)
			rest /= len(ax.Values)
			label := fmt.Sprint(ax.Values[j])
			if ax.Labels != nil {
				label = ax.Labels[j]
			}
			p.Settings[a] = Setting{Path: ax.Path, Value: ax.Values[j], Label: label, Index: j}
		}
		points[i] = p
	}
	return points
}

// Apply returns a deep copy of base with the settings of p applied.
func Apply[T any](base T, p Point) (T, error) {
	c := deepCopy(reflect.ValueOf(&base).Elem())
	if err := applyPoint(c, p); err != nil {
		var zero T
		return zero, err
	}
	return c.Interface().(T), nil
}

// applyPoint sets the settings of p on v, a settable struct.
func applyPoint(v reflect.Value, p Point) error {
	s, err := schemaFor(v.Type())
	if err != nil {
		return err
	}
	for _, set := range p.Settings {
		f, fv, err := resolveSetting(s, v, set.Path)
		if err != nil {
			return err
		}
		val := reflect.ValueOf(set.Value)
		if !val.IsValid() || !val.Type().AssignableTo(f.typ) {
			return fmt.Errorf("experiments: sweep value %v for %s is a %T, not a %s", set.Value, set.Path, set.Value, f.typ)
		}
		fv.Set(val)
	}
	return nil
}

// resolveSetting finds the field at dotted path in v.
func resolveSetting(s *schema, v reflect.Value, path string) (*field, reflect.Value, error) {
	parts := strings.Split(path, ".")
	for i, part := range parts {
		f := s.byName[part]
		if f == nil {
			return nil, v, fmt.Errorf("experiments: sweep path %q: no key %q", path, part)
		}
		v = v.FieldByIndex(f.index)
		if i == len(parts)-1 {
			if f.kind == kTable || f.kind == kSweep {
				return nil, v, fmt.Errorf("experiments: sweep path %q names a section", path)
			}
			return f, v, nil
		}
		if f.kind != kTable {
			return nil, v, fmt.Errorf("experiments: sweep path %q: %q is not a section", path, part)
		}
		s = f.sub
	}
	return nil, v, fmt.Errorf("experiments: empty sweep path")
}

// sweepLeaf is one key/value of a [sweep] table, flattened.
type sweepLeaf struct {
	parts []string // parameter path segments
	key   string   // key path as written, for messages
	n     *tnode
}

// flattenSweep collects the key/values of sweep table n, descending into
// sub-tables so that dotted and quoted keys mean the same, in file order.
func flattenSweep(n *tnode, parts []string, key string, out *[]sweepLeaf) {
	for _, k := range n.keys {
		c := n.kids[k]
		kparts := append(append([]string(nil), parts...), strings.Split(k, ".")...)
		kkey := joinKey(key, k)
		if c.kind == tTable {
			flattenSweep(c, kparts, kkey, out)
			continue
		}
		*out = append(*out, sweepLeaf{parts: kparts, key: kkey, n: c})
	}
}

// sweep checks and decodes a [sweep] table against the root schema.
func (d *decoder) sweep(ps pendingSweep) Sweep {
	var leaves []sweepLeaf
	flattenSweep(ps.n, nil, ps.path, &leaves)
	sort.SliceStable(leaves, func(i, j int) bool { return leaves[i].n.offset < leaves[j].n.offset })
	var sw Sweep
	seen := map[string]bool{}
	total := 1
	for _, l := range leaves {
		f, msg := d.sweepField(l.parts)
		if msg != "" {
			d.errAt(l.n.keyPos, l.key, "%s", msg)
			continue
		}
		path := strings.Join(l.parts, ".")
		if seen[path] {
			d.errAt(l.n.keyPos, l.key, "parameter %q is swept twice", path)
			continue
		}
		seen[path] = true
		if l.n.kind != tArray {
			d.errAt(l.n.valPos, l.key, "expected an array of values to sweep, found %s", l.n.tomlType())
			continue
		}
		if len(l.n.items) == 0 {
			d.errAt(l.n.valPos, l.key, "no values to sweep")
			continue
		}
		ax := Axis{Path: path}
		before := len(d.errs)
		var at []Pos
		for i, it := range l.n.items {
			at = append(at, it.valPos)
			val := reflect.New(f.typ).Elem()
			if f.kind == kList || f.kind == kTables || f.kind == kMap {
				// Each value of a swept list is itself a list.
				d.field(it, f, val, fmt.Sprintf("%s[%d]", l.key, i))
			} else {
				d.scalar(it, f, val, fmt.Sprintf("%s[%d]", l.key, i))
			}
			ax.Values = append(ax.Values, val.Interface())
			ax.Labels = append(ax.Labels, label(f, val))
		}
		if len(d.errs) > before {
			continue
		}
		d.axisPos[path] = at
		total *= len(ax.Values)
		if total > MaxSweepPoints {
			d.errAt(l.n.keyPos, l.key, "the sweep has more than %d points", MaxSweepPoints)
			return Sweep{}
		}
		sw.Axes = append(sw.Axes, ax)
	}
	return sw
}

// sweepField resolves a sweep path in the root schema, or says what is
// wrong with it.
func (d *decoder) sweepField(parts []string) (*field, string) {
	s := d.schema
	for i, part := range parts {
		f := s.byName[part]
		if f == nil {
			if why, ok := removedKeys[strings.Join(parts, ".")]; ok {
				return nil, why
			}
			names := make([]string, 0, len(s.fields))
			for _, g := range s.fields {
				names = append(names, g.name)
			}
			msg := fmt.Sprintf("unknown parameter %q", strings.Join(parts, "."))
			if near := nearest(part, names); near != "" {
				msg += fmt.Sprintf("; did you mean %q?", strings.Join(append(append([]string(nil), parts[:i]...), near), "."))
			}
			return nil, msg
		}
		last := i == len(parts)-1
		switch {
		case f.kind == kSweep:
			return nil, "the sweep cannot sweep itself"
		case f.noSweep != "":
			return nil, fmt.Sprintf("%q cannot be swept: %s", strings.Join(parts[:i+1], "."), f.noSweep)
		case last && f.kind == kTable:
			return nil, fmt.Sprintf("%q is a section; sweep its keys", strings.Join(parts, "."))
		case last:
			return f, ""
		case f.kind != kTable:
			return nil, fmt.Sprintf("%q is not a section", strings.Join(parts[:i+1], "."))
		}
		s = f.sub
	}
	return nil, "empty parameter path"
}

// label renders a swept value as short text.
func label(f *field, v reflect.Value) string {
	switch f.kind {
	case kString:
		return v.String()
	case kDuration:
		return formatDuration(v.Int())
	case kText:
		if s, ok := textOf(v); ok {
			return s
		}
	}
	return tomlValue(f, v)
}

// deepCopy returns a settable copy of v that shares no slices, maps or
// pointers reachable through exported fields.
func deepCopy(v reflect.Value) reflect.Value {
	c := reflect.New(v.Type()).Elem()
	c.Set(v)
	deepen(c)
	return c
}

func deepen(v reflect.Value) {
	switch v.Kind() {
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < v.NumField(); i++ {
			if t.Field(i).IsExported() {
				deepen(v.Field(i))
			}
		}
	case reflect.Slice:
		if v.IsNil() {
			return
		}
		n := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		reflect.Copy(n, v)
		for i := 0; i < n.Len(); i++ {
			deepen(n.Index(i))
		}
		v.Set(n)
	case reflect.Array:
		for i := 0; i < v.Len(); i++ {
			deepen(v.Index(i))
		}
	case reflect.Map:
		if v.IsNil() {
			return
		}
		n := reflect.MakeMapWithSize(v.Type(), v.Len())
		it := v.MapRange()
		for it.Next() {
			n.SetMapIndex(it.Key(), deepCopy(it.Value()))
		}
		v.Set(n)
	case reflect.Pointer:
		if v.IsNil() {
			return
		}
		n := reflect.New(v.Type().Elem())
		n.Elem().Set(v.Elem())
		deepen(n.Elem())
		v.Set(n)
	}
}
