package model

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/mailsim/mailsim/model/sim"
	"github.com/mailsim/mailsim/strategies"
)

func failureRun(t *testing.T, strategy, monitor string, kind ...FaultKind) *Result {
	t.Helper()
	cfg := smallConfig()
	cfg.Duration = 10 * sim.Minute
	k := Crash
	if len(kind) > 0 {
		k = kind[0]
	}
	cfg.Faults = []Fault{{At: 2*sim.Minute + 7*sim.Second, Backend: 1, Kind: k}}
	bs := make([]strategies.Backend, cfg.Backends)
	for i := range bs {
		bs[i] = strategies.Backend{Addr: netip.AddrFrom4([4]byte{10, 0, 0, byte(i + 1)}), Weight: strategies.DefaultWeight(strategy)}
	}
	var p strategies.Params
	p.Owner.Failover = strategies.FailoverStandby
	r, err := strategies.New(strategy, bs, p, sim.Source(1, "strategy"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := strategies.NewMonitor(monitor, cfg.Backends, strategies.MonitorParams{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := RunWith(cfg, r, m, 1)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestBackendCrash checks the field reports on a crashed backend: a
// director nobody tells keeps failing that backend's users to the end of
// the run; monitors that mark it down and flush recover within seconds to
// a minute; a load balancer's health checks recover within its checks.
func TestBackendCrash(t *testing.T) {
	runEnd := 8*sim.Minute - 7*sim.Second // from the crash to the end of the run
	tests := []struct {
		strategy, monitor string
		detectMax         sim.Time // 0: must not detect
		recoverMax        sim.Time
		recoverMin        sim.Time
	}{
		{"director", "none", 0, runEnd, runEnd - 2*sim.Minute},
		{"director", "poolmon", 26 * sim.Second, 2 * sim.Minute, 0},
		{"director", "dovemon", 60 * sim.Second, 3 * sim.Minute, 0},
		{"random", "haproxy", 8 * sim.Second, 2 * sim.Minute, 0},
		{"owner-proxy", "haproxy", 8 * sim.Second, 2 * sim.Minute, 0},
	}
	for _, tc := range tests {
		t.Run(tc.strategy+"+"+tc.monitor, func(t *testing.T) {
			res := failureRun(t, tc.strategy, tc.monitor)
			t.Logf("failed logins %d, failed commands %d, users affected %d, detected after %v, recovered after %v, failover multi-backend %d",
				res.FailedLogins, res.FailedCommands, res.UsersAffected, res.DetectedAfter, res.RecoveredAfter, res.FailoverMultiBackend)
			if res.UsersAffected == 0 {
				t.Fatal("a crash affected nobody")
			}
			if tc.detectMax == 0 && res.DetectedAfter != 0 {
				t.Errorf("detected after %v without a monitor", res.DetectedAfter)
			}
			if tc.detectMax > 0 && (res.DetectedAfter == 0 || res.DetectedAfter > tc.detectMax) {
				t.Errorf("detected after %v, want within %v", res.DetectedAfter, tc.detectMax)
			}
			if res.RecoveredAfter > tc.recoverMax || res.RecoveredAfter < tc.recoverMin {
				t.Errorf("recovered after %v, want between %v and %v", res.RecoveredAfter, tc.recoverMin, tc.recoverMax)
			}
		})
	}
}

// TestBackendHang checks a hung backend: it accepts connections and never
// answers, so HAProxy's checks time out (fall 3 at inter 2 s, each check
// waiting out its 2 s timeout) and the users it held only get back after
// their clients time out (60 s) and reconnect.
func TestBackendHang(t *testing.T) {
	res := failureRun(t, "random", "haproxy", Hang)
	t.Logf("failed logins %d, users affected %d, detected after %v, recovered after %v", res.FailedLogins, res.UsersAffected, res.DetectedAfter, res.RecoveredAfter)
	if res.DetectedAfter < 4*sim.Second || res.DetectedAfter > 12*sim.Second {
		t.Errorf("hang detected after %v", res.DetectedAfter)
	}
	if res.RecoveredAfter < 60*sim.Second || res.RecoveredAfter > 3*sim.Minute {
		t.Errorf("recovered after %v; clients wait 60 s before giving up", res.RecoveredAfter)
	}
	if res.UsersAffected == 0 {
		t.Error("a hang affected nobody")
	}
}

func ExampleFaultKind() {
	for _, name := range []string{"crash", "hang", "nfs-slow"} {
		k, _ := ParseFaultKind(name)
		fmt.Println(int(k), k)
	}
	// Output:
	// 0 crash
	// 1 hang
	// 4 nfs-slow
}
