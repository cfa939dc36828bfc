// Package guest is the program that runs as PID 1 inside a testbed guest:
// a user-mode Linux kernel booted on the testbed's root file system. The
// host (package mailsim/workloads/testbed) decides everything and writes
// it as a [Config] into the folder the guest sees through hostfs; the
// guest mounts, starts the NFS server, the NFS clients, Dovecot and the
// proxies it is told to, runs the load, injects the faults, collects the
// counters and logs, and powers off. Keeping every decision on the host
// keeps the guest a plain executor whose steps can be read in one file.
package guest

import (
	"time"

	"github.com/mailsim/mailsim/workloads/imapload"
)

// HostDir is where the guest mounts the host folder shared with it
// (hostfs, limited by the kernel's hostfs= parameter to the run's folder).
const HostDir = "/host"

// ConfigFile, ResultFile and LogDir are the files the guest reads and
// writes under [HostDir].
const (
	ConfigFile = "config.json"
	ResultFile = "result.json"
	LogDir     = "logs"
)

// Files by which a guest and the host tell each other where a run is,
// under [HostDir]; only their existence counts, except LoadStartedFile's
// content.
const (
	// ReadyFile is written by the guest once its steps are done: its
	// services run and its mounts are made.
	ReadyFile = "ready"
	// LoadStartedFile is written by a load guest when the load starts;
	// it holds the guest's clock then (RFC 3339, nanoseconds), the
	// origin of the faults' times.
	LoadStartedFile = "load-started"
	// MeasureStartFile and MeasureEndFile are written by a load guest
	// when the measured period starts (after the warm-up) and ends. The
	// host writes them in turn into a holding guest's folder, which then
	// reads its counters.
	MeasureStartFile = "measure-start"
	MeasureEndFile   = "measure-end"
)

// Config is everything one guest does, in order.
type Config struct {
	// Hostname names the guest in its logs.
	Hostname string
	// Interfaces lists the network interfaces to configure besides the
	// loopback, with their addresses in CIDR form (multi-host
	// topology).
	Interfaces []Interface
	// Hosts lines for /etc/hosts.
	Hosts []string
	// Modules are kernel modules to load, in order.
	Modules []string
	// Sysctls are /proc/sys files to write before services start, in
	// order: lockd's grace period, for example.
	Sysctls []KV
	// Server, when set, makes this guest the NFS server.
	Server *Server
	// Files are written before anything starts (configuration files,
	// password files).
	Files []File
	// Steps are done in order: services started (each waited for until
	// ready), commands run to completion, NFS mounts made.
	Steps []Step
	// Load, when set, replays a workload against the cluster.
	Load *Load
	// Probe, when set, runs the attribute-cache probe instead of a load.
	Probe *Probe
	// Faults act on services at given offsets from the load's start.
	Faults []Fault
	// Hold keeps the guest up (services running, no load) until the host
	// removes the file named here under HostDir: a guest that only serves
	// others in the multi-host topology. While it holds, it reads its
	// counters when MeasureStartFile and MeasureEndFile appear, and
	// copies its logs out every few seconds, so that a machine that is
	// crashed leaves them behind.
	Hold string
	// Logs are guest files copied into HostDir/LogDir at the end, with
	// the name each gets there.
	Logs []KV
	// Counters are guest files read at the start and end of the measured
	// period (NFS server and client statistics): by the load when the
	// guest runs it, on MeasureStartFile and MeasureEndFile when it
	// holds. A path with a * reads every file it matches, each under a
	// "==> PATH <==" line.
	Counters []KV
	// Watch are guest files (globs as in Counters) read every
	// WatchInterval while the guest runs its load or holds, each reading
	// appended to WatchLog with the time: the server's locks and NFSv4
	// state over a run.
	Watch         []KV          `json:",omitempty"`
	WatchInterval time.Duration `json:",omitempty"`
}

// WatchLog is the guest file the Watch readings go to; it is copied out
// as LogDir/watch.log.
const WatchLog = "/var/log/mailsim/watch.log"

// KV is a name and a value.
type KV struct {
	Key, Value string
}

// Interface is a network interface with an address.
type Interface struct {
	Name string
	// Addr is an address with prefix length, such as 10.201.0.2/24.
	Addr string
}

// Server describes the NFS server.
type Server struct {
	// Export is the exported directory.
	Export string
	// Clients is the exports(5) client specification, e.g. 127.0.0.0/8.
	Clients string
	// Threads is rpc.nfsd's thread count.
	Threads int
	// Populate lists the Maildirs created in the export before anyone
	// mounts it.
	Populate []Maildir
	// Owner is the uid and gid that own the mail.
	Owner int
}

// Maildir is one user's mail folder tree to create, relative to the
// export.
type Maildir struct {
	// Path is the user's Maildir, relative to the export.
	Path string
	// Folders are the message counts per folder; index 0 is INBOX, the
	// others are ".f1", ".f2", ...
	Folders []int
	// Bytes is the size of each generated message.
	Bytes int
}

// Step is one thing to do: exactly one of its fields is set.
type Step struct {
	Service *Service `json:",omitempty"`
	Command *Command `json:",omitempty"`
	Mount   *Mount   `json:",omitempty"`
	// LockCheck names a directory on an NFS mount where the guest takes
	// and releases an fcntl lock, waiting until the lock manager grants
	// it (after its grace period), so that the load never meets a lock
	// manager that is not ready.
	LockCheck string `json:",omitempty"`
}

// Mount is one NFS client mount.
type Mount struct {
	// Source is server:/export.
	Source string
	// Dir is the mount point.
	Dir string
	// Options are the nfs(5) options, comma-separated.
	Options string
	// Nodename, when set, makes the mount in a UTS namespace of its own
	// whose host name is Nodename: an NFSv4.1+ client names itself to
	// the server by the host name it mounts with ("Linux NFSv4.2
	// NODENAME"), so that mounts of one kernel to different server
	// addresses with different node names are different NFSv4 clients
	// to the server, as different hosts are.
	Nodename string `json:",omitempty"`
}

// File is a file to write.
type File struct {
	Path    string
	Mode    uint32
	Content string
}

// Service is a long-running process.
type Service struct {
	// Name identifies the service in faults and logs (b1, director,
	// haproxy, rpcbind...).
	Name string
	Argv []string
	// Ready is a TCP address that accepts connections once the service
	// is up; empty waits for nothing.
	Ready string
	// Log is a guest file receiving the process's standard output and
	// error; empty discards them.
	Log string
}

// Command is a program run to completion.
type Command struct {
	Argv []string
	// Retry repeats a failing command up to this many times, a second
	// apart.
	Retry int
}

// Load is the workload to replay: the trace file under HostDir, and the
// replay's configuration, whose Ops are read from that file; or, when
// Imaptest is set, a closed-loop load in imaptest's manner with the same
// configuration instead of the trace.
type Load struct {
	Trace string
	imapload.Config
	// Imaptest, when set, runs imaptest's clients (imapload.RunImaptest)
	// instead of replaying the trace.
	Imaptest *imapload.Imaptest `json:",omitempty"`
	// Sample, when set, is run at the end of every interval of the load.
	Sample *Sample `json:",omitempty"`
}

// Sample is a request the load guest sends at the end of every interval
// from Start on to a service's UNIX socket (the director's user table,
// for example), keeping the reply. It asks over the socket rather than
// running a command because a command's start costs the guest's one CPU
// much more than the question does.
type Sample struct {
	// Socket is the UNIX socket to connect to, and Request what to send
	// there. The reply is read up to its first empty line.
	Socket, Request string
	// Start is the offset from the load's start of the first interval's
	// start; the first request is at Start+Interval.
	Start    time.Duration
	Interval time.Duration
}

// SampleOutput is one reply to the Sample request.
type SampleOutput struct {
	// At is when the request was sent, from the load's start: at the end
	// of an interval, or later when the guest is busy.
	At time.Duration
	// Output is the reply, its lines up to the empty one that ends it.
	Output string
	// Error is set when the request failed.
	Error string `json:",omitempty"`
}

// Probe runs the attribute-cache probe.
type Probe struct {
	// Source is the export to mount, server:/export.
	Source string
	// Cases names the probe cases to run; empty runs the defaults.
	Cases []string
}

// Fault acts on a service at a time: a fault, or an operator's action.
type Fault struct {
	// At is the offset from the start of the load.
	At time.Duration
	// Kind is crash (SIGKILL to the service's process group), hang
	// (SIGSTOP), recover (SIGCONT after a hang), stop (SIGTERM to the
	// service's own process: a Dovecot master then stops its processes
	// and exits, as doveadm stop makes it), start (the service started
	// again after it ended), ask (Request sent to the UNIX socket
	// Socket) or note (nothing done: only the event is recorded).
	Kind    string
	Service string `json:",omitempty"`
	// Socket and Request are the request of kind ask. Its reply is read
	// up to Lines lines, and its last line must be Expect.
	Socket  string `json:",omitempty"`
	Request string `json:",omitempty"`
	Lines   int    `json:",omitempty"`
	Expect  string `json:",omitempty"`
	// Event and Detail are the kind and detail of the event that records
	// it; empty, they are "backend."+Kind and Service.
	Event  string `json:",omitempty"`
	Detail string `json:",omitempty"`
}

// Result is what the guest reports back.
type Result struct {
	// Boot is how long the guest took from PID 1's start until the load
	// could start.
	Boot time.Duration
	// LoadStart is the guest's clock when the load started: the origin of
	// the trace's offsets, to place Dovecot's log lines on the run's
	// timeline.
	LoadStart time.Time
	// Measurements are the load's, when there was one.
	Measurements *imapload.Measurements
	// Probe holds the probe's measurements, JSON as the probe writes it.
	Probe []byte `json:",omitempty"`
	// CountersBefore and CountersAfter hold the counter files' contents at
	// the start and end of the measured period.
	CountersBefore, CountersAfter []KV
	// Events are things the guest did or saw, in time order.
	Events []Event
	// Samples are the outputs of the load's Sample command, in time
	// order.
	Samples []SampleOutput `json:",omitempty"`
	// Error is set when the guest could not finish.
	Error string
}

// Event is a timestamped guest event; At is the offset from the load's
// start.
type Event struct {
	At     time.Duration
	Kind   string
	Detail string
}
