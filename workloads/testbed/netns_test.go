//go:build linux

package testbed

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSweepStaleNetns: a namespace left by a mailsim that was killed
// before it could clean up is removed; one whose mailsim still runs is
// not.
func TestSweepStaleNetns(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("making network namespaces needs root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("no ip(8)")
	}
	// A PID that ran and ended.
	c := exec.Command("true")
	if err := c.Run(); err != nil {
		t.Fatal(err)
	}
	dead := fmt.Sprintf("mailsim-%d-%d", c.Process.Pid, 990001)
	alive := fmt.Sprintf("mailsim-%d-%d", os.Getpid(), 990002)
	for _, n := range []string{dead, alive} {
		if err := ip("netns", "add", n); err != nil {
			t.Fatal(err)
		}
	}
	defer ip("netns", "del", alive)
	defer ip("netns", "del", dead)
	var log bytes.Buffer
	sweepStaleNetns(&log)
	if _, err := os.Stat(filepath.Join("/run/netns", dead)); !os.IsNotExist(err) {
		t.Errorf("%s is still there (%v)", dead, err)
	}
	if _, err := os.Stat(filepath.Join("/run/netns", alive)); err != nil {
		t.Errorf("%s, of a mailsim that runs, was removed: %v", alive, err)
	}
	if !strings.Contains(log.String(), dead) {
		t.Errorf("the sweep did not say what it removed: %q", log.String())
	}
}
