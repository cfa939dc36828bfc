package experiments

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// ShardSpec names one of Count parts of a run list, from 0.
type ShardSpec struct {
	Index, Count int
}

// String renders s as "i/n".
func (s ShardSpec) String() string {
	return fmt.Sprintf("%d/%d", s.Index, s.Count)
}

// Whole reports whether s is the whole run list (0/1).
func (s ShardSpec) Whole() bool { return s.Count <= 1 }

// Shard returns the runs whose planned index is i modulo n, in order. The n
// shards of a run list are disjoint and together hold every run, and
// interleaving spreads the points and strategies evenly over them. Shard
// panics unless 0 ≤ i < n.
func Shard[T any](runs []Run[T], i, n int) []Run[T] {
	if n < 1 || i < 0 || i >= n {
		panic(fmt.Sprintf("experiments: shard %d/%d out of range", i, n))
	}
	var out []Run[T]
	for _, r := range runs {
		if r.Index%n == i {
			out = append(out, r)
		}
	}
	return out
}

// ParseShard parses "i/n" with 0 ≤ i < n.
func ParseShard(s string) (ShardSpec, error) {
	is, ns, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return ShardSpec{}, fmt.Errorf("experiments: bad shard %q: want i/n, e.g. 0/4 for the first of four", s)
	}
	i, err1 := strconv.Atoi(is)
	n, err2 := strconv.Atoi(ns)
	if err1 != nil || err2 != nil {
		return ShardSpec{}, fmt.Errorf("experiments: bad shard %q: want i/n, e.g. 0/4 for the first of four", s)
	}
	return checkShard(ShardSpec{i, n}, fmt.Sprintf("shard %q", s))
}

func checkShard(s ShardSpec, what string) (ShardSpec, error) {
	if s.Count < 1 {
		return ShardSpec{}, fmt.Errorf("experiments: bad %s: the count must be at least 1", what)
	}
	if s.Index < 0 || s.Index >= s.Count {
		return ShardSpec{}, fmt.Errorf("experiments: bad %s: the index must be from 0 to %d", what, s.Count-1)
	}
	return s, nil
}

// Environment variables that batch systems set on each task of an array.
const (
	// EnvJobCompletionIndex is set by a Kubernetes Indexed Job to the
	// task's index, from 0 to .spec.completions-1.
	EnvJobCompletionIndex = "JOB_COMPLETION_INDEX"
	// EnvSlurmArrayTaskID is set by a Slurm job array (sbatch --array) to
	// the task's ID.
	EnvSlurmArrayTaskID = "SLURM_ARRAY_TASK_ID"
	// EnvSlurmArrayTaskCount is the number of tasks in the Slurm array.
	EnvSlurmArrayTaskCount = "SLURM_ARRAY_TASK_COUNT"
	// EnvSlurmArrayTaskMin is the lowest task ID of the Slurm array
	// (--array=1-8 starts at 1).
	EnvSlurmArrayTaskMin = "SLURM_ARRAY_TASK_MIN"
	// EnvSlurmArrayTaskStep is the step between task IDs of the Slurm
	// array (--array=0-15:4).
	EnvSlurmArrayTaskStep = "SLURM_ARRAY_TASK_STEP"
)

// ShardFromEnv decides which shard this process runs, from the value of a
// --shard flag and the environment (getenv; nil means [os.Getenv]):
//
//   - "i/n": shard i of n, whatever the environment says.
//   - "/n": n shards, the index taken from JOB_COMPLETION_INDEX (a
//     Kubernetes Indexed Job, whose completions should be n) or from a Slurm
//     array.
//   - "": a Slurm array task's index and count (SLURM_ARRAY_TASK_ID less
//     SLURM_ARRAY_TASK_MIN, divided by SLURM_ARRAY_TASK_STEP, of
//     SLURM_ARRAY_TASK_COUNT); otherwise the whole run list, 0/1.
//     JOB_COMPLETION_INDEX alone is an error, since Kubernetes does not
//     tell a task the number of completions.
func ShardFromEnv(flag string, getenv func(string) string) (ShardSpec, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	flag = strings.TrimSpace(flag)
	if flag != "" && !strings.HasPrefix(flag, "/") {
		return ParseShard(flag)
	}
	count := 0
	if flag != "" {
		n, err := strconv.Atoi(flag[1:])
		if err != nil || n < 1 {
			return ShardSpec{}, fmt.Errorf("experiments: bad shard %q: want /n with n ≥ 1, the index coming from %s or %s", flag, EnvJobCompletionIndex, EnvSlurmArrayTaskID)
		}
		count = n
	}
	k8s, slurm := getenv(EnvJobCompletionIndex), getenv(EnvSlurmArrayTaskID)
	switch {
	case k8s != "" && slurm != "":
		return ShardSpec{}, fmt.Errorf("experiments: both %s and %s are set; pass --shard i/n", EnvJobCompletionIndex, EnvSlurmArrayTaskID)
	case k8s != "":
		i, err := envInt(EnvJobCompletionIndex, k8s)
		if err != nil {
			return ShardSpec{}, err
		}
		if count == 0 {
			return ShardSpec{}, fmt.Errorf("experiments: %s=%s but the shard count is unknown: pass --shard /N with N the Job's completions", EnvJobCompletionIndex, k8s)
		}
		return checkShard(ShardSpec{i, count}, fmt.Sprintf("shard from %s=%s and --shard %s", EnvJobCompletionIndex, k8s, flag))
	case slurm != "":
		id, err := envInt(EnvSlurmArrayTaskID, slurm)
		if err != nil {
			return ShardSpec{}, err
		}
		lo, step, n := 0, 1, count
		if v := getenv(EnvSlurmArrayTaskMin); v != "" {
			if lo, err = envInt(EnvSlurmArrayTaskMin, v); err != nil {
				return ShardSpec{}, err
			}
		}
		if v := getenv(EnvSlurmArrayTaskStep); v != "" {
			if step, err = envInt(EnvSlurmArrayTaskStep, v); err != nil {
				return ShardSpec{}, err
			}
			if step < 1 {
				return ShardSpec{}, fmt.Errorf("experiments: %s=%s must be at least 1", EnvSlurmArrayTaskStep, v)
			}
		}
		if v := getenv(EnvSlurmArrayTaskCount); v != "" {
			c, err := envInt(EnvSlurmArrayTaskCount, v)
			if err != nil {
				return ShardSpec{}, err
			}
			if count != 0 && c != count {
				return ShardSpec{}, fmt.Errorf("experiments: --shard %s disagrees with %s=%s", flag, EnvSlurmArrayTaskCount, v)
			}
			n = c
		}
		if n == 0 {
			return ShardSpec{}, fmt.Errorf("experiments: %s=%s but %s is not set: pass --shard /N", EnvSlurmArrayTaskID, slurm, EnvSlurmArrayTaskCount)
		}
		if (id-lo)%step != 0 {
			return ShardSpec{}, fmt.Errorf("experiments: %s=%s is not on the array's grid (min %d, step %d)", EnvSlurmArrayTaskID, slurm, lo, step)
		}
		return checkShard(ShardSpec{(id - lo) / step, n}, fmt.Sprintf("shard from %s=%s", EnvSlurmArrayTaskID, slurm))
	}
	if count != 0 {
		return ShardSpec{}, fmt.Errorf("experiments: --shard %s needs %s or %s to give the index", flag, EnvJobCompletionIndex, EnvSlurmArrayTaskID)
	}
	return ShardSpec{0, 1}, nil
}

func envInt(name, v string) (int, error) {
	i, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return 0, fmt.Errorf("experiments: %s=%q is not an integer", name, v)
	}
	return i, nil
}
