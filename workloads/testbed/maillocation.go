package testbed

import (
	"fmt"
	"path"
	"strings"

	"github.com/mailsim/mailsim/model"
	"github.com/mailsim/mailsim/nfsmodel"
	"github.com/mailsim/mailsim/workloads/testbed/guest"
)

// mailLayout is where the backends' Dovecot keeps a user's mail, index
// and control files: the spec's dovecot.mail_location, with the paths of
// storage.local_paths on each backend's own disk.
//
// The testbed creates every user's mail as a Maildir under the user's
// home on the NFS export (the userdb gives home=/mnt/bN/%d/%n), so the
// mail path must be ~/PATH. INDEX= and CONTROL= may be under the home (on
// the export, shared by the backends), under a path of
// storage.local_paths (a directory private to each backend: in the
// one-kernel topology /local/bN followed by the path, in the hosts
// topology the path itself on the backend's own disk), or, for INDEX=,
// MEMORY.
type mailLayout struct {
	loc nfsmodel.MailLocation
	// sub is the mail path relative to the user's home ("Maildir").
	sub string
	// local are the storage.local_paths prefixes that INDEX= or CONTROL=
	// lie under, cleaned, in the order met.
	local []string
	// dbox is set for sdbox and mdbox: the users' mail is generated as
	// a Maildir under stagingDir and converted by Dovecot itself.
	dbox bool
}

// stagingDir is where, in a user's home, the mail of a dbox location is
// generated as a Maildir before Dovecot converts it (and it is removed).
const stagingDir = ".mailsim-maildir"

// convertConf is the NFS server guest's Dovecot configuration for the
// conversion of the generated Maildirs to sdbox or mdbox.
const convertConf = "/etc/dovecot/convert.conf"

// oneKernelLocalRoot is where backend i's own disk is in the one-kernel
// topology: the paths of storage.local_paths are under it, so that every
// backend has its own index directory although all share one kernel.
func oneKernelLocalRoot(i int) string { return "/local/" + backendName(i) }

// parseLayout parses the spec's mail_location for the testbed, or lists
// why the testbed cannot lay it out, naming the key of each.
func parseLayout(cfg *model.Config) (mailLayout, []string) {
	var lay mailLayout
	raw := cfg.Dovecot.MailLocation
	if raw == "" {
		raw = nfsmodel.DefaultMailLocation
	}
	const key = "dovecot.mail_location: "
	loc, err := nfsmodel.ParseMailLocation(raw)
	if err != nil {
		return lay, []string{key + err.Error()}
	}
	lay.loc = loc
	var errs []string
	switch loc.Format {
	case nfsmodel.Maildir:
	case nfsmodel.Sdbox, nfsmodel.Mdbox:
		// The mail is generated as Maildir and converted with
		// doveadm sync (see conversion).
		lay.dbox = true
		if loc.Control != "" {
			errs = append(errs, key+"CONTROL= in "+quote(raw)+": "+string(loc.Format)+" has no control files of its own; the testbed lays out CONTROL= for maildir only")
		}
		if !cfg.Dovecot.LMTPIndexUpdate {
			errs = append(errs, "dovecot.lmtp_index_update: false would give LMTP INDEX=MEMORY, which "+string(loc.Format)+" cannot take (its index is the only record of its UIDs)")
		}
	default:
		errs = append(errs, key+"format "+string(loc.Format)+" in "+quote(raw)+": the testbed creates its users' mail as Maildir files, converted to sdbox or mdbox when asked, and has no generator of "+string(loc.Format)+" mailboxes")
	}
	// Keys the model accepts but the testbed would have to lay the mail
	// out for (LAYOUT=fs moves the folders, ...): refused.
	for _, p := range strings.Split(raw, ":")[2:] {
		k, _, _ := strings.Cut(p, "=")
		if k = strings.ToUpper(k); k != "INDEX" && k != "CONTROL" {
			errs = append(errs, key+k+"= in "+quote(raw)+": the testbed lays out INDEX= and CONTROL= only (its mail is created as plain Maildir++)")
		}
	}
	for _, lp := range cfg.LocalPaths {
		if lp == "~" {
			errs = append(errs, "storage.local_paths: \"~\" puts the users' homes, and so their mail, on each backend's own disk; the testbed keeps the mail on the NFS export")
		}
	}
	sub, ok := strings.CutPrefix(loc.Root, "~/")
	if !ok || sub == "" || strings.Contains(sub, "%") || path.Clean(sub) != sub || strings.HasPrefix(sub, "..") {
		errs = append(errs, key+"mail path "+quote(loc.Root)+": the testbed creates every user's mail under the user's home on the NFS export; write it as ~/PATH without variables (such as ~/Maildir)")
	}
	lay.sub = sub
	for _, x := range []struct{ name, v string }{{"INDEX", loc.Index}, {"CONTROL", loc.Control}} {
		switch {
		case x.v == "", strings.HasPrefix(x.v, "~/"):
		case x.v == "MEMORY" && x.name == "INDEX":
		default:
			lp := localPrefix(x.v, cfg.LocalPaths)
			if lp == "" {
				errs = append(errs, key+x.name+"="+x.v+" is neither under the user's home (~/..., on the NFS export) nor under a path of storage.local_paths (each backend's own disk); the testbed cannot tell where to put it")
				continue
			}
			if !contains(lay.local, lp) {
				lay.local = append(lay.local, lp)
			}
		}
	}
	return lay, errs
}

// localPrefix returns the path of local (storage.local_paths) that p lies
// under, cleaned, or "".
func localPrefix(p string, local []string) string {
	for _, lp := range local {
		lp = strings.TrimSuffix(lp, "/")
		if lp == "" || lp == "~" {
			continue
		}
		if p == lp || strings.HasPrefix(p, lp+"/") {
			return lp
		}
	}
	return ""
}

// expand returns a mail_location path as a backend whose mail is under
// mailRoot (/mnt/bN) and whose own disk's paths are under localRoot sees
// it: ~ is the user's home on the export, a local path is moved under
// localRoot.
func (l mailLayout) expand(p, mailRoot, localRoot string) string {
	switch {
	case p == "" || p == "MEMORY":
		return p
	case strings.HasPrefix(p, "~/"):
		return mailRoot + "/%d/%n" + p[1:]
	case len(l.local) > 0:
		return localRoot + p
	}
	return p
}

// conversion returns what the NFS server's guest needs to convert every
// user's generated Maildir in the export into the location's dbox
// format, before any backend mounts it: Dovecot's own dsync (doveadm
// sync -u USER maildir:STAGING, with mail_location the dbox location in
// the export), as Dovecot's documentation converts Maildir to dbox, then
// the staging Maildir removed. doveadm looks the user up in Dovecot's
// auth service, so a Dovecot instance of its own (no listeners) runs
// for the conversion and is stopped after it. Nothing for a Maildir
// location.
func (l mailLayout) conversion(export string, users []string) ([]guest.File, []guest.Step) {
	if !l.dbox {
		return nil, nil
	}
	conf := fmt.Sprintf(`# mailsim testbed: converts the generated Maildirs to %[1]s
instance_name = dovecot-convert
base_dir = /run/dovecot-convert
state_dir = /var/lib/dovecot-convert
log_path = /var/log/mailsim/convert.log
ssl = no
protocols = imap
service imap-login {
  inet_listener imap {
    port = 0
  }
  inet_listener imaps {
    port = 0
  }
}
mail_location = %[1]s:%[2]s/%%d/%%n/%[3]s
# dsync wants one hierarchy separator on both sides.
namespace inbox {
  inbox = yes
  separator = /
}
mail_uid = %[4]d
mail_gid = %[4]d
first_valid_uid = %[4]d
userdb {
  driver = static
  args = uid=%[4]d gid=%[4]d home=%[2]s/%%d/%%n
}
passdb {
  driver = static
  args = password=%[5]s
}
`, l.loc.Format, export, l.sub, MailUID, Password)
	files := []guest.File{{Path: convertConf, Mode: 0o644, Content: conf}}
	steps := []guest.Step{
		{Command: &guest.Command{Argv: []string{"mkdir", "-p", "/run/dovecot-convert", "/var/lib/dovecot-convert", "/var/log/mailsim"}}},
		serviceStep("convert", "", "dovecot", "-F", "-c", convertConf),
	}
	for _, u := range users {
		staging := export + "/" + homePath(u) + "/" + stagingDir
		steps = append(steps,
			// Retried while the auth service starts.
			guest.Step{Command: &guest.Command{Argv: []string{"doveadm", "-c", convertConf, "sync", "-u", u, "maildir:" + staging}, Retry: 10}},
			guest.Step{Command: &guest.Command{Argv: []string{"rm", "-rf", staging}}})
	}
	steps = append(steps, guest.Step{Command: &guest.Command{Argv: []string{"doveadm", "-c", convertConf, "stop"}}})
	return files, steps
}

// render is backend mailRoot's mail_location line: the mail and, when
// given, INDEX= and CONTROL=, with every path expanded. The default
// location is maildir:/mnt/bN/%d/%n/Maildir.
func (l mailLayout) render(mailRoot, localRoot string) string {
	s := string(l.loc.Format) + ":" + l.expand(l.loc.Root, mailRoot, localRoot)
	if l.loc.Index != "" {
		s += ":INDEX=" + l.expand(l.loc.Index, mailRoot, localRoot)
	}
	if l.loc.Control != "" {
		s += ":CONTROL=" + l.expand(l.loc.Control, mailRoot, localRoot)
	}
	return s
}

// lmtpNoIndex is the LMTP protocol's mail_location when deliveries leave
// the index alone (dovecot.lmtp_index_update = false): the mail path as
// written, INDEX=MEMORY, and CONTROL= when given.
func (l mailLayout) lmtpNoIndex(localRoot string) string {
	s := string(nfsmodel.Maildir) + ":" + l.loc.Root + ":INDEX=MEMORY"
	if c := l.loc.Control; c != "" && !strings.HasPrefix(c, "~/") {
		s += ":CONTROL=" + localRoot + c
	} else if c != "" {
		s += ":CONTROL=" + c
	}
	return s
}

// localDirs are the directories on a backend's own disk that its index
// or control files go under: each storage.local_paths prefix used, under
// localRoot.
func (l mailLayout) localDirs(localRoot string) []string {
	var out []string
	for _, lp := range l.local {
		out = append(out, localRoot+lp)
	}
	return out
}

// maildirPath is where a user's mail is generated as a Maildir,
// relative to the export: the mail directory, or for dbox the staging
// Maildir it is converted from.
func (l mailLayout) maildirPath(user string) string {
	if l.dbox {
		return homePath(user) + "/" + stagingDir
	}
	if l.sub == "" {
		return maildirPath(user)
	}
	return homePath(user) + "/" + l.sub
}

func quote(s string) string { return "\"" + s + "\"" }

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
