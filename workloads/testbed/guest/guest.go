//go:build linux

package guest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mailsim/mailsim/workloads/imapload"
)

// Main is PID 1 of a guest: it runs the configuration in HostDir, writes
// the result there and powers the guest off. It returns only when it is
// not PID 1 (a test), with the process exit code.
func Main() int {
	g := &guest{start: time.Now(), log: os.Stdout}
	// The kernel starts init with an almost empty environment.
	os.Setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
	// Dovecot wants a file descriptor per client connection: raise the
	// kernel's default of 1024, as a site's service manager would.
	_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: 65536, Max: 65536})
	err := g.main()
	if err != nil {
		g.res.Error = err.Error()
		g.logf("error: %v", err)
	}
	g.writeResult()
	g.stopServices()
	syscall.Sync()
	if os.Getpid() == 1 {
		// A minimal root has no init system and no poweroff command;
		// the kernel halts the user-mode machine on this call.
		_ = syscall.Reboot(syscall.LINUX_REBOOT_CMD_POWER_OFF)
	}
	if err != nil {
		return 1
	}
	return 0
}

type guest struct {
	start    time.Time
	loadT0   time.Time
	cfg      Config
	res      Result
	log      io.Writer
	services []*running
	// mu guards res.Events, which faults append to from timers.
	mu sync.Mutex
	// svcMu guards services, which a fault may restart from a timer.
	svcMu sync.Mutex
}

type running struct {
	svc  Service
	cmd  *exec.Cmd
	done chan struct{}
}

func (g *guest) logf(format string, a ...any) {
	fmt.Fprintf(g.log, "mailsim-guest %7.2fs: %s\n", time.Since(g.start).Seconds(), fmt.Sprintf(format, a...))
}

func (g *guest) event(kind, detail string) {
	var at time.Duration
	if !g.loadT0.IsZero() {
		at = time.Since(g.loadT0)
	}
	g.mu.Lock()
	g.res.Events = append(g.res.Events, Event{At: at, Kind: kind, Detail: detail})
	g.mu.Unlock()
}

func (g *guest) main() error {
	if err := g.earlyMounts(); err != nil {
		return err
	}
	b, err := os.ReadFile(filepath.Join(HostDir, ConfigFile))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, &g.cfg); err != nil {
		return fmt.Errorf("%s: %w", ConfigFile, err)
	}
	cfg := &g.cfg
	if cfg.Hostname != "" {
		_ = syscall.Sethostname([]byte(cfg.Hostname))
	}
	if err := g.network(); err != nil {
		return err
	}
	for _, m := range cfg.Modules {
		if err := g.run(Command{Argv: []string{"modprobe", m}}); err != nil {
			return err
		}
	}
	for _, kv := range cfg.Sysctls {
		if err := os.WriteFile(kv.Key, []byte(kv.Value), 0o644); err != nil {
			return fmt.Errorf("sysctl %s: %w", kv.Key, err)
		}
	}
	for _, f := range cfg.Files {
		if err := os.MkdirAll(filepath.Dir(f.Path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(f.Path, []byte(f.Content), os.FileMode(f.Mode)); err != nil {
			return err
		}
	}
	if cfg.Server != nil {
		if err := g.populate(cfg.Server); err != nil {
			return err
		}
	}
	for _, st := range cfg.Steps {
		var err error
		switch {
		case st.Service != nil:
			err = g.startService(*st.Service)
		case st.Command != nil:
			err = g.run(*st.Command)
		case st.Mount != nil:
			err = g.mount(*st.Mount)
		case st.LockCheck != "":
			err = g.lockCheck(st.LockCheck)
		}
		if err != nil {
			return err
		}
	}
	g.res.Boot = time.Since(g.start)
	g.logf("ready")
	if err := signal(ReadyFile, ""); err != nil {
		return err
	}
	switch {
	case cfg.Probe != nil:
		err = g.probe(cfg.Probe)
	case cfg.Load != nil:
		err = g.load(cfg.Load)
	case cfg.Hold != "":
		err = g.hold(filepath.Join(HostDir, cfg.Hold))
	}
	g.copyLogs()
	return err
}

// earlyMounts mounts what a minimal root lacks without an init system
// (the init script has mounted /proc and HostDir already).
func (g *guest) earlyMounts() error {
	mounts := []struct{ src, dst, fstype, data string }{
		{"sysfs", "/sys", "sysfs", ""},
		{"tmpfs", "/run", "tmpfs", "mode=0755"},
		{"tmpfs", "/tmp", "tmpfs", "mode=1777"},
		{"devpts", "/dev/pts", "devpts", ""},
	}
	for _, m := range mounts {
		if err := os.MkdirAll(m.dst, 0o755); err != nil {
			return err
		}
		if err := syscall.Mount(m.src, m.dst, m.fstype, 0, m.data); err != nil && !errors.Is(err, syscall.EBUSY) {
			return fmt.Errorf("mount %s on %s: %w", m.fstype, m.dst, err)
		}
	}
	return nil
}

// network brings the loopback and the configured interfaces up.
func (g *guest) network() error {
	if err := g.run(Command{Argv: []string{"ip", "link", "set", "lo", "up"}}); err != nil {
		return err
	}
	for _, i := range g.cfg.Interfaces {
		if err := g.run(Command{Argv: []string{"ip", "addr", "add", i.Addr, "dev", i.Name}}); err != nil {
			return err
		}
		if err := g.run(Command{Argv: []string{"ip", "link", "set", i.Name, "up"}}); err != nil {
			return err
		}
	}
	if len(g.cfg.Hosts) > 0 {
		hosts := "127.0.0.1\tlocalhost\n" + strings.Join(g.cfg.Hosts, "\n") + "\n"
		if err := os.WriteFile("/etc/hosts", []byte(hosts), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// run runs a command to completion, retrying as it says.
func (g *guest) run(c Command) error {
	var err error
	for try := 0; try <= c.Retry; try++ {
		if try > 0 {
			time.Sleep(time.Second)
		}
		var out bytes.Buffer
		cmd := exec.Command(c.Argv[0], c.Argv[1:]...)
		cmd.Stdout, cmd.Stderr = &out, &out
		if err = cmd.Run(); err == nil {
			return nil
		}
		err = fmt.Errorf("%s: %v: %s", strings.Join(c.Argv, " "), err, strings.TrimSpace(out.String()))
	}
	return err
}

func (g *guest) mount(m Mount) error {
	if err := os.MkdirAll(m.Dir, 0o755); err != nil {
		return err
	}
	if m.Nodename == "" {
		return g.run(Command{Argv: []string{"mount", "-t", "nfs", "-o", m.Options, m.Source, m.Dir}, Retry: 5})
	}
	// The mount in a UTS namespace of its own named Nodename: the RPC
	// client the mount creates keeps that node name (the mount itself
	// is in the guest's one mount namespace, seen by every process).
	var err error
	for try := 0; try <= 5; try++ {
		if try > 0 {
			time.Sleep(time.Second)
		}
		var out bytes.Buffer
		cmd := exec.Command("sh", "-c", `echo "$1" > /proc/sys/kernel/hostname && exec mount -t nfs -o "$2" "$3" "$4"`, "sh", m.Nodename, m.Options, m.Source, m.Dir)
		cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWUTS}
		cmd.Stdout, cmd.Stderr = &out, &out
		if err = cmd.Run(); err == nil {
			return nil
		}
		err = fmt.Errorf("mount %s on %s as node %s: %v: %s", m.Source, m.Dir, m.Nodename, err, strings.TrimSpace(out.String()))
	}
	return err
}

// lockCheck takes and releases an fcntl lock on a file in dir, waiting
// at most two minutes for the lock manager to grant it.
func (g *guest) lockCheck(dir string) error {
	// Guests that share the export check at the same time: each on a
	// file of its own.
	host, _ := os.Hostname()
	path := filepath.Join(dir, ".mailsim-lockcheck-"+host)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	defer os.Remove(path)
	defer f.Close()
	start := time.Now()
	done := make(chan error, 1)
	go func() {
		lk := syscall.Flock_t{Type: syscall.F_WRLCK, Whence: 0, Start: 0, Len: 1}
		done <- syscall.FcntlFlock(f.Fd(), syscall.F_SETLKW, &lk)
	}()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("fcntl lock in %s: %w", dir, err)
		}
	case <-time.After(2 * time.Minute):
		return fmt.Errorf("fcntl lock in %s not granted within 2 minutes: the NFS lock manager does not answer", dir)
	}
	g.logf("fcntl lock in %s granted after %.1f s", dir, time.Since(start).Seconds())
	lk := syscall.Flock_t{Type: syscall.F_UNLCK, Whence: 0, Start: 0, Len: 1}
	return syscall.FcntlFlock(f.Fd(), syscall.F_SETLK, &lk)
}

// startService starts a service in a process group of its own, so that a
// fault can stop or kill it whole, and waits until it is ready.
func (g *guest) startService(s Service) error {
	r, err := spawn(s)
	if err != nil {
		return err
	}
	g.svcMu.Lock()
	g.services = append(g.services, r)
	g.svcMu.Unlock()
	return g.ready(r)
}

// spawn starts a service's process in a process group of its own.
func spawn(s Service) (*running, error) {
	cmd := exec.Command(s.Argv[0], s.Argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if s.Log != "" {
		if err := os.MkdirAll(filepath.Dir(s.Log), 0o755); err != nil {
			return nil, err
		}
		f, err := os.OpenFile(s.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, err
		}
		// The process has its own copy once started.
		defer f.Close()
		cmd.Stdout, cmd.Stderr = f, f
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("service %s: %w", s.Name, err)
	}
	r := &running{svc: s, cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(r.done) }()
	return r, nil
}

// ready waits until a service accepts connections on its Ready address.
func (g *guest) ready(r *running) error {
	s := r.svc
	if s.Ready == "" {
		return nil
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.Ready, time.Second)
		if err == nil {
			c.Close()
			g.logf("%s ready on %s", s.Name, s.Ready)
			return nil
		}
		select {
		case <-r.done:
			return fmt.Errorf("service %s exited before it was ready (%s)", s.Name, strings.Join(s.Argv, " "))
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("service %s not ready on %s after 60 s", s.Name, s.Ready)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (g *guest) service(name string) *running {
	g.svcMu.Lock()
	defer g.svcMu.Unlock()
	for _, r := range g.services {
		if r.svc.Name == name {
			return r
		}
	}
	return nil
}

// fault applies one fault or action: a signal to a service, a service
// started again, or a request to a service's socket.
func (g *guest) fault(f Fault) {
	kind, detail := f.Event, f.Detail
	if kind == "" {
		kind = "backend." + f.Kind
	}
	if detail == "" {
		detail = f.Service
	}
	var err error
	switch f.Kind {
	case "start":
		err = g.restart(f.Service)
	case "ask":
		var reply string
		reply, err = ask(context.Background(), f.Socket, f.Request, f.Lines, 10*time.Second)
		if last := lastLine(reply); err == nil && last != f.Expect {
			err = fmt.Errorf("answered %q", last)
		}
	case "note":
	default:
		err = g.signalService(f)
	}
	if err != nil {
		detail += ": " + err.Error()
	}
	g.event(kind, detail)
	g.logf("%s %s", kind, detail)
}

// signalService sends the signal of a crash, hang, recover or stop to its
// service: the whole process group, or, for a stop, the service's own
// process alone (a Dovecot master stops its children itself).
func (g *guest) signalService(f Fault) error {
	r := g.service(f.Service)
	if r == nil {
		return errors.New("no service " + f.Service)
	}
	pid := -r.cmd.Process.Pid
	var sig syscall.Signal
	switch f.Kind {
	case "crash":
		sig = syscall.SIGKILL
	case "hang":
		sig = syscall.SIGSTOP
	case "recover":
		sig = syscall.SIGCONT
	case "stop":
		sig, pid = syscall.SIGTERM, r.cmd.Process.Pid
	default:
		return errors.New("unknown fault kind " + f.Kind)
	}
	return syscall.Kill(pid, sig)
}

// restart starts a service that has ended (after a stop or a crash) again
// and waits until it is ready.
func (g *guest) restart(name string) error {
	g.svcMu.Lock()
	i := -1
	for j, r := range g.services {
		if r.svc.Name == name {
			i = j
		}
	}
	if i < 0 {
		g.svcMu.Unlock()
		return errors.New("no service " + name)
	}
	old := g.services[i]
	select {
	case <-old.done:
	default:
		g.svcMu.Unlock()
		return errors.New("still running")
	}
	r, err := spawn(old.svc)
	if err == nil {
		g.services[i] = r
	}
	g.svcMu.Unlock()
	if err != nil {
		return err
	}
	return g.ready(r)
}

// stopServices ends every service, last started first, so that logs are
// flushed and NFS locks released before power-off.
func (g *guest) stopServices() {
	g.svcMu.Lock()
	defer g.svcMu.Unlock()
	for i := len(g.services) - 1; i >= 0; i-- {
		r := g.services[i]
		pg := -r.cmd.Process.Pid
		_ = syscall.Kill(pg, syscall.SIGCONT)
		_ = syscall.Kill(pg, syscall.SIGTERM)
		select {
		case <-r.done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(pg, syscall.SIGKILL)
		}
	}
	g.services = nil
}

// readCounters reads the counter files.
func (g *guest) readCounters() []KV { return readFiles(g.cfg.Counters) }

// readFiles reads each file of kvs (Value is the path); a path with a *
// reads every file it matches, each after a "==> PATH <==" line.
func readFiles(kvs []KV) []KV {
	var out []KV
	for _, kv := range kvs {
		if !strings.Contains(kv.Value, "*") {
			b, err := os.ReadFile(kv.Value)
			if err != nil {
				b = []byte("error: " + err.Error())
			}
			out = append(out, KV{Key: kv.Key, Value: string(b)})
			continue
		}
		paths, _ := filepath.Glob(kv.Value)
		var s strings.Builder
		for _, p := range paths {
			b, err := os.ReadFile(p)
			if err != nil {
				b = []byte("error: " + err.Error() + "\n")
			}
			fmt.Fprintf(&s, "==> %s <==\n%s", p, b)
		}
		out = append(out, KV{Key: kv.Key, Value: s.String()})
	}
	return out
}

// watch appends the Watch files' contents to WatchLog every
// WatchInterval until ctx is done.
func (g *guest) watch(ctx context.Context) {
	if len(g.cfg.Watch) == 0 || g.cfg.WatchInterval <= 0 {
		return
	}
	_ = os.MkdirAll(filepath.Dir(WatchLog), 0o755)
	f, err := os.OpenFile(WatchLog, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		g.logf("watch: %v", err)
		return
	}
	defer f.Close()
	t := time.NewTicker(g.cfg.WatchInterval)
	defer t.Stop()
	for {
		now := time.Now()
		for _, kv := range readFiles(g.cfg.Watch) {
			fmt.Fprintf(f, "=== %s %s\n%s", now.Format(time.RFC3339Nano), kv.Key, kv.Value)
			if !strings.HasSuffix(kv.Value, "\n") {
				fmt.Fprintln(f)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// copyLogs copies the logs into HostDir/LogDir, each onto the host's disk
// before it returns.
func (g *guest) copyLogs() {
	dir := filepath.Join(HostDir, LogDir)
	_ = os.MkdirAll(dir, 0o755)
	for _, kv := range g.cfg.Logs {
		b, err := os.ReadFile(kv.Key)
		if err != nil {
			continue
		}
		_ = writeSynced(filepath.Join(dir, kv.Value), b)
	}
}

// signal writes a file under HostDir for the host to find: whole (it
// appears by a rename) and on the host's disk.
func signal(name, content string) error {
	tmp := filepath.Join(HostDir, ".tmp-"+name)
	if err := writeSynced(tmp, []byte(content)); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(HostDir, name))
}

// writeSynced writes a file and flushes it: the guest's page cache would
// otherwise keep a file written through hostfs from the host for a while,
// or for good if the machine is killed.
func writeSynced(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func (g *guest) writeResult() {
	b, err := json.Marshal(&g.res)
	if err != nil {
		b = []byte(`{"Error":"encoding the result: ` + err.Error() + `"}`)
	}
	tmp := filepath.Join(HostDir, ".tmp-"+ResultFile)
	if err := os.WriteFile(tmp, b, 0o644); err == nil {
		_ = os.Rename(tmp, filepath.Join(HostDir, ResultFile))
	}
}

// hold waits until the host removes the named file. Meanwhile it reads
// the counters when the host marks the measured period's start and end,
// and copies the logs out every two seconds.
func (g *guest) hold(path string) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go g.watch(ctx)
	var started, ended bool
	marks := func() {
		if !started && exists(filepath.Join(HostDir, MeasureStartFile)) {
			started = true
			g.res.CountersBefore = g.readCounters()
			g.logf("measured period starts")
		}
		if !ended && exists(filepath.Join(HostDir, MeasureEndFile)) {
			ended = true
			g.res.CountersAfter = g.readCounters()
			g.logf("measured period ends")
		}
	}
	copied := time.Now()
	for {
		marks()
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			// The host marks the end before it lets the guest go.
			marks()
			return nil
		}
		if time.Since(copied) >= 2*time.Second {
			g.copyLogs()
			copied = time.Now()
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// load replays the workload, applying the faults at their times.
func (g *guest) load(l *Load) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	g.loadT0 = time.Now()
	g.res.LoadStart = g.loadT0
	// The host times the faults it applies from this.
	if err := signal(LoadStartedFile, g.loadT0.Format(time.RFC3339Nano)); err != nil {
		return err
	}
	go g.watch(ctx)
	var timers []*time.Timer
	for _, f := range g.cfg.Faults {
		timers = append(timers, time.AfterFunc(f.At, func() { g.fault(f) }))
	}
	before := make(chan []KV, 1)
	timers = append(timers, time.AfterFunc(l.Warmup, func() {
		before <- g.readCounters()
		_ = signal(MeasureStartFile, "")
	}))
	sampled := make(chan []SampleOutput, 1)
	sampleCtx, stopSampling := context.WithCancel(ctx)
	go func() { sampled <- g.sample(sampleCtx, l.Sample) }()
	var m *imapload.Measurements
	var err error
	// The load's offsets count from the same origin as the faults'.
	l.Config.Start = g.loadT0
	if l.Imaptest != nil {
		m, err = imaptest(ctx, l)
	} else {
		m, err = replay(ctx, l)
	}
	for _, t := range timers {
		t.Stop()
	}
	stopSampling()
	g.res.Samples = <-sampled
	select {
	case g.res.CountersBefore = <-before:
	default:
		g.res.CountersBefore = g.readCounters()
		_ = signal(MeasureStartFile, "")
	}
	g.res.CountersAfter = g.readCounters()
	_ = signal(MeasureEndFile, "")
	g.res.Measurements = m
	return err
}

// sample sends the load's Sample request at the end of every interval
// from its Start on until ctx is done, and returns the replies.
func (g *guest) sample(ctx context.Context, s *Sample) []SampleOutput {
	if s == nil || s.Socket == "" || s.Interval <= 0 {
		return nil
	}
	var out []SampleOutput
	for k := 1; ; k++ {
		// After a request that took long, the next is at the interval's
		// end nearest now: ends more than half an interval past are
		// skipped.
		if now := time.Since(g.loadT0) - s.Start; now > time.Duration(k)*s.Interval+s.Interval/2 {
			k = int((now + s.Interval/2) / s.Interval)
		}
		t := time.NewTimer(time.Until(g.loadT0.Add(s.Start + time.Duration(k)*s.Interval)))
		select {
		case <-ctx.Done():
			t.Stop()
			return out
		case <-t.C:
		}
		o := SampleOutput{At: time.Since(g.loadT0)}
		reply, err := ask(ctx, s.Socket, s.Request, 0, max(s.Interval, 5*time.Second))
		if err != nil {
			if ctx.Err() != nil {
				return out
			}
			o.Error = err.Error()
		}
		o.Output = reply
		out = append(out, o)
	}
}

// ask sends request to the UNIX socket and returns the reply: its first
// lines lines, or with lines 0 the lines up to its first empty line. It
// waits at most timeout.
func ask(ctx context.Context, socket, request string, lines int, timeout time.Duration) (string, error) {
	d := net.Dialer{Timeout: timeout}
	c, err := d.DialContext(ctx, "unix", socket)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(timeout))
	if _, err := io.WriteString(c, request); err != nil {
		return "", err
	}
	var b strings.Builder
	r := bufio.NewReader(c)
	for n := 0; ; n++ {
		if lines > 0 && n == lines {
			return b.String(), nil
		}
		line, err := r.ReadString('\n')
		if line == "\n" && lines == 0 {
			return b.String(), nil
		}
		b.WriteString(line)
		if err != nil {
			return b.String(), err
		}
	}
}

// lastLine returns the last line of s, without its line end.
func lastLine(s string) string {
	s = strings.TrimRight(s, "\r\n")
	return s[strings.LastIndexByte(s, '\n')+1:]
}
