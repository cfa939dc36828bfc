package experiments

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/mailsim/mailsim/nfsmodel"
	"github.com/mailsim/mailsim/workloads"
)

// A spec key can be bound to a field of another configuration struct (for
// mailsim, [model.Config]) with a bind tag naming that field's path:
//
//	bind:"Server.Threads"      a field of a field
//	bind:"Command[Login]"      an element of an array, by a name from
//	                           bindIndex
//
// A section's bind tag is the prefix of its keys' paths, so that one
// section type can be bound at several places. [bindInto] copies every
// bound key's value to its field, converting between types of the same
// kind (sim.Time to sim.Time, string to a named string type); an empty list
// leaves its field nil.

// bindIndex names the elements of the arrays that keys are bound to: the
// model's per-command and per-procedure arrays and its per-device-kind
// retries.
var bindIndex = func() map[string]int {
	m := map[string]int{}
	for c := workloads.Command(0); c < workloads.NumCommands; c++ {
		m[commandBindNames[c]] = int(c)
	}
	for op := nfsmodel.Op(0); op < nfsmodel.NumOps; op++ {
		m[op.String()] = int(op)
	}
	for _, k := range []workloads.DeviceKind{workloads.Desktop, workloads.Phone, workloads.Webmail} {
		m[k.String()] = int(k)
	}
	return m
}()

// commandBindNames are the Go names of the workload's commands, as bind
// tags write them.
var commandBindNames = [workloads.NumCommands]string{
	workloads.Login: "Login", workloads.Select: "Select", workloads.Status: "Status",
	workloads.List: "List", workloads.Fetch: "Fetch", workloads.FetchBody: "FetchBody",
	workloads.Store: "Store", workloads.Expunge: "Expunge", workloads.Append: "Append",
	workloads.Search: "Search", workloads.Idle: "Idle", workloads.Logout: "Logout",
	workloads.Deliver: "Deliver",
}

// joinBind appends a bind tag to a section's bind path.
func joinBind(prefix, tag string) string {
	if prefix == "" {
		return tag
	}
	return prefix + "." + tag
}

// bindInto copies the bound keys of src, a struct that s describes, to
// their fields in dst, a settable struct.
func bindInto(s *schema, src, dst reflect.Value) {
	for _, f := range s.fields {
		fv := src.FieldByIndex(f.index)
		switch {
		case f.kind == kTable:
			bindInto(f.sub, fv, dst)
		case f.bind == "" || f.kind == kTables || f.kind == kSweep:
		default:
			t := bindTarget(dst, f.bind)
			if f.kind == kList && fv.Len() == 0 {
				t.SetZero()
				continue
			}
			if f.kind == kList || f.kind == kMap {
				fv = deepCopy(fv)
			}
			t.Set(fv.Convert(t.Type()))
		}
	}
}

// bindTarget returns the field of v at bind path path; it panics on a path
// that names no field, a mistake of the spec type's tags that building its
// schema reports first (see fillBoundDefaults).
func bindTarget(v reflect.Value, path string) reflect.Value {
	t, ok := lookupBind(v, path)
	if !ok {
		panic(fmt.Sprintf("experiments: bind path %q names no field of %s", path, v.Type()))
	}
	return t
}

// lookupBind returns the field of struct v at bind path path.
func lookupBind(v reflect.Value, path string) (reflect.Value, bool) {
	for _, part := range strings.Split(path, ".") {
		name, idx, indexed := strings.Cut(part, "[")
		if v.Kind() != reflect.Struct {
			return v, false
		}
		v = v.FieldByName(name)
		if !v.IsValid() {
			return v, false
		}
		if indexed {
			i, ok := bindIndex[strings.TrimSuffix(idx, "]")]
			if !ok || v.Kind() != reflect.Array || i >= v.Len() {
				return v, false
			}
			v = v.Index(i)
		}
	}
	return v, true
}
