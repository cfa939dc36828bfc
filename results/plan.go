package results

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
)

// PlanFile is the file of a result set written by a capacity plan that
// records what the plan's search found.
const PlanFile = "plan.json"

// PlanOutcome is what a capacity plan found: for each strategy, the
// smallest configuration that meets every objective, which objective
// binds, and every probe the search made on the way.
type PlanOutcome struct {
	// Users is the population the plan serves.
	Users int `json:"users"`
	// Confidence is the one-sided confidence with which a probe passes an
	// objective: the upper bound of the objective's mean over replicas at
	// this confidence must be within the limit.
	Confidence float64 `json:"confidence"`
	// ReplicasMin and ReplicasMax bound the replicas per probe: the search
	// adds replicas while a verdict is inconclusive.
	ReplicasMin int `json:"replicas_min"`
	ReplicasMax int `json:"replicas_max"`
	// Failure says whether each probe was also run with one backend down.
	Failure bool `json:"survive_backend_failure"`
	// Objectives are the service objectives, each an upper limit.
	Objectives []Objective `json:"objectives"`
	// Strategies holds one plan per routing strategy, in spec order.
	Strategies []StrategyPlan `json:"strategies"`
}

// Objective is one service objective: the mean of a metric over replicas
// must stay at or below Limit.
type Objective struct {
	// Name is how tables show the objective: "SELECT p99".
	Name string `json:"name"`
	// Metric is the run metric it limits: "latency.SELECT.p99".
	Metric string  `json:"metric"`
	Unit   string  `json:"unit"`
	Limit  float64 `json:"limit"`
}

// Candidate is one configuration the search tried.
type Candidate struct {
	Backends   int   `json:"backends"`
	NFSThreads int   `json:"nfs_threads"`
	CacheBytes int64 `json:"cache_bytes"`
}

// String renders c as "35 backends, 64 nfsd threads, 1 GiB cache".
func (c Candidate) String() string {
	return fmt.Sprintf("%s, %d nfsd threads, %s cache", c.BackendsText(), c.NFSThreads, FormatBytes(c.CacheBytes))
}

// BackendsText renders the backend count: "1 backend", "35 backends".
func (c Candidate) BackendsText() string {
	if c.Backends == 1 {
		return "1 backend"
	}
	return fmt.Sprintf("%d backends", c.Backends)
}

// Verdict is a probe's judgement on one objective.
type Verdict string

// Verdicts. A verdict is Pass when the one-sided upper confidence bound
// of the mean is within the limit, Fail when the lower bound is beyond
// it, and Inconclusive otherwise (the search then adds replicas, and
// treats a verdict still inconclusive at the most replicas as a failure).
const (
	Pass         Verdict = "pass"
	Fail         Verdict = "fail"
	Inconclusive Verdict = "inconclusive"
)

// Scenarios of a probe.
const (
	ScenarioNormal  = "normal"
	ScenarioFailure = "backend-down"
)

// Check is one objective's verdict in one scenario of a probe.
type Check struct {
	Objective string `json:"objective"`
	Scenario  string `json:"scenario"`
	// N is the number of replicas; Mean and the one-sided bounds Lower and
	// Upper are over them.
	N       int     `json:"n"`
	Mean    float64 `json:"mean"`
	Lower   float64 `json:"lower"`
	Upper   float64 `json:"upper"`
	Verdict Verdict `json:"verdict"`
}

// Margin is how far the mean is inside the limit, as a fraction of the
// limit: 0.25 means 25 % headroom; negative means beyond the limit.
func (c Check) Margin(limit float64) float64 {
	if limit == 0 {
		if c.Mean == 0 {
			return 0
		}
		return math.Inf(-1)
	}
	return (limit - c.Mean) / limit
}

// Probe is one configuration the search measured.
type Probe struct {
	Candidate
	// Pass says that every objective passed in every scenario.
	Pass bool `json:"pass"`
	// Overloaded names the station that could not keep up ("the NFS
	// server", "backend 3") in a run that stopped overloaded.
	Overloaded string  `json:"overloaded,omitempty"`
	Checks     []Check `json:"checks"`
}

// Failing returns the checks of p that did not pass.
func (p *Probe) Failing() []Check {
	var out []Check
	for _, c := range p.Checks {
		if c.Verdict != Pass {
			out = append(out, c)
		}
	}
	return out
}

// StrategyPlan is the plan for one strategy.
type StrategyPlan struct {
	Strategy string `json:"strategy"`
	// Found is false when no configuration within the search's bounds
	// meets every objective.
	Found bool `json:"found"`
	// Chosen is the smallest configuration that meets every objective:
	// the fewest backends, then the fewest NFS server threads, then the
	// least backend memory.
	Chosen Candidate `json:"chosen"`
	// Binding says what stops a smaller configuration: the objectives that
	// failed one step below the chosen point.
	Binding string `json:"binding"`
	// Probes are the search's full probes in the order it made them: each
	// judged by the full rule (replicas_min to replicas_max replicas of
	// normal operation, then the failure scenario when it passes). The
	// answer rests on these alone: the chosen configuration's probe passes
	// and the probes one step below it on each axis fail.
	Probes []Probe `json:"probes"`
	// Screens are the search's screens in the order it made them: one run
	// of normal operation (replica 0) that only steered the search towards
	// the boundary and decides nothing. Each check has N = 1, its mean the
	// run's value, and the verdict the screen had when it was made. A full
	// probe of the same configuration reuses the screen's run.
	Screens []Probe `json:"screens,omitempty"`
	// Runs counts the simulation runs the search used, screens' and full
	// probes' together, each run once.
	Runs int `json:"runs"`
}

// Probe returns the probe of sp at c, or nil.
func (sp *StrategyPlan) Probe(c Candidate) *Probe {
	for i := range sp.Probes {
		if sp.Probes[i].Candidate == c {
			return &sp.Probes[i]
		}
	}
	return nil
}

// WritePlan stores o in dir's plan file.
func WritePlan(dir string, o *PlanOutcome) error {
	b, err := json.MarshalIndent(o, "", "  ")
	if err != nil {
		return fmt.Errorf("results: %v", err)
	}
	return writeAtomic(dir, PlanFile, append(b, '\n'))
}

// ReadPlan reads dir's plan file. Its errors name the file, and the line,
// column and key where the JSON tells them.
func ReadPlan(dir string) (*PlanOutcome, error) {
	name := filepath.Join(dir, PlanFile)
	b, err := readLimited(name, name, maxPlanBytes)
	if err != nil {
		return nil, err
	}
	return decodePlan(name, b)
}

// decodePlan parses a plan file; name is the file's name for messages.
func decodePlan(name string, b []byte) (*PlanOutcome, error) {
	var o PlanOutcome
	if err := strictUnmarshal(b, &o); err != nil {
		return nil, jsonError(name, b, err)
	}
	return &o, nil
}

// FormatCount renders n with thousands separators: "1,000,000".
func FormatCount(n int) string { return thousands(strconv.Itoa(n)) }

// FormatBytes renders n bytes in binary units: "1 GiB", "512 MiB".
func FormatBytes(n int64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	f := float64(n)
	i := 0
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	return FormatNumber(f) + " " + units[i]
}

// Margins returns, for the chosen probe of sp, each objective's smallest
// margin over the scenarios, in objective order; nil when nothing was
// found.
func (o *PlanOutcome) Margins(sp *StrategyPlan) []float64 {
	if !sp.Found {
		return nil
	}
	p := sp.Probe(sp.Chosen)
	if p == nil {
		return nil
	}
	out := make([]float64, len(o.Objectives))
	for i, ob := range o.Objectives {
		out[i] = math.Inf(1)
		for _, c := range p.Checks {
			if c.Objective == ob.Name {
				out[i] = math.Min(out[i], c.Margin(ob.Limit))
			}
		}
	}
	return out
}

// WriteText prints the plan's answer: per strategy the chosen
// configuration and what binds, then the margins on every objective.
func (o *PlanOutcome) WriteText(w io.Writer) error {
	ew := &errWriter{w: w}
	scen := "in normal operation"
	if o.Failure {
		scen = "in normal operation and with one backend down"
	}
	fmt.Fprintf(ew, "Capacity plan for %s users: the smallest configuration meeting every objective %s;\n", FormatCount(o.Users), scen)
	fmt.Fprintf(ew, "an objective passes when the one-sided %g%% upper confidence bound of its mean over %d-%d replicas is within the limit.\n\n",
		o.Confidence*100, o.ReplicasMin, o.ReplicasMax)
	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
	screens := false
	for i := range o.Strategies {
		screens = screens || len(o.Strategies[i].Screens) > 0
	}
	if screens {
		fmt.Fprintln(tw, "strategy\tbackends\tnfsd threads\tcache per backend\tprobes\tscreens\truns\tbinding objective")
	} else {
		fmt.Fprintln(tw, "strategy\tbackends\tnfsd threads\tcache per backend\tprobes\truns\tbinding objective")
	}
	for i := range o.Strategies {
		sp := &o.Strategies[i]
		counts := fmt.Sprintf("%d\t%d", len(sp.Probes), sp.Runs)
		if screens {
			counts = fmt.Sprintf("%d\t%d\t%d", len(sp.Probes), len(sp.Screens), sp.Runs)
		}
		if !sp.Found {
			fmt.Fprintf(tw, "%s\tnone\t\t\t%s\t%s\n", sp.Strategy, counts, sp.Binding)
			continue
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\n", sp.Strategy, sp.Chosen.Backends, sp.Chosen.NFSThreads, FormatBytes(sp.Chosen.CacheBytes), counts, sp.Binding)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if screens {
		fmt.Fprintf(ew, "\nProbes are full (replicas of normal operation, then with one backend down) and decide the answer; screens are\n"+
			"one run of normal operation that only steered the search (plan.json lists both).\n")
	}
	fmt.Fprintf(ew, "\nMargins at the chosen configuration: (limit - mean) / limit, the worse of the scenarios\n\n")
	tw = tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
	head := []string{"objective", "limit"}
	for _, sp := range o.Strategies {
		head = append(head, sp.Strategy)
	}
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for k, ob := range o.Objectives {
		row := []string{ob.Name, FormatNumber(ob.Limit) + unitSuffix(ob.Unit)}
		for i := range o.Strategies {
			m := o.Margins(&o.Strategies[i])
			if m == nil || math.IsInf(m[k], 1) {
				row = append(row, "–")
				continue
			}
			row = append(row, fmt.Sprintf("%+.0f%%", 100*m[k]))
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return ew.err
}

func unitSuffix(u string) string {
	if u == "" {
		return ""
	}
	return " " + u
}
