//go:build linux

package testbed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/mailsim/mailsim/workloads/testbed/guest"
)

// Machine is one user-mode Linux guest to boot.
type Machine struct {
	// Name names the guest (its umid and console log).
	Name string
	// Shared is the host folder the guest sees as guest.HostDir; it holds
	// the guest's configuration, and the guest writes its result and logs
	// there.
	Shared string
	// Memory is the guest's memory, as the kernel's mem= parameter
	// (e.g. "1536M").
	Memory string
	// Net lists the guest's network devices as user-mode Linux's ethN=
	// parameters take them (e.g. "tuntap,tap0"), in order.
	Net []string
	// Netns, when set, is the network namespace the kernel runs in (its
	// tap devices are there).
	Netns string
}

// boot starts a guest on the built image in guestDir: a copy-on-write
// overlay in the shared folder keeps the image untouched, the guest's
// memory file and user-mode Linux's control sockets live in the shared
// folder too, and the kernel's console goes to console.log there. The
// guest runs in a process group of its own so that stop can end it whole.
func boot(guestDir string, m Machine) (*exec.Cmd, error) {
	abs, err := filepath.Abs(m.Shared)
	if err != nil {
		return nil, err
	}
	img, err := filepath.Abs(filepath.Join(guestDir, imageFile))
	if err != nil {
		return nil, err
	}
	if err := copyExecutable(filepath.Join(abs, "mailsim")); err != nil {
		return nil, err
	}
	con, err := os.Create(filepath.Join(abs, "console.log"))
	if err != nil {
		return nil, err
	}
	defer con.Close()
	args := []string{
		"ubd0=" + filepath.Join(abs, "root.cow") + "," + img,
		"root=/dev/ubda", "rw",
		"mem=" + m.Memory,
		"init=" + initPath,
		"hostfs=" + abs,
		"umid=" + m.Name,
		"uml_dir=" + abs,
		"con0=fd:0,fd:1", "con=null", "ssl=null",
		"quiet",
	}
	for i, n := range m.Net {
		args = append(args, fmt.Sprintf("eth%d=%s", i, n))
	}
	cmd := exec.Command(Kernel, args...)
	if m.Netns != "" {
		// ip enters the namespace and executes the kernel in place, so
		// that the process started here is the kernel.
		cmd = exec.Command("ip", append([]string{"netns", "exec", m.Netns, Kernel}, args...)...)
	}
	// The kernel maps its memory from a file in TMPDIR; keep it in the
	// run's folder.
	cmd.Env = []string{"TMPDIR=" + abs, "PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	cmd.Stdout, cmd.Stderr = con, con
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("testbed: starting %s: %w", Kernel, err)
	}
	return cmd, nil
}

// stop ends a guest's whole process group.
func stop(cmd *exec.Cmd) {
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}

// removeBootFiles removes what boot put in a guest's shared folder for the
// guest's life only: the copy-on-write overlay and the copy of mailsim.
func removeBootFiles(shared string) {
	_ = os.Remove(filepath.Join(shared, "root.cow"))
	_ = os.Remove(filepath.Join(shared, "mailsim"))
}

// copyExecutable copies the running mailsim into the shared folder, for
// the guest's init to run. A statically linked mailsim runs in any guest;
// one linked against the C library runs when the host's and the guest's
// (Debian bookworm's) are compatible.
func copyExecutable(dst string) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	in, err := os.Open(self)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// runGuest boots one guest with cfg, waits for it to power off (or for
// ctx, or for the deadline), and returns its result. It always leaves the
// guest stopped.
func runGuest(ctx context.Context, guestDir string, m Machine, cfg *guest.Config, deadline time.Duration, log io.Writer) (*guest.Result, error) {
	if err := os.MkdirAll(m.Shared, 0o755); err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(m.Shared, guest.ConfigFile), b, 0o644); err != nil {
		return nil, err
	}
	_ = os.Remove(filepath.Join(m.Shared, guest.ResultFile))
	cmd, err := boot(guestDir, m)
	if err != nil {
		return nil, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	timer := time.NewTimer(deadline)
	defer timer.Stop()
	defer removeBootFiles(m.Shared)
	select {
	case <-done:
	case <-ctx.Done():
		stop(cmd)
		<-done
		return nil, ctx.Err()
	case <-timer.C:
		stop(cmd)
		<-done
		return nil, fmt.Errorf("testbed: guest %s did not finish within %v; its console is in %s", m.Name, deadline, filepath.Join(m.Shared, "console.log"))
	}
	stop(cmd) // the kernel's helper processes, if any are left
	return readResult(m)
}

func readResult(m Machine) (*guest.Result, error) {
	b, err := os.ReadFile(filepath.Join(m.Shared, guest.ResultFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("testbed: guest %s stopped without a result; its console is in %s", m.Name, filepath.Join(m.Shared, "console.log"))
	}
	if err != nil {
		return nil, err
	}
	var r guest.Result
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("testbed: %s: %w", filepath.Join(m.Shared, guest.ResultFile), err)
	}
	if r.Error != "" {
		return &r, fmt.Errorf("testbed: guest %s: %s (console: %s)", m.Name, r.Error, filepath.Join(m.Shared, "console.log"))
	}
	return &r, nil
}
