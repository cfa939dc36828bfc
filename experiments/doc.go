// Package experiments turns experiment files into runs and runs them.
//
// It is generic over the spec type: any struct whose fields carry the tags
// below can be decoded strictly from TOML ([Decode], [DecodeFile], [Check]),
// printed with its defaults and documentation ([DefaultsTOML], [EncodeTOML]),
// swept ([Sweep]), expanded into a run list with stable IDs and seeds
// ([Plan]), split across machines ([Shard], [ShardFromEnv]) and executed on a
// worker pool that can resume and be interrupted ([Runner]).
//
// # Struct tags
//
// Every exported field of a spec struct, at any depth, describes one TOML key:
//
//	toml:"name"        the key (required; "-" leaves the field out)
//	doc:"text"         what the key means and where its default comes from
//	                   (required); printed as a comment above the key
//	default:"value"    the value a missing key takes, written as in TOML but
//	                   without quotes ("3s", "all", "4", "0.5", "true"); a list
//	                   is comma-separated ("random,director"), "" is an empty
//	                   list or string. Required on every key that is not a
//	                   section or an array of tables, except a bound key
//	                   (below) of a spec type that binds defaults: it takes
//	                   its bound field's default.
//	min:"v", max:"v"   inclusive bounds for numbers and durations
//	gt:"v", lt:"v"     exclusive bounds, e.g. gt:"0" for a rate that must be
//	                   positive
//	enum:"a|b|c"       the only valid strings
//	unit:"text"        the unit of a number ("requests/s", "bytes"), printed
//	                   in the comment; durations need none
//	defaults:"k=v;..." on a section: replaces the default tags of some of
//	                   its keys, so that two sections of one type can have
//	                   different defaults ("mail_session_length=3m")
//	bind:"Path"        the field of another configuration struct the key
//	                   sets ("Server.Threads", "Command[Login]"); on a
//	                   section, the prefix of its keys' paths. Spec.Model
//	                   copies every bound key to [model.Config] this way,
//	                   and a bound key without a default tag takes the
//	                   value of its field in [model.DefaultConfig], so that
//	                   the model's defaults are written once
//	nosweep:"why"      the key cannot be swept; the text says why, and the
//	                   error naming the sweep key quotes it
//
// A duration without a max tag is at most [MaxDuration] (a year): anything
// longer is a mistake, and sums and products of such durations would
// overflow the simulator's clock.
//
// On a list or map of scalars, min, max, gt, lt and enum apply to each
// element; a map's default is written "a=0.4,b=0.6".
//
// # Field types
//
//   - bool, string, every integer and float kind; TOML integers are signed
//     64-bit, so an unsigned key takes values up to 2^63-1, and a float key
//     also takes an integer (no other conversion is made)
//   - [time.Duration] and [sim.Time], written as Go duration strings ("15m",
//     "500ms")
//   - types implementing [encoding.TextUnmarshaler], written as strings
//   - slices of the above: TOML arrays
//   - maps from string to the above: tables with keys of the user's choice,
//     printed inline in key order; a table in the file replaces the default
//     map as a whole
//   - structs: tables, called sections
//   - slices of structs: arrays of tables ([[faults]])
//   - [Sweep]: a table of parameter paths to value lists
//
// # Errors
//
// Decoding reports every problem it finds at once, each as
// "file:line:col: message (key a.b.c)", where the key names the offending
// value by its path from the root ("faults[1].backend" for the second
// [[faults]] entry). Cross-field rules come from the spec type itself through
// [Validator]; their key paths are mapped back to positions in the file.
package experiments
