package experiments

import (
	"fmt"
	"testing"
)

func indexRuns(n int) []Run[struct{}] {
	runs := make([]Run[struct{}], n)
	for i := range runs {
		runs[i] = Run[struct{}]{Index: i, ID: fmt.Sprintf("r%d", i)}
	}
	return runs
}

// TestShardPartition checks that the shards of a run list are disjoint,
// cover it, keep planned order and differ in size by at most one.
func TestShardPartition(t *testing.T) {
	for _, total := range []int{0, 1, 5, 24, 97} {
		runs := indexRuns(total)
		for n := 1; n <= 8; n++ {
			owner := make([]int, total)
			for i := range owner {
				owner[i] = -1
			}
			lo, hi := total, 0
			for i := 0; i < n; i++ {
				part := Shard(runs, i, n)
				lo, hi = min(lo, len(part)), max(hi, len(part))
				for j, r := range part {
					if j > 0 && part[j-1].Index >= r.Index {
						t.Errorf("%d runs, shard %d/%d: not in planned order", total, i, n)
					}
					if owner[r.Index] != -1 {
						t.Errorf("%d runs: run %d in shards %d and %d of %d", total, r.Index, owner[r.Index], i, n)
					}
					owner[r.Index] = i
				}
			}
			for idx, o := range owner {
				if o == -1 {
					t.Errorf("%d runs, %d shards: run %d in no shard", total, n, idx)
				}
			}
			if total > 0 && hi-lo > 1 {
				t.Errorf("%d runs, %d shards: sizes from %d to %d", total, n, lo, hi)
			}
		}
	}
}

func TestShardPanicsOutOfRange(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Shard(runs, 3, 3) did not panic")
		}
	}()
	Shard(indexRuns(3), 3, 3)
}

func TestParseShard(t *testing.T) {
	tests := []struct {
		in      string
		want    ShardSpec
		wantErr string
	}{
		{"0/1", ShardSpec{0, 1}, ""},
		{"3/4", ShardSpec{3, 4}, ""},
		{" 2/10 ", ShardSpec{2, 10}, ""},
		{"4/4", ShardSpec{}, `experiments: bad shard "4/4": the index must be from 0 to 3`},
		{"-1/4", ShardSpec{}, `experiments: bad shard "-1/4": the index must be from 0 to 3`},
		{"0/0", ShardSpec{}, `experiments: bad shard "0/0": the count must be at least 1`},
		{"3", ShardSpec{}, `experiments: bad shard "3": want i/n, e.g. 0/4 for the first of four`},
		{"a/b", ShardSpec{}, `experiments: bad shard "a/b": want i/n, e.g. 0/4 for the first of four`},
		{"1/2/3", ShardSpec{}, `experiments: bad shard "1/2/3": want i/n, e.g. 0/4 for the first of four`},
	}
	for _, tt := range tests {
		got, err := ParseShard(tt.in)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("ParseShard(%q) error = %v, want %s", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseShard(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestShardFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		flag    string
		env     map[string]string
		want    ShardSpec
		wantErr string
	}{
		{"nothing: the whole list", "", nil, ShardSpec{0, 1}, ""},
		{"flag", "1/3", nil, ShardSpec{1, 3}, ""},
		{"flag wins over the environment", "1/3", map[string]string{"JOB_COMPLETION_INDEX": "2", "SLURM_ARRAY_TASK_ID": "0"}, ShardSpec{1, 3}, ""},
		{"kubernetes", "/4", map[string]string{"JOB_COMPLETION_INDEX": "2"}, ShardSpec{2, 4}, ""},
		{"kubernetes without a count", "", map[string]string{"JOB_COMPLETION_INDEX": "2"}, ShardSpec{},
			"experiments: JOB_COMPLETION_INDEX=2 but the shard count is unknown: pass --shard /N with N the Job's completions"},
		{"kubernetes index too large", "/2", map[string]string{"JOB_COMPLETION_INDEX": "2"}, ShardSpec{},
			"experiments: bad shard from JOB_COMPLETION_INDEX=2 and --shard /2: the index must be from 0 to 1"},
		{"kubernetes index not a number", "/2", map[string]string{"JOB_COMPLETION_INDEX": "one"}, ShardSpec{},
			`experiments: JOB_COMPLETION_INDEX="one" is not an integer`},
		{"slurm", "", map[string]string{"SLURM_ARRAY_TASK_ID": "5", "SLURM_ARRAY_TASK_COUNT": "8"}, ShardSpec{5, 8}, ""},
		{"slurm from 1", "", map[string]string{"SLURM_ARRAY_TASK_ID": "8", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_COUNT": "8"}, ShardSpec{7, 8}, ""},
		{"slurm with a step", "", map[string]string{"SLURM_ARRAY_TASK_ID": "12", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_STEP": "4", "SLURM_ARRAY_TASK_COUNT": "4"}, ShardSpec{3, 4}, ""},
		{"slurm off the grid", "", map[string]string{"SLURM_ARRAY_TASK_ID": "13", "SLURM_ARRAY_TASK_STEP": "4", "SLURM_ARRAY_TASK_COUNT": "4"}, ShardSpec{},
			"experiments: SLURM_ARRAY_TASK_ID=13 is not on the array's grid (min 0, step 4)"},
		{"slurm count from the flag", "/6", map[string]string{"SLURM_ARRAY_TASK_ID": "5"}, ShardSpec{5, 6}, ""},
		{"slurm without a count", "", map[string]string{"SLURM_ARRAY_TASK_ID": "5"}, ShardSpec{},
			"experiments: SLURM_ARRAY_TASK_ID=5 but SLURM_ARRAY_TASK_COUNT is not set: pass --shard /N"},
		{"slurm count disagrees", "/3", map[string]string{"SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "4"}, ShardSpec{},
			"experiments: --shard /3 disagrees with SLURM_ARRAY_TASK_COUNT=4"},
		{"both batch systems", "/4", map[string]string{"SLURM_ARRAY_TASK_ID": "1", "JOB_COMPLETION_INDEX": "1"}, ShardSpec{},
			"experiments: both JOB_COMPLETION_INDEX and SLURM_ARRAY_TASK_ID are set; pass --shard i/n"},
		{"count without an index", "/4", nil, ShardSpec{},
			"experiments: --shard /4 needs JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID to give the index"},
		{"bad count", "/0", nil, ShardSpec{},
			"experiments: bad shard \"/0\": want /n with n ≥ 1, the index coming from JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID"},
		{"bad flag", "2-4", nil, ShardSpec{}, `experiments: bad shard "2-4": want i/n, e.g. 0/4 for the first of four`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ShardFromEnv(tt.flag, func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Errorf("error = %v, want %s", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("ShardFromEnv = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}
