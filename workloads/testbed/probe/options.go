package probe

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Kernel defaults of the attribute-cache times (nfs(5); fs/nfs/internal.h
// NFS_DEF_ACREGMIN and friends).
const (
	DefaultAcregmin = 3 * time.Second
	DefaultAcregmax = 60 * time.Second
	DefaultAcdirmin = 30 * time.Second
	DefaultAcdirmax = 60 * time.Second
)

// Options are the nfs(5) mount options that decide what a client caches,
// parsed from a comma-separated option string the way the kernel's
// fs/nfs/fs_context.c applies them: in order, a later option overriding an
// earlier one (actimeo=N sets all four times, a later acregmin=M only
// one).
type Options struct {
	// Acregmin, Acregmax, Acdirmin and Acdirmax are the attribute-cache
	// times, whole seconds in the option string.
	Acregmin, Acregmax, Acdirmin, Acdirmax time.Duration
	// Noac turns attribute caching off (noac; "ac" turns it back on).
	Noac bool
	// Lookupcache is "all", "pos" (nfs(5) also spells it "positive") or
	// "none".
	Lookupcache string
	// Nocto turns close-to-open revalidation off (nocto; "cto" turns it
	// back on).
	Nocto bool
	// LocalLock is true when fcntl locks stay on the client: nolock,
	// local_lock=all or local_lock=posix.
	LocalLock bool
	// Extra holds the options the probe does not interpret (vers=3,
	// proto=tcp, nosharecache, ...), in their order.
	Extra []string
}

// DefaultOptions returns the kernel's defaults.
func DefaultOptions() Options {
	return Options{
		Acregmin: DefaultAcregmin, Acregmax: DefaultAcregmax,
		Acdirmin: DefaultAcdirmin, Acdirmax: DefaultAcdirmax,
		Lookupcache: "all",
	}
}

// ParseOptions parses a comma-separated nfs(5) option string, starting
// from [DefaultOptions].
func ParseOptions(s string) (Options, error) {
	o := DefaultOptions()
	for _, opt := range strings.Split(s, ",") {
		opt = strings.TrimSpace(opt)
		if opt == "" {
			continue
		}
		key, val, hasVal := strings.Cut(opt, "=")
		secs := func() (time.Duration, error) {
			if !hasVal {
				return 0, fmt.Errorf("probe: option %s needs a value", key)
			}
			n, err := strconv.ParseUint(val, 10, 31)
			if err != nil {
				return 0, fmt.Errorf("probe: option %s: %q is not a whole number of seconds", key, val)
			}
			return time.Duration(n) * time.Second, nil
		}
		var err error
		switch key {
		case "acregmin":
			o.Acregmin, err = secs()
		case "acregmax":
			o.Acregmax, err = secs()
		case "acdirmin":
			o.Acdirmin, err = secs()
		case "acdirmax":
			o.Acdirmax, err = secs()
		case "actimeo":
			var t time.Duration
			t, err = secs()
			o.Acregmin, o.Acregmax, o.Acdirmin, o.Acdirmax = t, t, t, t
		case "noac", "ac":
			o.Noac = key == "noac"
		case "cto", "nocto":
			o.Nocto = key == "nocto"
		case "lock", "nolock":
			o.LocalLock = key == "nolock"
		case "local_lock":
			switch val {
			case "all", "posix":
				o.LocalLock = true
			case "none", "flock":
				o.LocalLock = false
			default:
				err = fmt.Errorf("probe: local_lock=%q is not one of all, posix, flock, none", val)
			}
		case "lookupcache":
			switch val {
			case "all", "none":
				o.Lookupcache = val
			case "pos", "positive":
				o.Lookupcache = "pos"
			default:
				err = fmt.Errorf("probe: lookupcache=%q is not one of all, pos, positive, none", val)
			}
		default:
			o.Extra = append(o.Extra, opt)
		}
		if err != nil {
			return Options{}, err
		}
	}
	return o, nil
}

// String formats o as an option string that [ParseOptions] reads back to
// o: the extra options first, then all four attribute-cache times and
// lookupcache, then noac, nocto and local_lock=all when set.
func (o Options) String() string {
	secs := func(t time.Duration) string { return strconv.FormatInt(int64(t/time.Second), 10) }
	s := append([]string(nil), o.Extra...)
	s = append(s,
		"acregmin="+secs(o.Acregmin), "acregmax="+secs(o.Acregmax),
		"acdirmin="+secs(o.Acdirmin), "acdirmax="+secs(o.Acdirmax),
		"lookupcache="+o.Lookupcache)
	if o.Noac {
		s = append(s, "noac")
	}
	if o.Nocto {
		s = append(s, "nocto")
	}
	if o.LocalLock {
		s = append(s, "local_lock=all")
	}
	return strings.Join(s, ",")
}

// MaxTimeout returns the longest the client can trust cached attributes of
// a file (dir false) or a directory: acregmax or acdirmax, or zero with
// noac.
func (o Options) MaxTimeout(dir bool) time.Duration {
	switch {
	case o.Noac:
		return 0
	case dir:
		return o.Acdirmax
	}
	return o.Acregmax
}
