package model

import (
	"fmt"

	"github.com/mailsim/mailsim/workloads"
)

// startTrace writes the header of a recorded trace, and checks that a
// replayed trace was recorded for the population generated from the
// configuration and seed, device by device, and prepares the replay
// cursors.
func (cl *cluster) startTrace(seed uint64) error {
	if cl.record != nil {
		cl.record.Begin(workloads.TraceHeader{Seed: seed, Population: cl.cfg.Population, Devices: len(cl.devices)})
	}
	t := cl.replay
	if t == nil {
		return nil
	}
	if t.Header == nil {
		return fmt.Errorf("model: %s has no population lines, so it cannot be checked against the spec: record the trace with 'mailsim trace -o FILE SPEC'", t.Name)
	}
	if err := t.Header.Check(cl.cfg.Population, seed); err != nil {
		return fmt.Errorf("model: %s: %w", t.Name, err)
	}
	if t.Header.Devices != len(cl.devices) {
		return fmt.Errorf("model: %s: recorded for a population of %d devices, but the spec's has %d: it was recorded by another version of mailsim; record it again with 'mailsim trace -o FILE SPEC'", t.Name, t.Header.Devices, len(cl.devices))
	}
	cl.slotStep = make([]int32, len(cl.slotConn))
	cl.slotRetry = make([]int32, len(cl.slotConn))
	for d := range cl.devices {
		dv := &cl.devices[d]
		user, kind, ok := t.Device(d)
		if !ok {
			continue
		}
		if want := cl.userName(dv.user); user != want || kind != dv.kind.String() {
			return fmt.Errorf("model: %s: device %d is %s's %s in the trace, %s's %s in the population: the trace was made for another population", t.Name, d, user, kind, want, dv.kind)
		}
	}
	return nil
}

// replayStep returns connection c's next command from the trace; a
// connection whose recorded commands are used up logs out.
//
// The trace records what the clients did in the run that wrote it,
// reconnections included. A replay under other faults or another strategy
// can fail where that run did not, or not fail where it did, so the
// recorded commands are matched to the connection's state: a connection
// that is not logged in (a new one, or one reconnecting after a failure)
// sends LOGIN first, the recorded one if the next recorded command is a
// LOGIN and one of its own otherwise; a logged-in connection passes over a
// recorded LOGIN, which was the writer's reconnection after a failure
// this run did not have.
func (cl *cluster) replayStep(c *conn, dv *device) (workloads.Step, workloads.Phase) {
	steps := cl.replay.Steps(int(c.dev), int(c.slot))
	step := &cl.slotStep[dv.slots+int32(c.slot)]
	loggedIn := c.phase != workloads.PhaseLogin
	for loggedIn && int(*step) < len(steps) && steps[*step].Op == workloads.Login.String() {
		*step++
	}
	i := *step
	if !loggedIn && (int(i) >= len(steps) || steps[i].Op != workloads.Login.String()) {
		// Not recorded: this run's reconnection after a failure the
		// writer's run did not have. With no recorded commands left, the
		// connection then logs out, as a generated one would.
		return workloads.Step{Cmd: workloads.Login}, workloads.NextPhase(c.phase, workloads.Login)
	}
	if int(i) >= len(steps) {
		return workloads.Step{Cmd: workloads.Logout}, workloads.PhaseDone
	}
	op := steps[i]
	cmd, _ := workloads.CommandOf(op.Op)
	*step++
	st := workloads.Step{Cmd: cmd, Mailbox: min(op.Mailbox, int(cl.folders())), Think: op.Wait}
	return st, workloads.NextPhase(c.phase, cmd)
}
