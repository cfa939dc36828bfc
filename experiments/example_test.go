package experiments_test

import (
	"context"
	"fmt"
	"time"

	"github.com/mailsim/mailsim/experiments"
)

// Spec is a small experiment spec: a section, a duration with a range, an
// enum and a sweep.
type Spec struct {
	Cluster struct {
		Backends int `toml:"backends" default:"4" min:"1" doc:"number of IMAP/LMTP backends"`
	} `toml:"cluster" doc:"the backend servers"`
	Director struct {
		UserExpire time.Duration `toml:"director_user_expire" default:"15m" min:"10s" doc:"how long a user stays mapped to a backend (Dovecot director_user_expire, default 15 min)"`
	} `toml:"director" doc:"Dovecot director settings"`
	Strategies []string          `toml:"strategies" default:"random,director" enum:"random|per-ip|director|owner-proxy" doc:"routing strategies to compare"`
	Sweep      experiments.Sweep `toml:"sweep" doc:"parameters to vary"`
}

func ExampleDecode() {
	in := `[cluster]
backends = 0

[director]
director_user_expire = "15 min"
user_expire = "1m"

strategies = ["director", "round-robin"]
`
	_, err := experiments.Decode[Spec]("exp.toml", []byte(in))
	fmt.Println(err)
	// Output:
	// exp.toml:2:12: 0 is below the minimum 1 (key cluster.backends)
	// exp.toml:5:24: bad duration "15 min": want a number and a unit (ns, us, ms, s, m, h) such as "90s", "15m" or "1h30m" (key director.director_user_expire)
	// exp.toml:6:1: unknown key "user_expire"; valid keys are director_user_expire (key director.user_expire)
	// exp.toml:8:1: unknown key "strategies"; valid keys are director_user_expire (key director.strategies)
}

func ExamplePlan() {
	in := `strategies = ["random", "director"]
[sweep]
"cluster.backends" = [4, 8]
`
	spec, err := experiments.Decode[Spec]("exp.toml", []byte(in))
	if err != nil {
		fmt.Println(err)
		return
	}
	runs, err := experiments.Plan(spec, experiments.Design{
		Sweep:      spec.Sweep,
		Strategies: spec.Strategies,
		Replicas:   2,
		Seed:       1,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range runs {
		fmt.Printf("%s backends=%d seed=%016x\n", r.ID, r.Spec.Cluster.Backends, r.Seed)
	}
	// Output:
	// p0-random-r0 backends=4 seed=56095fd6ee330420
	// p0-random-r1 backends=4 seed=40b572496d2a315e
	// p0-director-r0 backends=4 seed=56095fd6ee330420
	// p0-director-r1 backends=4 seed=40b572496d2a315e
	// p1-random-r0 backends=8 seed=792cb14c7586e7b5
	// p1-random-r1 backends=8 seed=09aed1e029e1db25
	// p1-director-r0 backends=8 seed=792cb14c7586e7b5
	// p1-director-r1 backends=8 seed=09aed1e029e1db25
}

func ExampleShardFromEnv() {
	// A task of a Slurm array submitted with sbatch --array=1-8.
	env := map[string]string{
		"SLURM_ARRAY_TASK_ID":    "3",
		"SLURM_ARRAY_TASK_MIN":   "1",
		"SLURM_ARRAY_TASK_COUNT": "8",
	}
	s, err := experiments.ShardFromEnv("", func(k string) string { return env[k] })
	fmt.Println(s, err)
	// A pod of a Kubernetes Indexed Job with 4 completions, run with --shard /4.
	s, err = experiments.ShardFromEnv("/4", func(k string) string {
		if k == "JOB_COMPLETION_INDEX" {
			return "1"
		}
		return ""
	})
	fmt.Println(s, err)
	// Output:
	// 2/8 <nil>
	// 1/4 <nil>
}

func ExampleRunner() {
	spec, _ := experiments.Defaults[Spec]()
	runs, _ := experiments.Plan(spec, experiments.Design{Strategies: []string{"random", "director"}, Replicas: 3, Seed: 1})
	var results []experiments.Result[int]
	r := experiments.Runner[Spec, int]{
		Workers: 2,
		Exec: func(ctx context.Context, run experiments.Run[Spec]) (int, error) {
			return run.Spec.Cluster.Backends * (run.Replica + 1), nil
		},
		Sink: func(res experiments.Result[int]) error {
			results = append(results, res)
			return nil
		},
		// Runs p0-random-r0 and p0-random-r1 finished in an earlier invocation.
		Skip: func(id string) bool { return id == "p0-random-r0" || id == "p0-random-r1" },
	}
	sum, err := r.Run(context.Background(), runs)
	fmt.Printf("%+v %v\n", sum, err)
	experiments.SortResults(results)
	for _, res := range results {
		fmt.Println(res.ID, res.Value)
	}
	// Output:
	// {Planned:6 Skipped:2 Done:4 Failed:0 Abandoned:0 NotStarted:0} <nil>
	// p0-random-r2 12
	// p0-director-r0 4
	// p0-director-r1 8
	// p0-director-r2 12
}
