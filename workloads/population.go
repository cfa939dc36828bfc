// Package workloads says who does what when: the user population with its
// mailboxes and devices, each device's IMAP sessions and command mix, and
// LMTP deliveries. Everything is drawn from named random streams so that
// the same seed gives the same users doing the same things whatever the
// routing strategy.
package workloads

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"

	"github.com/mailsim/mailsim/model/sim"
)

// DeviceKind is the kind of client a user runs.
type DeviceKind uint8

// Device kinds.
const (
	Desktop DeviceKind = iota // a desktop client (Thunderbird, Apple Mail, Outlook)
	Phone                     // a phone's mail app, behind carrier NAT
	Webmail                   // a webmail front end acting for the user
	numDeviceKinds
)

var deviceNames = [...]string{"desktop", "phone", "webmail"}

// String returns the kind's name.
func (k DeviceKind) String() string {
	if int(k) < len(deviceNames) {
		return deviceNames[k]
	}
	return fmt.Sprintf("device(%d)", k)
}

// Population describes the users of a site and their clients.
type Population struct {
	// Users is the number of accounts.
	Users int `toml:"users"`
	// Domain is the mail domain of the generated user names.
	Domain string `toml:"domain"`
	// Folders is the number of folders per user besides INBOX.
	Folders int `toml:"folders"`
	// InboxMessagesMedian and InboxMessagesSigma give INBOX's message
	// count as a log-normal distribution (median, sigma of the log);
	// counts are capped at MaxFolderMessages. Folders with up to ~100,000
	// messages occur in real ISPs (FACTS.md 1.4, [HYPERNODE]).
	InboxMessagesMedian float64 `toml:"inbox_messages_median"`
	InboxMessagesSigma  float64 `toml:"inbox_messages_sigma"`
	// FolderMessagesMedian and FolderMessagesSigma do the same for the
	// other folders.
	FolderMessagesMedian float64 `toml:"folder_messages_median"`
	FolderMessagesSigma  float64 `toml:"folder_messages_sigma"`
	// MaxFolderMessages caps any folder's message count.
	MaxFolderMessages int `toml:"max_folder_messages"`
	// MessageBytesMean is the mean message size: about 76.7 KB per message
	// in an 18.6-million-message corporate corpus (FACTS.md 1.4,
	// [EMAILSIZE], inference from its totals).
	MessageBytesMean float64 `toml:"message_bytes_mean"`
	// AggressiveFraction is the share of users with imaptest's
	// "aggressive" profile (10 %; the rest are "normal", 90 %) (FACTS.md
	// 1.3, [IMT-PROFILE]).
	AggressiveFraction float64 `toml:"aggressive_fraction"`
	// Desktop, Phone and Webmail are the shares of users with each kind of
	// device; a user has at least one device unless all three are zero
	// (a population that only receives mail).
	Desktop float64 `toml:"desktop"`
	Phone   float64 `toml:"phone"`
	Webmail float64 `toml:"webmail"`
	// CarrierNATPools is the number of carrier-grade NAT addresses that
	// all phones share.
	CarrierNATPools int `toml:"carrier_nat_ips"`
	// WebmailFrontends is the number of webmail front-end servers; every
	// webmail session arrives from one of their addresses.
	WebmailFrontends int `toml:"webmail_frontends"`
	// DesktopConnections is the number of IMAP connections a desktop
	// client holds open (imaptest's client profiles use up to 2 parallel
	// connections with IDLE; FACTS.md 1.3).
	DesktopConnections int `toml:"desktop_connections"`
	// UserTemplate, when set, names user u by this imaptest-style
	// template (see [ParseUserTemplate]) with the number FirstUser+u,
	// instead of "user%06d@Domain".
	UserTemplate string `toml:"-"`
	FirstUser    int    `toml:"-"`
}

// DefaultPopulation returns the default population settings, with sources
// in the field comments.
func DefaultPopulation() Population {
	return Population{
		Users:                3000,
		Domain:               "example.net",
		Folders:              4,
		InboxMessagesMedian:  1500,
		InboxMessagesSigma:   1.2,
		FolderMessagesMedian: 300,
		FolderMessagesSigma:  1.5,
		MaxFolderMessages:    100000,
		MessageBytesMean:     76700,
		AggressiveFraction:   0.10,
		Desktop:              0.7,
		Phone:                0.6,
		Webmail:              0.3,
		CarrierNATPools:      16,
		WebmailFrontends:     2,
		DesktopConnections:   2,
	}
}

// Validate reports the first inconsistency in p.
func (p Population) Validate() error {
	switch {
	case p.Users < 1:
		return fmt.Errorf("workloads: users must be at least 1, not %d", p.Users)
	case p.Folders < 0:
		return fmt.Errorf("workloads: folders must not be negative")
	case p.CarrierNATPools < 1 || p.WebmailFrontends < 1:
		return fmt.Errorf("workloads: carrier_nat_ips and webmail_frontends must be at least 1")
	case p.DesktopConnections < 1:
		return fmt.Errorf("workloads: desktop_connections must be at least 1")
	case p.Desktop < 0 || p.Phone < 0 || p.Webmail < 0:
		return fmt.Errorf("workloads: device shares must not be negative")
	case p.CarrierNATPools > 250 || p.WebmailFrontends > 200:
		return fmt.Errorf("workloads: at most 250 carrier_nat_ips and 200 webmail_frontends")
	case p.FirstUser < 0:
		return fmt.Errorf("workloads: the first user number must not be negative")
	}
	if p.UserTemplate != "" {
		if _, err := ParseUserTemplate(p.UserTemplate); err != nil {
			return err
		}
	}
	return nil
}

// Mailbox is one folder of a user as the workload sees it.
type Mailbox struct {
	Messages int32
	Bytes    int64
}

// User is one account.
type User struct {
	Name       string
	Aggressive bool
	// Mailboxes[0] is INBOX.
	Mailboxes []Mailbox
	// Devices are indexes into Site.Devices.
	Devices []int32
}

// Device is one client of one user.
type Device struct {
	User        int32
	Kind        DeviceKind
	IP          netip.Addr
	Connections int8
}

// Site is a generated population.
type Site struct {
	Users   []User
	Devices []Device
}

// Generate draws a site from p with the run seed. Each user's draws come
// from its own stream, so adding users does not change existing ones.
func Generate(p Population, seed uint64) (*Site, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	s := &Site{Users: make([]User, p.Users)}
	err := GenerateEach(p, seed, func(u int, usr *User, devs []Device) {
		su := &s.Users[u]
		su.Name, su.Aggressive = usr.Name, usr.Aggressive
		su.Mailboxes = append([]Mailbox(nil), usr.Mailboxes...)
		if len(usr.Devices) > 0 {
			su.Devices = append([]int32(nil), usr.Devices...)
		}
		s.Devices = append(s.Devices, devs...)
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// GenerateEach draws the same site as [Generate] without keeping it: it
// calls fn for each user in order, with the user and the user's devices,
// whose indexes in the site (usr.Devices) follow those of the users
// before. usr, its slices and devs are reused for the next user, so fn
// must copy what it keeps.
func GenerateEach(p Population, seed uint64, fn func(u int, usr *User, devs []Device)) error {
	if err := p.Validate(); err != nil {
		return err
	}
	src := sim.Source(seed, "workload/population")
	rng := rand.New(src)
	userSeed := sim.SubSeed(seed, "workload/user")
	var usr User
	usr.Mailboxes = make([]Mailbox, 1+p.Folders)
	var devs []Device
	nextDevice := 0
	var tmpl UserTemplate
	if p.UserTemplate != "" {
		tmpl, _ = ParseUserTemplate(p.UserTemplate) // Validate checked it
	}
	for u := range p.Users {
		src.Seed(userSeed, uint64(u))
		if p.UserTemplate != "" {
			usr.Name = tmpl.Name(p.FirstUser + u)
		} else {
			usr.Name = fmt.Sprintf("user%06d@%s", u, p.Domain)
		}
		usr.Aggressive = rng.Float64() < p.AggressiveFraction
		for m := range usr.Mailboxes {
			med, sig := p.FolderMessagesMedian, p.FolderMessagesSigma
			if m == 0 {
				med, sig = p.InboxMessagesMedian, p.InboxMessagesSigma
			}
			n := int(math.Round(med * math.Exp(sig*rng.NormFloat64())))
			n = max(0, min(n, p.MaxFolderMessages))
			usr.Mailboxes[m] = Mailbox{Messages: int32(n), Bytes: int64(float64(n) * p.MessageBytesMean)}
		}
		kinds := [numDeviceKinds]float64{p.Desktop, p.Phone, p.Webmail}
		devs = devs[:0]
		for k, share := range kinds {
			if rng.Float64() < share {
				devs = append(devs, newDevice(p, u, DeviceKind(k), rng))
			}
		}
		if len(devs) == 0 && kinds[0]+kinds[1]+kinds[2] > 0 {
			// Everyone reads mail somehow: pick one kind by share.
			r := rng.Float64() * (kinds[0] + kinds[1] + kinds[2])
			k := Desktop
			for r > kinds[k] && k < numDeviceKinds-1 {
				r -= kinds[k]
				k++
			}
			devs = append(devs, newDevice(p, u, k, rng))
		}
		usr.Devices = usr.Devices[:0]
		for range devs {
			usr.Devices = append(usr.Devices, int32(nextDevice))
			nextDevice++
		}
		fn(u, &usr, devs)
	}
	return nil
}

func newDevice(p Population, u int, k DeviceKind, rng *rand.Rand) Device {
	d := Device{User: int32(u), Kind: k, Connections: 1}
	switch k {
	case Desktop:
		// A home or office address of its own: 100.64/10 is shared address
		// space, used here only as an unroutable pool of distinct IPs.
		a := uint32(0x64400000) | uint32(rng.IntN(1<<22))
		d.IP = netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)})
		d.Connections = int8(p.DesktopConnections)
	case Phone:
		d.IP = netip.AddrFrom4([4]byte{198, 51, 100, byte(1 + rng.IntN(p.CarrierNATPools))})
	case Webmail:
		d.IP = netip.AddrFrom4([4]byte{192, 0, 2, byte(10 + rng.IntN(p.WebmailFrontends))})
	}
	return d
}
