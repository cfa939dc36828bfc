package experiments

import (
	"context"
	"testing"
)

func BenchmarkDecode(b *testing.B) {
	data, err := DefaultsTOML[testSpec]()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Decode[testSpec]("defaults.toml", data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeSweep decodes a spec whose sweep has 10,000 points, each
// of which is validated.
func BenchmarkDecodeSweep(b *testing.B) {
	data := []byte(`[[faults]]
backend = 1
[sweep]
"cluster.backends" = [2, 3, 4, 5, 6, 7, 8, 9, 10, 11]
"cluster.users" = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
"nfs.client.acregmin" = ["0s", "1s", "2s", "3s", "4s", "5s", "6s", "7s", "8s", "9s"]
"director.director_user_expire" = ["10s", "20s", "30s", "40s", "50s", "1m", "2m", "5m", "10m", "15m"]
`)
	for b.Loop() {
		if _, err := Decode[testSpec]("sweep.toml", data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPlan expands 100 points × 4 strategies × 5 replicas.
func BenchmarkPlan(b *testing.B) {
	base, _ := Defaults[testSpec]()
	vals := make([]any, 100)
	for i := range vals {
		vals[i] = i + 1
	}
	d := Design{
		Sweep:      Sweep{Axes: []Axis{{Path: "cluster.backends", Values: vals}}},
		Strategies: []string{"random", "per-ip", "director", "owner-proxy"},
		Replicas:   5,
		Seed:       1,
	}
	for b.Loop() {
		runs, err := Plan(base, d)
		if err != nil || len(runs) != 2000 {
			b.Fatal(err, len(runs))
		}
	}
}

// BenchmarkRunnerOverhead measures the cost per run of the worker pool and
// sink around a run that does nothing.
func BenchmarkRunnerOverhead(b *testing.B) {
	runs := runsOf(1000)
	r := Runner[struct{}, uint64]{Workers: 2, Exec: square, Sink: func(Result[uint64]) error { return nil }}
	for b.Loop() {
		if _, err := r.Run(context.Background(), runs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(runs)), "ns/run")
}
