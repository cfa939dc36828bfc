package workloads

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/mailsim/mailsim/model/sim"
)

func TestGenerateIsDeterministicAndStable(t *testing.T) {
	p := DefaultPopulation()
	p.Users = 500
	a, err := Generate(p, 1)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Generate(p, 1)
	c, _ := Generate(p, 2)
	if fmt.Sprint(a.Users[17], a.Devices[:9]) != fmt.Sprint(b.Users[17], b.Devices[:9]) {
		t.Fatal("same seed gave different users")
	}
	if fmt.Sprint(a.Users[17]) == fmt.Sprint(c.Users[17]) {
		t.Fatal("different seeds gave the same user")
	}
	// Adding users leaves the existing ones as they were.
	p.Users = 600
	d, _ := Generate(p, 1)
	if fmt.Sprint(a.Users[499]) != fmt.Sprint(d.Users[499]) {
		t.Fatal("adding users changed an existing one")
	}
}

func TestPopulationShares(t *testing.T) {
	p := DefaultPopulation()
	p.Users = 20000
	s, err := Generate(p, 7)
	if err != nil {
		t.Fatal(err)
	}
	var kinds [numDeviceKinds]int
	aggressive := 0
	ips := map[DeviceKind]map[string]bool{}
	for _, d := range s.Devices {
		kinds[d.Kind]++
		if ips[d.Kind] == nil {
			ips[d.Kind] = map[string]bool{}
		}
		ips[d.Kind][d.IP.String()] = true
	}
	for _, u := range s.Users {
		if u.Aggressive {
			aggressive++
		}
		if len(u.Devices) == 0 {
			t.Fatalf("user %s has no device", u.Name)
		}
		if len(u.Mailboxes) != 1+p.Folders {
			t.Fatalf("user %s has %d folders", u.Name, len(u.Mailboxes))
		}
	}
	n := float64(p.Users)
	near := func(name string, got, want float64) {
		t.Helper()
		// Binomial standard deviation, four of them, plus the
		// at-least-one-device top-up for the device shares.
		if math.Abs(got-want) > 4*math.Sqrt(want*(1-want)/n)+0.02 {
			t.Errorf("%s share %.3f, want about %.3f", name, got, want)
		}
	}
	near("aggressive", float64(aggressive)/n, p.AggressiveFraction)
	near("desktop", float64(kinds[Desktop])/n, p.Desktop)
	near("phone", float64(kinds[Phone])/n, p.Phone)
	near("webmail", float64(kinds[Webmail])/n, p.Webmail)
	// Phones share the carrier's NAT addresses and webmail its front ends;
	// desktops have addresses of their own.
	if len(ips[Phone]) > p.CarrierNATPools || len(ips[Webmail]) > p.WebmailFrontends {
		t.Errorf("%d phone and %d webmail addresses", len(ips[Phone]), len(ips[Webmail]))
	}
	if len(ips[Desktop]) < kinds[Desktop]*9/10 {
		t.Errorf("%d desktops share %d addresses", kinds[Desktop], len(ips[Desktop]))
	}
}

func TestFolderSizesAreHeavyTailed(t *testing.T) {
	p := DefaultPopulation()
	p.Users = 20000
	s, _ := Generate(p, 3)
	var inbox []float64
	biggest := int32(0)
	for _, u := range s.Users {
		inbox = append(inbox, float64(u.Mailboxes[0].Messages))
		biggest = max(biggest, u.Mailboxes[0].Messages)
	}
	med := median(inbox)
	if math.Abs(med-p.InboxMessagesMedian)/p.InboxMessagesMedian > 0.05 {
		t.Errorf("INBOX median %.0f, want about %.0f", med, p.InboxMessagesMedian)
	}
	if float64(biggest) < 20*med || int(biggest) > p.MaxFolderMessages {
		t.Errorf("largest INBOX %d against a median of %.0f (cap %d)", biggest, med, p.MaxFolderMessages)
	}
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func TestSessionScript(t *testing.T) {
	p := DefaultProfile()
	rng := rand.New(rand.NewPCG(1, 1))
	b := p.Behavior(false)
	var seq []Command
	ph := PhaseLogin
	for i := 0; i < 6; i++ {
		st, next := p.Next(rng, ph, b, 4, false)
		seq = append(seq, st.Cmd)
		ph = next
	}
	if seq[0] != Login || (seq[1] != List && seq[1] != Select) {
		t.Fatalf("session starts %v", seq)
	}
	st, next := p.Next(rng, PhaseLoop, b, 4, true)
	if st.Cmd != Logout || next != PhaseDone {
		t.Fatalf("an expired session sent %v", st.Cmd)
	}
	// The mix: over many draws each command's share matches its weight.
	var count [NumCommands]int
	const draws = 200000
	for i := 0; i < draws; i++ {
		st, _ := p.Next(rng, PhaseLoop, b, 4, false)
		count[st.Cmd]++
	}
	var total float64
	for _, w := range p.Mix {
		total += w
	}
	for c, w := range p.Mix {
		want := w / total
		got := float64(count[c]) / draws
		if math.Abs(got-want) > 4*math.Sqrt(want*(1-want)/draws)+1e-9 {
			t.Errorf("%v: share %.4f, weight gives %.4f", Command(c), got, want)
		}
	}
}

func TestActivity(t *testing.T) {
	p := DefaultProfile()
	if p.Activity(5*sim.Hour) != 1 {
		t.Fatal("a flat profile should always be at peak")
	}
	p.Diurnal = make([]float64, 24)
	for h := range p.Diurnal {
		p.Diurnal[h] = float64(h + 1)
	}
	p.StartHour = 22
	if got := p.Activity(0); got != 23.0/24 {
		t.Errorf("22:00 activity %g", got)
	}
	if got := p.Activity(2*sim.Hour + sim.Minute); got != 1.0/24 {
		t.Errorf("00:01 activity %g", got)
	}
	p.Diurnal = p.Diurnal[:5]
	if p.Validate() == nil {
		t.Error("5 hourly values validated")
	}
}
