package experiments

import (
	"fmt"
	"time"

	"github.com/mailsim/mailsim/model/sim"
)

// The types below stand in for a mailsim spec in tests: nested sections,
// durations, enums, a text type, lists and an array of tables, with
// cross-field checks at the root and in a section.

type testSpec struct {
	Name       string       `toml:"name" default:"baseline" doc:"name of the experiment, used in result paths"`
	Cluster    testCluster  `toml:"cluster" doc:"the backend servers"`
	NFS        testNFS      `toml:"nfs" doc:"the shared NFS storage"`
	Director   testDirector `toml:"director" doc:"Dovecot director settings"`
	Workload   testWorkload `toml:"workload" doc:"what the users do"`
	Strategies []string     `toml:"strategies" default:"random,per-ip,director,owner-proxy" enum:"random|per-ip|director|owner-proxy" doc:"routing strategies to compare"`
	Faults     []testFault  `toml:"faults" doc:"backend faults injected during a run"`
	Run        testRun      `toml:"run" doc:"how long and how often to run"`
	Sweep      Sweep        `toml:"sweep" doc:"parameters to vary across runs"`
	Internal   int          `toml:"-"`
}

type testCluster struct {
	Backends int `toml:"backends" default:"4" min:"1" max:"1024" doc:"number of IMAP/LMTP backends"`
	Users    int `toml:"users" default:"10000" min:"1" unit:"users" doc:"number of mail users"`
}

type testNFS struct {
	Client testNFSClient `toml:"client" doc:"NFS client mount options, nfs(5)"`
}

type testNFSClient struct {
	Acregmin    time.Duration `toml:"acregmin" default:"3s" min:"0s" doc:"minimum attribute cache time for regular files (nfs(5) acregmin, default 3 s)"`
	Acregmax    time.Duration `toml:"acregmax" default:"60s" min:"0s" doc:"maximum attribute cache time for regular files (nfs(5) acregmax, default 60 s)"`
	Lookupcache string        `toml:"lookupcache" default:"all" enum:"all|positive|none" doc:"directory entry caching (nfs(5) lookupcache, default all)"`
}

// Validate checks that the attribute cache bounds are in order, and
// reports a combination that concerns the whole section.
func (c testNFSClient) Validate() []FieldError {
	var errs []FieldError
	if c.Acregmin > c.Acregmax {
		errs = append(errs, FieldError{Path: "acregmin", Msg: fmt.Sprintf("acregmin %s is above acregmax %s", c.Acregmin, c.Acregmax)})
	}
	if c.Acregmax == 0 && c.Lookupcache == "none" {
		errs = append(errs, FieldError{Msg: "no caching at all: use the noac model instead"})
	}
	return errs
}

type testDirector struct {
	UserExpire time.Duration `toml:"director_user_expire" default:"15m" min:"10s" doc:"how long a user stays mapped to a backend after its last session (Dovecot director_user_expire, default 15 min)"`
	Fsync      testFsync     `toml:"mail_fsync" default:"optimized" enum:"optimized|always|never" doc:"when to fsync mail files (Dovecot mail_fsync, default optimized)"`
}

// testFsync is a text type, like an enum a spec might declare.
type testFsync int

func (f *testFsync) UnmarshalText(b []byte) error {
	for i, n := range fsyncNames {
		if string(b) == n {
			*f = testFsync(i)
			return nil
		}
	}
	return fmt.Errorf("no such mode")
}

func (f testFsync) MarshalText() ([]byte, error) { return []byte(fsyncNames[f]), nil }

var fsyncNames = []string{"optimized", "always", "never"}

type testWorkload struct {
	LoginRate float64            `toml:"login_rate" default:"50" gt:"0" unit:"logins/s" doc:"mean rate of new sessions"`
	Think     sim.Time           `toml:"think_time" default:"30s" gt:"0s" doc:"mean time between commands in a session"`
	Weights   []float64          `toml:"weights" default:"0.5,0.5" min:"0" max:"1" doc:"share of IMAP and POP3 sessions"`
	Bulk      bool               `toml:"bulk_delivery" default:"false" doc:"deliver mail in bursts"`
	Mix       map[string]float64 `toml:"mix" default:"select=0.6,fetch=0.3,expunge=0.1" min:"0" max:"1" doc:"share of IMAP commands by kind"`
}

type testFault struct {
	At      time.Duration `toml:"at" default:"0s" min:"0s" doc:"when the fault starts"`
	Backend int           `toml:"backend" default:"0" min:"0" doc:"backend index, from 0"`
	Kind    string        `toml:"kind" default:"crash" enum:"crash|slow|partition" doc:"what happens to the backend"`
}

type testRun struct {
	Seed     uint64   `toml:"seed" default:"1" doc:"experiment seed"`
	Replicas int      `toml:"replicas" default:"3" min:"1" doc:"runs per point and strategy"`
	Duration sim.Time `toml:"duration" default:"10m" gt:"0s" doc:"simulated time per run"`
	Workers  uint8    `toml:"workers" default:"0" doc:"runs at once, 0 for one per CPU"`
}

// Validate checks that faults hit existing backends.
func (s *testSpec) Validate() []FieldError {
	var errs []FieldError
	for i, f := range s.Faults {
		if f.Backend >= s.Cluster.Backends {
			errs = append(errs, FieldError{
				Path: fmt.Sprintf("faults[%d].backend", i),
				Msg:  fmt.Sprintf("backend %d does not exist (cluster.backends = %d)", f.Backend, s.Cluster.Backends),
			})
		}
	}
	return errs
}
