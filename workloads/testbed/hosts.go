package testbed

import (
	"fmt"
	"net/netip"
	"strconv"
	"time"

	"github.com/mailsim/mailsim/model"
	"github.com/mailsim/mailsim/workloads/testbed/guest"
)

// Topologies.
const (
	// OneKernel runs the NFS server, one NFS mount per backend
	// (nosharecache: separate attribute, data and lookup caches), every
	// backend's Dovecot, the proxy and the load in one user-mode kernel.
	OneKernel = "one-kernel"
	// Hosts runs every backend in a user-mode kernel of its own (its own
	// NFS client, lock manager and status monitor, so that locks go
	// between hosts over NLM), the NFS server in another, and the entry
	// point with the load in a third, on a private network.
	Hosts = "hosts"
)

// Topologies lists the topologies a run can use.
var Topologies = []string{OneKernel, Hosts}

// Addresses and names of the multi-host topology. The backends keep the
// addresses Cluster.Backends gives them (10.0.0.1, 10.0.0.2, ...: the
// director hashes them), the entry guest has EntryAddr and the NFS server
// ServerAddr, all in one /8 on each guest's eth0.
var (
	// ServerAddr is the NFS server guest's address.
	ServerAddr = netip.MustParseAddr("10.255.0.2")
	// hostsNet is the private network every guest's eth0 is on.
	hostsNet = netip.MustParsePrefix("10.0.0.0/8")
)

// Host names of the multi-host topology's guests; the backends are named
// as in logs and metrics (b1, b2, ...). NLM and the status monitor
// identify hosts by these names.
const (
	ServerHost = "nfs"
	EntryHost  = "entry"
)

// HoldFile is the file the multi-host topology's serving guests wait on:
// they serve until the host removes it from their shared folder.
const HoldFile = "hold"

// HostsPlan is the multi-host topology's guests and the faults the host
// applies to them.
type HostsPlan struct {
	// Server is the NFS server's guest. It holds until the host lets it
	// go, and reads its /proc/net/rpc/nfsd counters ("nfsd") and its
	// /proc/locks ("locks") when the measured period starts and ends.
	Server *guest.Config
	// Backends are the backends' guests, in backend order, each named
	// and addressed as the backend. Each holds, and reads its
	// /proc/self/mountstats ("mountstats") when the measured period
	// starts and ends.
	Backends []*guest.Config
	// Entry is the guest of the entry point (HAProxy or the director)
	// and the load; it powers off when the load is done.
	Entry *guest.Config
	// Faults act on whole backend machines (Service names the backend's
	// guest), at offsets from the load's start: the host applies them, a
	// crash as a power loss, a hang as a frozen machine.
	Faults []guest.Fault
}

// Guests returns the plan's guests with their names, in boot order: the
// server, the backends, the entry.
func (p *HostsPlan) Guests() []NamedGuest {
	out := []NamedGuest{{Name: ServerHost, Config: p.Server}}
	for i, b := range p.Backends {
		out = append(out, NamedGuest{Name: backendName(i), Config: b})
	}
	return append(out, NamedGuest{Name: EntryHost, Config: p.Entry})
}

// NamedGuest is a guest's configuration with its name, which is also its
// host name.
type NamedGuest struct {
	Name   string
	Config *guest.Config
}

// Hosts returns the guest configurations of the multi-host topology. The
// trace is in the entry guest's shared folder under traceFile.
func (c *Cluster) Hosts(traceFile string) (*HostsPlan, error) {
	if errs := c.CheckTopology(Hosts); len(errs) > 0 {
		return nil, refuse(errs)
	}
	p, err := c.prepare()
	if err != nil {
		return nil, err
	}
	cfg := &c.Config
	bits := hostsNet.Bits()
	hosts := []string{ServerAddr.String() + "\t" + ServerHost, EntryAddr.String() + "\t" + EntryHost}
	for i, a := range c.Backends {
		hosts = append(hosts, a.String()+"\t"+backendName(i))
	}
	iface := func(a netip.Addr) []guest.Interface {
		return []guest.Interface{{Name: "eth0", Addr: netip.PrefixFrom(a, bits).String()}}
	}
	plan := &HostsPlan{}

	// The NFS server: the export open to the private network.
	srv := nfsServerGuest(serverFor(cfg, hostsNet.String(), nil))
	srv.Hostname = ServerHost
	srv.Interfaces = iface(ServerAddr)
	srv.Hosts = hosts
	srv.Server.Populate = p.maildirs
	p.convert(srv)
	// The server's locks: those its lock manager holds for each client,
	// which a crashed client leaves behind.
	srv.Counters = []guest.KV{{Key: "nfsd", Value: "/proc/net/rpc/nfsd"}, {Key: "locks", Value: "/proc/locks"}}
	// The server's locks every 2 s, and under NFSv4 nfsd's clients and
	// their state: what a hung backend leaves held, and for how long.
	if vers(cfg).V4() {
		addV4Watch(srv, 2*time.Second)
	} else {
		srv.Watch = []guest.KV{{Key: "locks", Value: "/proc/locks"}}
		srv.WatchInterval = 2 * time.Second
		srv.Logs = append(srv.Logs, guest.KV{Key: guest.WatchLog, Value: "watch.log"})
	}
	srv.Hold = HoldFile
	plan.Server = srv

	// The backends: each its own NFS client of the server.
	source := ServerAddr.String() + ":" + srv.Server.Export
	opts := mountOptions(cfg)
	for i, a := range c.Backends {
		name := backendName(i)
		g := &guest.Config{Hostname: name, Interfaces: iface(a), Hosts: hosts}
		g.Modules = []string{"nfs", "nfsv3"}
		g.Sysctls = append([]guest.KV(nil), lockSysctls...)
		rpcVers := "3"
		if vers(cfg).V4() {
			g.Modules = append(g.Modules, "nfsv4")
			g.Sysctls = append(g.Sysctls, v4Sysctls[1])
			rpcVers = "4"
		}
		// The client's lock manager needs rpcbind (the server's lockd
		// calls it back to grant a blocked lock) and the status
		// monitor (it registers the server before the first lock).
		g.Steps = append(g.Steps,
			serviceStep("rpcbind", rpcbindReady, "rpcbind", "-f", "-w"),
			serviceStep("statd", "", "rpc.statd", "-F", "--no-notify"),
			// The guests boot together: wait until the server's
			// nfsd answers (program 100003, the version mounted,
			// over TCP).
			guest.Step{Command: &guest.Command{Argv: []string{"rpcinfo", "-t", ServerAddr.String(), "100003", rpcVers}, Retry: 180}},
			guest.Step{Mount: &guest.Mount{Source: source, Dir: "/mnt/" + name, Options: opts}},
		)
		if !cfg.Mount.LocalLock {
			g.Steps = append(g.Steps, guest.Step{LockCheck: "/mnt/" + name})
		}
		c.addBackend(g, i, p.owners != nil, "")
		if p.owners != nil {
			g.Files = append(g.Files, c.ownersFile(p))
		}
		g.Counters = []guest.KV{{Key: "mountstats", Value: "/proc/self/mountstats"}}
		g.Hold = HoldFile
		plan.Backends = append(plan.Backends, g)
	}

	// The entry point and the load. The clients' addresses are local
	// routes, so that each device connects from its own address (HAProxy's
	// source balancing hashes it); the backends' are not, they are on
	// the network.
	e := &guest.Config{Hostname: EntryHost, Interfaces: iface(EntryAddr), Hosts: hosts}
	for _, r := range clientRanges {
		e.Steps = append(e.Steps, guest.Step{Command: &guest.Command{Argv: []string{"ip", "route", "add", "local", r, "dev", "lo"}}})
	}
	c.addEntry(e)
	e.Load = c.load(p, traceFile)
	// The operators' doveadm director commands run beside the director
	// (checkHosts refuses backend stop and start).
	e.Faults = c.actions()
	plan.Entry = e
	plan.Faults = c.faults()
	return plan, nil
}

// checkHosts lists what the multi-host topology cannot do: boot a crashed
// backend again, stop or start a backend's Dovecot alone, or give the
// backends addresses outside its network.
func (c *Cluster) checkHosts() []string {
	var errs []string
	fs := c.Config.Faults
	for i, f := range fs {
		if f.Kind != model.Recover {
			continue
		}
		// The backend's fault just before this one (in spec order among
		// faults at the same time, as they are applied).
		last := -1
		for j, g := range fs {
			if j == i || g.Backend != f.Backend || g.At > f.At || (g.At == f.At && j > i) {
				continue
			}
			if last < 0 || g.At >= fs[last].At {
				last = j
			}
		}
		if last >= 0 && fs[last].Kind == model.Crash {
			errs = append(errs, fmt.Sprintf("faults[%d].kind: recover after backend %d's crash at %v cannot be honoured in the hosts topology: a crash powers the backend's machine off (its NFS locks stay held at the server) and the testbed does not boot it again (hang, then recover, can)",
				i, f.Backend, time.Duration(fs[last].At)))
		}
	}
	for i, a := range c.Config.Actions {
		if a.Kind == model.BackendStop || a.Kind == model.BackendStart {
			errs = append(errs, fmt.Sprintf("actions[%d].do: %q cannot be honoured in the hosts topology: the host applies faults to whole backend machines, and the backends' Dovecot is not stopped or started on its own there (the one-kernel topology can)", i, a.Text))
		}
	}
	for i, a := range c.Backends {
		if !hostsNet.Contains(a) || a == EntryAddr || a == ServerAddr {
			errs = append(errs, "cluster.backends: backend "+strconv.Itoa(i)+"'s address "+a.String()+" is not free in the hosts topology's network "+hostsNet.String())
		}
	}
	return errs
}
