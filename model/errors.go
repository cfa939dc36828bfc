package model

import (
	"fmt"

	"github.com/mailsim/mailsim/model/sim"
)

// OverloadError is the error of a run stopped because a station (the NFS
// server or a backend's CPUs) could not keep up with its load: its queue
// grew past any steady state, so its latencies would grow without bound.
type OverloadError struct {
	// Station names the overloaded station: "the NFS server", "backend 3".
	Station string
	msg     string
}

// Error describes the overload and what to change.
func (e *OverloadError) Error() string { return e.msg }

// BudgetError is the error of a run stopped because it dispatched its
// whole event budget ([Config.EventBudget], spec key run.max_events)
// before reaching its end.
type BudgetError struct {
	// Events is how many events the run dispatched.
	Events uint64
	// At is the simulated time it had reached.
	At sim.Time
}

// Error says what was reached and which key raises the bound.
func (e *BudgetError) Error() string {
	return fmt.Sprintf("model: the run dispatched its budget of %d events by %v of simulated time without ending; "+
		"something in the configuration makes it endless (zero or tiny retry delays, think times or intervals), or it is larger than the budget allows: raise run.max_events",
		e.Events, e.At.Duration())
}

// StallError is the error of a run stopped because its simulated clock
// stood still: it dispatched Events events at time At, so it would never
// end.
type StallError struct {
	// Events is how many events were dispatched at At.
	Events uint64
	// At is the simulated time the clock stood at.
	At sim.Time
}

// Error says where the clock stopped and what usually stops it.
func (e *StallError) Error() string {
	return fmt.Sprintf("model: simulated time stopped at %v: %d events without the clock moving, so the run would never end; "+
		"a zero delay repeats forever there (clients.desktop_retry, phone_retry, webmail_retry or delivery_retry of 0s while logins fail, for example)",
		e.At.Duration(), e.Events)
}
