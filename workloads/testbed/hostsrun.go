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
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mailsim/mailsim/workloads/testbed/guest"
)

// Memory of the multi-host topology's guests, unless Options.Memory says.
const (
	hostsServerMemory = "768M"
	hostsEntryMemory  = "1G"
)

// Deadlines of a multi-host run's phases.
const (
	// hostsReadyDeadline bounds the boot of the server and the backends,
	// the population of the export and the lock managers' grace periods.
	hostsReadyDeadline = 5 * time.Minute
	// hostsStopDeadline bounds each group's power-off (the backends, then
	// the server) before they are killed.
	hostsStopDeadline = time.Minute
	// hostsPoll is how often the host looks at the guests' files.
	hostsPoll = 100 * time.Millisecond
)

// hostsGuestNames are the folders of a multi-host run's guests in the
// run's folder, each guest's hostfs root.
func hostsGuestNames(backends int) []string {
	out := []string{ServerHost, EntryHost}
	for i := range backends {
		out = append(out, backendName(i))
	}
	return out
}

// runHosts runs a cluster in the multi-host topology. The server and the
// backends boot together and hold; once each has written its ready file,
// the entry guest boots and runs the load. The host applies the faults
// to the backends' machines, timed from the load's start as the entry
// guest reports it, and passes the entry guest's measure-start and
// measure-end marks on to the holding guests, which read their counters
// then (so the server's nfsd counters and the backends' mountstats cover
// the load's measured period, give or take the few hundred milliseconds
// the marks take to travel). When the entry guest has powered off, the
// host lets the backends go, then the server, and gathers one result:
// the load's measurements and events, the server's nfsd counters and
// /proc/locks ("locks": the locks its lock manager holds for the
// backends), every backend's mountstats (each under its own mount
// point), and every
// guest's logs in the run's logs folder. Whatever happens, every guest is
// stopped and the network namespace removed before it returns.
func runHosts(ctx context.Context, c *Cluster, o Options) (res *guest.Result, err error) {
	plan, err := c.Hosts(TraceFile)
	if err != nil {
		return nil, err
	}
	if miss := Missing(true); len(miss) > 0 {
		return nil, fmt.Errorf("testbed: the hosts topology cannot run here; missing: %s", strings.Join(miss, "; "))
	}
	work, err := filepath.Abs(o.Work)
	if err != nil {
		return nil, err
	}
	deadline := hostsReadyDeadline + 3*time.Minute + time.Duration(c.Config.Warmup+c.Config.Duration) + 2*hostsStopDeadline
	ctx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()

	named := plan.Guests()
	sweepStaleNetns(o.Log)
	ns, err := newNetns(len(named))
	if err != nil {
		return nil, err
	}
	defer func() {
		if rerr := ns.remove(); rerr != nil && err == nil {
			res, err = nil, rerr
		}
	}()
	r := &hostsRun{o: o, work: work, ns: ns, t0: time.Now(), load: time.Duration(c.Config.Warmup + c.Config.Duration), byName: map[string]*vm{}}
	// Runs before the namespace's removal: nothing may be left in it.
	defer r.killAll()
	fmt.Fprintf(o.Log, "testbed: hosts topology in network namespace %s: %d guests (consoles in %s/*/console.log)\n", ns.name, len(named), work)

	// The server and the backends boot together, and hold.
	for k, ng := range named[:len(named)-1] {
		mem := hostsServerMemory
		if o.Memory != "" {
			mem = o.Memory
		}
		if _, err := r.start(ng, k, mem); err != nil {
			return nil, err
		}
	}
	if err := r.waitReady(ctx); err != nil {
		return nil, err
	}
	fmt.Fprintf(o.Log, "testbed: server and %d backends ready after %.1f s\n", len(plan.Backends), time.Since(r.t0).Seconds())

	// The entry guest runs the load.
	entryName := named[len(named)-1]
	if err := os.MkdirAll(filepath.Join(work, EntryHost), 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(work, EntryHost, TraceFile), c.Trace, 0o644); err != nil {
		return nil, err
	}
	mem := hostsEntryMemory
	if o.Memory != "" {
		mem = o.Memory
	}
	entry, err := r.start(entryName, len(named)-1, mem)
	if err != nil {
		return nil, err
	}
	if err := r.follow(ctx, entry, plan.Faults); err != nil {
		return nil, err
	}

	// Power-off: the backends first (their Dovecot and NFS clients end
	// while the server still answers), then the server.
	var backends []*vm
	for i := range plan.Backends {
		backends = append(backends, r.byName[backendName(i)])
	}
	r.release(ctx, backends)
	r.release(ctx, []*vm{r.byName[ServerHost]})
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return r.gather(entry, backends)
}

// hostsRun is one multi-host run in progress.
type hostsRun struct {
	o    Options
	work string
	ns   *netns
	// t0 is when the first guest booted.
	t0 time.Time
	// load is the load's length, warm-up included.
	load   time.Duration
	vms    []*vm
	byName map[string]*vm
	// loadStart is the load's start on the entry guest's clock (the
	// host's: a user-mode kernel keeps the host's time).
	loadStart time.Time
	// events are the host's: the faults it applied and what it saw.
	events []guest.Event
}

// vm is one running guest.
type vm struct {
	name string
	m    Machine
	cmd  *exec.Cmd
	// done is closed when the kernel has exited.
	done chan struct{}
	// hung is set while the machine is stopped; crashed once it has been
	// killed by a fault.
	hung, crashed bool
}

func (v *vm) exited() bool {
	select {
	case <-v.done:
		return true
	default:
		return false
	}
}

// start writes a guest's configuration (and hold file) into its folder
// and boots it on tap device k.
func (r *hostsRun) start(ng NamedGuest, k int, memory string) (*vm, error) {
	dir := filepath.Join(r.work, ng.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(ng.Config, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, guest.ConfigFile), b, 0o644); err != nil {
		return nil, err
	}
	if ng.Config.Hold != "" {
		if err := os.WriteFile(filepath.Join(dir, ng.Config.Hold), nil, 0o644); err != nil {
			return nil, err
		}
	}
	m := Machine{
		Name:   "mailsim-" + filepath.Base(r.work) + "-" + ng.Name,
		Shared: dir, Memory: memory, Netns: r.ns.name,
		Net: []string{"tuntap," + r.ns.tap(k) + "," + guestMAC(ng.Config)},
	}
	cmd, err := boot(r.o.Guest, m)
	if err != nil {
		return nil, err
	}
	v := &vm{name: ng.Name, m: m, cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(v.done) }()
	r.vms = append(r.vms, v)
	r.byName[ng.Name] = v
	fmt.Fprintf(r.o.Log, "testbed: booting %s (%s, %s)\n", ng.Name, ng.Config.Interfaces[0].Addr, memory)
	return v, nil
}

// guestMAC is user-mode Linux's customary Ethernet address for a guest's
// eth0: fe:fd and its IPv4 address.
func guestMAC(cfg *guest.Config) string {
	a, _, _ := strings.Cut(cfg.Interfaces[0].Addr, "/")
	var b [4]int
	for i, f := range strings.SplitN(a, ".", 4) {
		b[i], _ = strconv.Atoi(f)
	}
	return fmt.Sprintf("fe:fd:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3])
}

func (r *hostsRun) file(v *vm, name string) string { return filepath.Join(v.m.Shared, name) }

// waitReady waits until every guest started so far has written its ready
// file.
func (r *hostsRun) waitReady(ctx context.Context) error {
	timer := time.NewTimer(hostsReadyDeadline)
	defer timer.Stop()
	tick := time.NewTicker(hostsPoll)
	defer tick.Stop()
	for {
		waiting := 0
		for _, v := range r.vms {
			if fileExists(r.file(v, guest.ReadyFile)) {
				continue
			}
			if v.exited() {
				return r.died(v)
			}
			waiting++
		}
		if waiting == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
			var late []string
			for _, v := range r.vms {
				if !fileExists(r.file(v, guest.ReadyFile)) {
					late = append(late, v.name+" (console: "+r.file(v, "console.log")+")")
				}
			}
			return fmt.Errorf("testbed: not ready within %v: %s", hostsReadyDeadline, strings.Join(late, ", "))
		case <-tick.C:
		}
	}
}

// died explains a guest that powered off on its own before its time.
func (r *hostsRun) died(v *vm) error {
	if _, err := readResult(v.m); err != nil {
		return err
	}
	return fmt.Errorf("testbed: guest %s powered off before its time; its console is in %s", v.name, r.file(v, "console.log"))
}

// follow watches the entry guest until it powers off: it applies the
// faults from the load's start on, and passes the measured period's
// marks on to the holding guests.
func (r *hostsRun) follow(ctx context.Context, entry *vm, faults []guest.Fault) error {
	timer := time.NewTimer(3*time.Minute + r.load)
	defer timer.Stop()
	tick := time.NewTicker(hostsPoll)
	defer tick.Stop()
	var next <-chan time.Time
	var nextTimer *time.Timer
	defer func() {
		if nextTimer != nil {
			nextTimer.Stop()
		}
	}()
	relayed := map[string]bool{}
	relay := func() {
		for _, mark := range []string{guest.MeasureStartFile, guest.MeasureEndFile} {
			if relayed[mark] || !fileExists(r.file(entry, mark)) {
				continue
			}
			relayed[mark] = true
			for _, v := range r.vms {
				if v != entry {
					_ = os.WriteFile(r.file(v, mark), nil, 0o644)
				}
			}
		}
	}
	// schedule applies the faults that are due and arms the timer for
	// the next one.
	schedule := func() {
		for len(faults) > 0 && !time.Now().Before(r.loadStart.Add(faults[0].At)) {
			r.fault(faults[0])
			faults = faults[1:]
		}
		next = nil
		if len(faults) > 0 {
			nextTimer = time.NewTimer(time.Until(r.loadStart.Add(faults[0].At)))
			next = nextTimer.C
		}
	}
	for {
		select {
		case <-entry.done:
			relay()
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
			return fmt.Errorf("testbed: the load guest did not finish within %v; its console is in %s", 3*time.Minute+r.load, r.file(entry, "console.log"))
		case <-next:
			schedule()
		case <-tick.C:
			if r.loadStart.IsZero() {
				if b, err := os.ReadFile(r.file(entry, guest.LoadStartedFile)); err == nil {
					t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(string(b)))
					if err != nil {
						return fmt.Errorf("testbed: %s: %w", r.file(entry, guest.LoadStartedFile), err)
					}
					r.loadStart = t
					fmt.Fprintf(r.o.Log, "testbed: load started after %.1f s\n", t.Sub(r.t0).Seconds())
					schedule()
				}
			}
			relay()
			for _, v := range r.vms {
				if v != entry && !v.crashed && v.exited() {
					return r.died(v)
				}
			}
		}
	}
}

// fault applies a fault to a backend's whole machine. A crash kills the
// kernel's process group: a power loss. A hang stops the kernel's
// process only: the guest's processes are the kernel's ptrace tracees,
// which wait for it, and a stop signal sent to them would reach the
// kernel as an unexpected signal that kills the guest process. Recover
// continues a hung kernel.
func (r *hostsRun) fault(f guest.Fault) {
	v := r.byName[f.Service]
	detail := f.Service
	var err error
	switch {
	case v == nil:
		err = errors.New("no such guest")
	case f.Kind == "crash":
		err = syscall.Kill(-v.cmd.Process.Pid, syscall.SIGKILL)
		v.crashed, v.hung = true, false
	case f.Kind == "hang":
		err = syscall.Kill(v.cmd.Process.Pid, syscall.SIGSTOP)
		v.hung = true
	case f.Kind == "recover" && v.crashed:
		err = errors.New("a crashed machine cannot recover")
	case f.Kind == "recover":
		err = syscall.Kill(v.cmd.Process.Pid, syscall.SIGCONT)
		v.hung = false
	default:
		err = errors.New("unknown fault kind " + f.Kind)
	}
	kind := "backend." + f.Kind
	if err != nil {
		kind, detail = "fault.error", detail+" "+f.Kind+": "+err.Error()
	}
	r.events = append(r.events, guest.Event{At: time.Since(r.loadStart), Kind: kind, Detail: detail})
	fmt.Fprintf(r.o.Log, "testbed: %.1f s into the load: %s %s\n", time.Since(r.loadStart).Seconds(), kind, detail)
}

// release lets holding guests power off: a hung one is continued, every
// one's hold file removed; those not off within the deadline are killed.
func (r *hostsRun) release(ctx context.Context, vs []*vm) {
	for _, v := range vs {
		if v.hung {
			_ = syscall.Kill(v.cmd.Process.Pid, syscall.SIGCONT)
			v.hung = false
		}
		_ = os.Remove(r.file(v, HoldFile))
	}
	timer := time.NewTimer(hostsStopDeadline)
	defer timer.Stop()
	for _, v := range vs {
		select {
		case <-v.done:
		case <-ctx.Done():
			return
		case <-timer.C:
			for _, v := range vs {
				if !v.exited() {
					fmt.Fprintf(r.o.Log, "testbed: %s did not power off within %v; killed\n", v.name, hostsStopDeadline)
					r.events = append(r.events, guest.Event{At: time.Since(r.loadStart), Kind: "testbed.killed", Detail: v.name + " did not power off"})
					stop(v.cmd)
					<-v.done
				}
			}
			return
		}
		stop(v.cmd) // the kernel's helper processes, if any are left
	}
}

// killAll stops every guest still running and waits for its kernel.
func (r *hostsRun) killAll() {
	for _, v := range r.vms {
		stop(v.cmd)
	}
	for _, v := range r.vms {
		<-v.done
	}
	for _, v := range r.vms {
		removeBootFiles(v.m.Shared)
	}
}

// gather combines the guests' results and logs into the run's.
func (r *hostsRun) gather(entry *vm, backends []*vm) (*guest.Result, error) {
	er, err := readResult(entry.m)
	if err != nil {
		return nil, err
	}
	sr, err := readResult(r.byName[ServerHost].m)
	if err != nil {
		return nil, err
	}
	res := &guest.Result{
		Boot:         er.LoadStart.Sub(r.t0),
		LoadStart:    er.LoadStart,
		Measurements: er.Measurements,
		Events:       append(er.Events, r.events...),
	}
	// The server's counters: nfsd's calls, its locks and, under NFSv4,
	// its clients and their state.
	for _, kv := range sr.CountersBefore {
		res.CountersBefore = append(res.CountersBefore, guest.KV{Key: kv.Key, Value: counters(sr.CountersBefore, kv.Key)})
	}
	for _, kv := range sr.CountersAfter {
		res.CountersAfter = append(res.CountersAfter, guest.KV{Key: kv.Key, Value: counters(sr.CountersAfter, kv.Key)})
	}
	var before, after strings.Builder
	for _, v := range backends {
		br, err := readResult(v.m)
		if err != nil {
			if !v.crashed {
				fmt.Fprintf(r.o.Log, "testbed: %v\n", err)
				res.Events = append(res.Events, guest.Event{At: time.Since(r.loadStart), Kind: "testbed.no_result", Detail: v.name})
			}
			continue
		}
		before.WriteString(counters(br.CountersBefore, "mountstats"))
		after.WriteString(counters(br.CountersAfter, "mountstats"))
	}
	res.CountersBefore = append(res.CountersBefore, guest.KV{Key: "mountstats", Value: before.String()})
	res.CountersAfter = append(res.CountersAfter, guest.KV{Key: "mountstats", Value: after.String()})
	sort.SliceStable(res.Events, func(i, j int) bool { return res.Events[i].At < res.Events[j].At })

	logs := filepath.Join(r.work, guest.LogDir)
	if err := os.MkdirAll(logs, 0o755); err != nil {
		return nil, err
	}
	for _, v := range r.vms {
		ents, err := os.ReadDir(r.file(v, guest.LogDir))
		if err != nil {
			continue
		}
		for _, e := range ents {
			if e.Type().IsRegular() {
				if err := copyFile(filepath.Join(r.file(v, guest.LogDir), e.Name()), filepath.Join(logs, e.Name())); err != nil {
					return nil, err
				}
			}
		}
	}
	b, err := json.Marshal(res)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(r.work, guest.ResultFile), b, 0o644); err != nil {
		return nil, err
	}
	return res, nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// netns is a network namespace of the testbed's own: a bridge br0 and
// one tap device per guest (tap0, tap1, ...), all inside it, so that the
// guests reach one another and nothing else. The host's own network is
// never touched.
type netns struct {
	name string
	taps int
	mu   sync.Mutex
	gone bool
}

var netnsSeq atomic.Int64

// sweepStaleNetns removes the namespaces an earlier mailsim left behind
// when it was killed before it could clean up: those named mailsim-PID-N
// whose PID no longer runs. Their guests' kernels are killed first. A
// namespace whose PID runs is left alone, whatever runs under that PID.
func sweepStaleNetns(log io.Writer) {
	es, err := os.ReadDir("/run/netns")
	if err != nil {
		return
	}
	for _, e := range es {
		var pid, seq int
		if n, _ := fmt.Sscanf(e.Name(), "mailsim-%d-%d", &pid, &seq); n != 2 || fmt.Sprintf("mailsim-%d-%d", pid, seq) != e.Name() {
			continue
		}
		if pid <= 0 || !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
			continue
		}
		if out, err := exec.Command("ip", "netns", "pids", e.Name()).Output(); err == nil {
			for _, f := range strings.Fields(string(out)) {
				if p, err := strconv.Atoi(f); err == nil && p > 1 {
					_ = syscall.Kill(p, syscall.SIGKILL)
				}
			}
		}
		if err := ip("netns", "del", e.Name()); err == nil {
			fmt.Fprintf(log, "testbed: removed the network namespace %s, left by a mailsim (pid %d) that no longer runs\n", e.Name(), pid)
		}
	}
}

// newNetns makes a namespace named mailsim-PID-N with its bridge and taps.
func newNetns(taps int) (*netns, error) {
	n := &netns{name: fmt.Sprintf("mailsim-%d-%d", os.Getpid(), netnsSeq.Add(1)), taps: taps}
	if err := ip("netns", "add", n.name); err != nil {
		return nil, err
	}
	cmds := [][]string{
		{"link", "set", "lo", "up"},
		{"link", "add", "br0", "type", "bridge"},
		{"link", "set", "br0", "up"},
	}
	for k := range taps {
		cmds = append(cmds,
			[]string{"tuntap", "add", "dev", n.tap(k), "mode", "tap"},
			[]string{"link", "set", n.tap(k), "master", "br0"},
			[]string{"link", "set", n.tap(k), "up"},
		)
	}
	for _, c := range cmds {
		if err := ip(append([]string{"-n", n.name}, c...)...); err != nil {
			_ = n.remove()
			return nil, err
		}
	}
	return n, nil
}

func (n *netns) tap(k int) string { return "tap" + strconv.Itoa(k) }

// remove deletes the namespace's devices and the namespace. It may be
// called more than once; only the first call acts. Every process in the
// namespace must have ended.
func (n *netns) remove() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.gone {
		return nil
	}
	n.gone = true
	// Deleting the namespace deletes its devices too; deleting them
	// first frees them at once, whatever still refers to the namespace.
	for k := range n.taps {
		_ = ip("-n", n.name, "link", "del", n.tap(k))
	}
	_ = ip("-n", n.name, "link", "del", "br0")
	if err := ip("netns", "del", n.name); err != nil {
		if _, serr := os.Stat(filepath.Join("/run/netns", n.name)); errors.Is(serr, os.ErrNotExist) {
			return nil
		}
		return err
	}
	return nil
}

// ip runs ip(8) with a deadline of its own, so that cleaning up works
// after the run's context is done.
func ip(args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("testbed: ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
