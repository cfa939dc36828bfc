package model

import (
	"fmt"

	"mailsim/workloads"
)

// checkReplay checks that a replayed trace fits the generated population
// and prepares the replay cursors.
func (cl *cluster) checkReplay() error {
	t := cl.replay
	if t == nil {
		return nil
	}
	cl.slotStep = make([]int32, len(cl.slotConn))
	cl.slotRetry = make([]int32, len(cl.slotConn))
	for d := range cl.devices {
		dv := &cl.devices[d]
		for _, s := range t.Sessions(d) {
			if want := cl.userName(dv.user); s.User != want {
				return fmt.Errorf("model: trace device %d belongs to %s, not %s: the trace was made for another population", d, s.User, want)
			}
		}
	}
	for _, op := range t.Deliveries {
		if _, ok := cl.userIndex(op.User); !ok {
			return fmt.Errorf("model: trace delivers to unknown user %q", op.User)
		}
	}
	return nil
}

// replayStep returns connection c's next command from the trace; a
// connection whose recorded commands are used up logs out.
func (cl *cluster) replayStep(c *conn, dv *device) (workloads.Step, workloads.Phase) {
	steps := cl.replay.Steps(int(c.dev), int(c.slot))
	step := &cl.slotStep[dv.slots+int32(c.slot)]
	i := *step
	if int(i) >= len(steps) {
		return workloads.Step{Cmd: workloads.Logout}, workloads.PhaseDone
	}
	*step++
	op := steps[i]
	cmd, _ := workloads.CommandOf(op.Op)
	st := workloads.Step{Cmd: cmd, Mailbox: min(op.Mailbox, int(cl.folders())), Think: op.Wait}
	return st, workloads.NextPhase(c.phase, cmd)
}
