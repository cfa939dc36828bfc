// Package results reads and writes mailsim result sets and builds
// comparison tables from them.
//
// A result set is a folder that holds everything one experiment produced:
// a manifest (the spec as given and as expanded, the build of mailsim, the
// experiment seed and the planned run list), one JSON file per finished run
// with its metrics, latency histograms, per-backend vectors and time series,
// and the tables rebuilt from those files when the set is finalized
// (runs.csv, summary.csv). FORMAT.md beside this package documents the
// layout file by file.
//
// The same spec and seed, run by the same build, give byte-identical
// result sets, whether the runs were done in one go, resumed after an
// interruption, or done as shards on several machines and merged with
// [Merge]. Sets are resumed and merged only by and from the build that
// wrote them, and every run file carries a fingerprint of its spec, so no
// set mixes the results of two specs or two models. Creating and merging
// are crash-safe: a process killed midway leaves a folder that readers
// refuse and that the same command, run again, completes. What legitimately differs
// between such sets (host names, wall-clock times, worker counts, shards)
// is kept apart in provenance.json, which is excluded from a set's
// identity.
//
// The package knows the format, not how the results were produced: the
// experiment runner converts the model's output into [Run] values and hands
// them to a [Writer].
package results
