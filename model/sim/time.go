// Package sim is mailsim's deterministic discrete-event kernel: integer
// nanosecond time, typed 4-ary min-heaps of small value events ordered by
// (time, sequence number), and named random streams.
//
// The kernel knows nothing about mail. A model defines its own event kinds,
// schedules events with [Sim.Schedule] or [Sim.After], and dispatches them in
// a loop over [Sim.Next] or with [Sim.Run]. A run is single-threaded and, for
// the same seed and model, produces the same event sequence on every machine.
package sim

import (
	"fmt"
	"math"
	"time"
)

// Time is a point in simulated time, in nanoseconds since the start of a run.
// Integer time never drifts the way an accumulated floating-point clock does.
type Time int64

// Units of simulated time.
const (
	Nanosecond  Time = 1
	Microsecond      = 1000 * Nanosecond
	Millisecond      = 1000 * Microsecond
	Second           = 1000 * Millisecond
	Minute           = 60 * Second
	Hour             = 60 * Minute
)

// Never is a time later than any event a run schedules.
const Never Time = math.MaxInt64

// FromFloat converts a number of nanoseconds to Time, truncating toward
// zero as a conversion does, but saturating: values beyond the range of
// Time (and NaN) become [Never] or -Never instead of wrapping, so that an
// absurd product of durations and factors cannot make a time negative.
func FromFloat(ns float64) Time {
	switch {
	case ns != ns || ns >= float64(Never):
		return Never
	case ns <= -float64(Never):
		return -Never
	}
	return Time(ns)
}

// Scale returns t multiplied by f, saturating as [FromFloat] does.
func Scale(t Time, f float64) Time { return FromFloat(float64(t) * f) }

// Seconds converts a duration in (possibly fractional) seconds to Time,
// rounding to the nearest nanosecond.
func Seconds(s float64) Time { return Time(math.Round(s * float64(Second))) }

// FromDuration converts a [time.Duration] to Time.
func FromDuration(d time.Duration) Time { return Time(d) }

// Duration converts t to a [time.Duration].
func (t Time) Duration() time.Duration { return time.Duration(t) }

// Sec returns t in seconds.
func (t Time) Sec() float64 { return float64(t) / float64(Second) }

// String formats t like a [time.Duration] ("1m30s").
func (t Time) String() string {
	if t == Never {
		return "never"
	}
	return fmt.Sprint(time.Duration(t))
}
