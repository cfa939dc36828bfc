package experiments

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/mailsim/mailsim/model"
	"github.com/mailsim/mailsim/model/sim"
	"github.com/mailsim/mailsim/nfsmodel"
	"github.com/mailsim/mailsim/strategies"
	"github.com/mailsim/mailsim/workloads"
)

// BackendAddrs returns the addresses the backends of a cluster of n get:
// 10.0.0.1, 10.0.0.2, ... (10.x.y.z beyond 254). A director hashes these
// addresses, so they are part of a run's identity.
func BackendAddrs(n int) []netip.Addr {
	out := make([]netip.Addr, n)
	for i := range out {
		v := uint32(0x0a000001) + uint32(i/254)<<8 + uint32(i%254)
		out[i] = netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
	}
	return out
}

// backendList returns the spec's backends with their vhost counts:
// cluster.backend_addresses, or BackendAddrs with dovecot.vhost_count.
func (s *Spec) backendList() ([]strategies.Backend, error) {
	if len(s.Cluster.BackendAddresses) == 0 {
		addrs := BackendAddrs(s.Cluster.Backends)
		bs := make([]strategies.Backend, len(addrs))
		for i, a := range addrs {
			bs[i] = strategies.Backend{Addr: a, Weight: s.Dovecot.VhostCount}
		}
		return bs, nil
	}
	bs, err := strategies.ParseBackends(strings.Join(s.Cluster.BackendAddresses, ","), s.Dovecot.VhostCount)
	if err != nil {
		return nil, errors.New(strings.TrimPrefix(err.Error(), "strategies: "))
	}
	for _, b := range bs {
		if b.Weight > strategies.MaxVhostCount {
			return nil, fmt.Errorf("backend %s: vhost count %d is above doveadm's maximum of %d", b.Addr, b.Weight, strategies.MaxVhostCount)
		}
	}
	return bs, nil
}

// BackendAddresses returns the addresses of the spec's backends.
func (s *Spec) BackendAddresses() []netip.Addr {
	bs, err := s.backendList()
	if err != nil {
		return BackendAddrs(s.Cluster.Backends)
	}
	out := make([]netip.Addr, len(bs))
	for i, b := range bs {
		out[i] = b.Addr
	}
	return out
}

// Router builds the named routing strategy over the spec's backends. The
// strategy's own randomness comes from the run seed's "strategy/<name>"
// stream, apart from the workload's. Directors get each backend's vhost
// count; the other strategies their own default weight.
// A relative dovecot.passdb_map is read from the current directory; see
// [Spec.RouterIn].
func (s *Spec) Router(name string, seed uint64) (strategies.Router, error) {
	return s.RouterIn(name, seed, ".")
}

// RouterIn is [Spec.Router] for a spec file in folder dir, against which
// a relative dovecot.passdb_map is resolved.
func (s *Spec) RouterIn(name string, seed uint64, dir string) (strategies.Router, error) {
	bs, err := s.backendList()
	if err != nil {
		return nil, fmt.Errorf("cluster.backend_addresses: %w", err)
	}
	p := s.RouterParams()
	if name == strategies.PassdbStatic {
		if p.Passdb.Map, err = s.loadPassdbMap(dir, bs); err != nil {
			return nil, err
		}
	}
	if w := strategies.DefaultWeight(name); w != strategies.DefaultVhostCount {
		for i := range bs {
			bs[i].Weight = w
		}
	}
	return strategies.New(name, bs, p, sim.Source(seed, "strategy/"+name))
}

// loadPassdbMap reads dovecot.passdb_map for passdb-static.
func (s *Spec) loadPassdbMap(dir string, bs []strategies.Backend) (map[string]int, error) {
	path := s.Dovecot.PassdbMap
	if path == "" {
		return nil, fmt.Errorf("experiments: passdb-static needs dovecot.passdb_map, a CSV file of user,host rows")
	}
	f, path, err := openInput(dir, path, "dovecot.passdb_map")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return strategies.ParsePassdbMap(path, f, bs)
}

// action resolves an [[actions]] entry's do string.
func (s *Spec) action(a ActionSpec) (model.Action, error) {
	words := strings.Fields(a.Do)
	if len(words) < 3 {
		return model.Action{}, fmt.Errorf("%q: want \"director up|down|flush|flush-force|remove|add|vhost HOST [VHOSTS]\" or \"backend stop|start HOST\"", a.Do)
	}
	kind, err := model.ParseActionKind(words[0] + " " + words[1])
	if err != nil {
		return model.Action{}, fmt.Errorf("%q: %s", a.Do, strings.TrimPrefix(err.Error(), "model: "))
	}
	bs, err := s.backendList()
	if err != nil {
		return model.Action{}, fmt.Errorf("%q: cluster.backend_addresses: %w", a.Do, err)
	}
	host := words[2]
	b := -1
	if ip, err := netip.ParseAddr(host); err == nil {
		for i, x := range bs {
			if x.Addr == ip {
				b = i
			}
		}
		if b < 0 {
			return model.Action{}, fmt.Errorf("%q: %s is not one of the backends' addresses", a.Do, host)
		}
	} else if n, err := strconv.Atoi(host); err == nil && n >= 0 {
		if n >= len(bs) {
			return model.Action{}, fmt.Errorf("%q: backend %d does not exist (%d backends, numbered from 0)", a.Do, n, len(bs))
		}
		b = n
	} else {
		return model.Action{}, fmt.Errorf("%q: host %q is neither a backend's address nor its index", a.Do, host)
	}
	ma := model.Action{At: a.At, Kind: kind, Backend: b, Text: strings.Join(words, " ")}
	rest := words[3:]
	switch kind {
	case model.DirectorAdd, model.DirectorVhost:
		ma.Vhosts = bs[b].Weight
		if len(rest) == 0 && kind == model.DirectorVhost {
			return model.Action{}, fmt.Errorf("%q: director vhost needs a vhost count", a.Do)
		}
		if len(rest) > 0 {
			n, err := strconv.Atoi(rest[0])
			if err != nil || n < 0 || n > strategies.MaxVhostCount {
				return model.Action{}, fmt.Errorf("%q: vhost count %q is not an integer within 0..%d", a.Do, rest[0], strategies.MaxVhostCount)
			}
			ma.Vhosts = n
			rest = rest[1:]
		}
	}
	if len(rest) > 0 {
		return model.Action{}, fmt.Errorf("%q: unexpected %q", a.Do, strings.Join(rest, " "))
	}
	return ma, nil
}

// RouterParams returns the strategies' parameters the spec sets.
func (s *Spec) RouterParams() strategies.Params {
	var p strategies.Params
	p.Director.UserExpire = time.Duration(s.Dovecot.DirectorUserExpire)
	p.Director.UserKickDelay = time.Duration(s.Dovecot.DirectorUserKickDelay)
	if p.Director.UserKickDelay == 0 {
		p.Director.UserKickDelay = strategies.NoKickDelay
	}
	p.Director.MaxParallelMoves = s.Dovecot.DirectorMaxParallelMoves
	p.Director.Directors = s.Dovecot.Directors
	p.Director.SyncDelay = time.Duration(s.Dovecot.DirectorRingSyncDelay)
	p.Director.LoginProxyMaxReconnects = s.Dovecot.LoginProxyMaxReconnects
	p.Director.LoginProxyReconnectInterval = time.Duration(s.Clients.LoginProxyReconnectInterval)
	p.Owner.Failover = strategies.FailoverNone
	if s.Health.Failover == "standby" {
		p.Owner.Failover = strategies.FailoverStandby
	}
	return p
}

// Monitor builds the health monitor the spec chooses for strategy name.
func (s *Spec) Monitor(name string) (strategies.Monitor, error) {
	m := s.Health.Monitor
	if m == "auto" {
		m = strategies.MonitorHAProxy
		if strings.HasPrefix(name, "director") || name == strategies.PassdbStatic || name == strategies.LuaDirector {
			// A director has none of its own; Dovecot 2.4's proxies
			// check no backend either.
			m = strategies.MonitorNone
		}
	}
	var p strategies.MonitorParams
	downOnly := false
	switch m {
	case "poolmon-down-only":
		m, downOnly = strategies.MonitorPoolmon, true
	case "dovemon-flush":
		m, p.Dovemon.UseHostFlush = strategies.MonitorDovemon, true
	}
	mon, err := strategies.NewMonitor(m, s.Cluster.Backends, p)
	if err != nil || !downOnly {
		return mon, err
	}
	return downOnlyMonitor{mon}, nil
}

// downOnlyMonitor passes on a monitor's HOST-DOWN and HOST-UP but drops
// its flushes and user moves: a director then keeps sending known users
// to the downed backend until their assignments expire.
type downOnlyMonitor struct{ strategies.Monitor }

// Result drops every action but HOST-DOWN and HOST-UP.
func (m downOnlyMonitor) Result(now time.Duration, id uint64, ok bool, dst []strategies.Action) []strategies.Action {
	n := len(dst)
	dst = m.Monitor.Result(now, id, ok, dst)
	keep := dst[:n]
	for _, a := range dst[n:] {
		if a.Kind == strategies.HostDown || a.Kind == strategies.HostUp {
			keep = append(keep, a)
		}
	}
	return keep
}

// LoadProfile loads the spec's calibration profile, resolving its path
// against dir (the spec file's folder), or returns nil when the spec names
// none.
func (s *Spec) LoadProfile(dir string) (*nfsmodel.Profile, error) {
	if s.NFS.Profile == "" {
		return nil, nil
	}
	path := s.NFS.Profile
	if !filepath.IsAbs(path) {
		path = filepath.Join(dir, path)
	}
	// A profile is a small TOML file: read it as a spec is read, refusing
	// devices and anything larger than a spec may be.
	data, err := ReadSpecFile(path)
	if err != nil {
		return nil, fmt.Errorf("nfsmodel: %w", err)
	}
	return nfsmodel.ParseProfile(path, data)
}

// Execute runs one strategy on the spec with the given run seed; dir is the
// spec file's folder, against which a calibration profile's path is
// resolved.
func (s *Spec) Execute(strategy string, seed uint64, dir string) (*model.Result, error) {
	return s.ExecuteContext(context.Background(), strategy, seed, dir)
}

// ExecuteContext is [Spec.Execute] stopped by ctx: once ctx is cancelled
// the run gives up within a few thousand events and returns an error
// wrapping ctx.Err().
func (s *Spec) ExecuteContext(ctx context.Context, strategy string, seed uint64, dir string) (*model.Result, error) {
	return s.execute(ctx, strategy, seed, dir, nil)
}

// WriteTrace runs one strategy on the spec like [Spec.Execute] and writes
// the run's workload to w as a trace (see package workloads).
func (s *Spec) WriteTrace(strategy string, seed uint64, dir string, w io.Writer) (*model.Result, error) {
	tw := workloads.NewTraceWriter(w)
	res, err := s.execute(context.Background(), strategy, seed, dir, tw)
	if cerr := tw.Close(); err == nil {
		err = cerr
	}
	return res, err
}

// openInput opens the regular file a spec key names, resolving a
// relative path against dir (the spec file's folder), and returns it with
// its path; errors name the key.
func openInput(dir, path, key string) (*os.File, string, error) {
	if !filepath.IsAbs(path) {
		path = filepath.Join(dir, path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, path, fmt.Errorf("experiments: %s: %w", key, err)
	}
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		f.Close()
		return nil, path, fmt.Errorf("experiments: %s: %s is not a regular file", key, path)
	}
	return f, path, nil
}

// LoadTrace reads the spec's workload trace, resolving its path against
// dir.
func (s *Spec) LoadTrace(dir string) (*workloads.Trace, error) {
	f, _, err := openInput(dir, s.Workload.Trace, "workload.trace")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return workloads.ReadTrace(s.Workload.Trace, f)
}

func (s *Spec) execute(ctx context.Context, strategy string, seed uint64, dir string, record *workloads.TraceWriter) (*model.Result, error) {
	r, err := s.RouterIn(strategy, seed, dir)
	if err != nil {
		return nil, err
	}
	mon, err := s.Monitor(strategy)
	if err != nil {
		return nil, err
	}
	cfg := s.Model()
	prof, err := s.LoadProfile(dir)
	if err != nil {
		return nil, err
	}
	if prof != nil {
		if err := cfg.Server.Calibrate(prof); err != nil {
			return nil, err
		}
	}
	opts := model.Options{Monitor: mon, Record: record, Context: ctx}
	if s.Workload.Trace != "" {
		if opts.Replay, err = s.LoadTrace(dir); err != nil {
			return nil, err
		}
	}
	res, err := model.RunOptions(cfg, r, opts, seed)
	if err != nil {
		return nil, fmt.Errorf("experiments: %s: %w", strategy, err)
	}
	return res, nil
}
