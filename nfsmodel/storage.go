package nfsmodel

import (
	"fmt"
	"path"
	"strings"
)

// Kind is the kind of storage the backends keep mail on.
type Kind string

// Storage kinds.
const (
	// KindNFS is an NFS server that every backend mounts (the default).
	KindNFS Kind = "nfs"
	// KindClusterFS is a cluster file system (GFS2, OCFS2) on a shared
	// block device: every node caches what it holds a cluster lock on,
	// and the distributed lock manager keeps the caches coherent by
	// moving the locks between nodes.
	KindClusterFS Kind = "cluster-fs"
	// KindFUSE is a FUSE file system such as GlusterFS: the kernel's FUSE
	// client caches attributes and names for fixed timeouts, as NFS does.
	KindFUSE Kind = "fuse"
	// KindLocal is one server with its mail on its own disk: the seeds'
	// first setup, the baseline a scale-out is measured against.
	KindLocal Kind = "local"
)

// Kinds lists the storage kinds.
var Kinds = []Kind{KindNFS, KindClusterFS, KindFUSE, KindLocal}

// Vers is an NFS protocol version, as nfs(5)'s vers= option writes it.
type Vers string

// NFS versions.
const (
	V3  Vers = "3"
	V40 Vers = "4.0"
	V41 Vers = "4.1"
	V42 Vers = "4.2"
)

// V4 reports whether v is a version of NFSv4: open and close are calls to
// the server, locks are leased, and the server may delegate files.
func (v Vers) V4() bool { return v == V40 || v == V41 || v == V42 }

// Valid reports whether v is one of the versions the model knows.
func (v Vers) Valid() bool { return v == V3 || v.V4() }

// MailFormat is the mailbox format of a mail_location.
type MailFormat string

// Mailbox formats (Dovecot's mail storage drivers).
const (
	Maildir MailFormat = "maildir"
	Sdbox   MailFormat = "sdbox"
	Mdbox   MailFormat = "mdbox"
	Mbox    MailFormat = "mbox"
)

// IndexPlace is where a mailbox's index files are.
type IndexPlace uint8

// Where index files are kept.
const (
	// IndexShared: on the shared storage, with the mail (Dovecot's
	// default: the index files are in the mail directory).
	IndexShared IndexPlace = iota
	// IndexLocal: on each backend's own disk (INDEX= a local path):
	// every backend has its own copy, brought up to date from the mail
	// when the user comes to it.
	IndexLocal
	// IndexMemory: in memory only (INDEX=MEMORY): built afresh from the
	// mail at every open.
	IndexMemory
)

// String names the place.
func (p IndexPlace) String() string {
	switch p {
	case IndexLocal:
		return "local"
	case IndexMemory:
		return "memory"
	}
	return "shared"
}

// MailLocation is a parsed Dovecot mail_location: the format, the mail
// root and the optional INDEX= and CONTROL= locations
// (doc.dovecot.org, "Mail location"; lib-storage/mailbox-list.c,
// mailbox_list_settings_parse).
type MailLocation struct {
	Format MailFormat
	// Root is the mail directory (or mbox file), as written.
	Root string
	// Index is the INDEX= location ("" when not given: with the mail;
	// "MEMORY" for in-memory indexes).
	Index string
	// Control is the CONTROL= location, where dovecot-uidlist lives
	// ("" when not given: with the mail).
	Control string
}

// DefaultMailLocation is the model's default mail_location: Maildir in the
// user's home on the shared storage, indexes with the mail.
const DefaultMailLocation = "maildir:~/Maildir"

// ParseMailLocation parses a mail_location such as
// "maildir:~/Maildir:INDEX=/var/dovecot/index/%u". Keys other than INDEX
// and CONTROL (LAYOUT, INBOX, ...) are accepted and do not change the
// model.
func ParseMailLocation(s string) (MailLocation, error) {
	var l MailLocation
	format, rest, ok := strings.Cut(s, ":")
	if !ok || rest == "" {
		return l, fmt.Errorf("mail_location %q: want FORMAT:PATH[:KEY=VALUE...], such as %q", s, DefaultMailLocation)
	}
	switch MailFormat(format) {
	case Maildir, Sdbox, Mdbox, Mbox:
		l.Format = MailFormat(format)
	default:
		return l, fmt.Errorf("mail_location %q: format %q is not one of maildir, sdbox, mdbox, mbox", s, format)
	}
	parts := strings.Split(rest, ":")
	l.Root = parts[0]
	if l.Root == "" || strings.Contains(l.Root, "=") {
		return l, fmt.Errorf("mail_location %q: the mail path comes first, before any KEY=VALUE", s)
	}
	for _, p := range parts[1:] {
		k, v, ok := strings.Cut(p, "=")
		if !ok || v == "" {
			return l, fmt.Errorf("mail_location %q: %q is not KEY=VALUE", s, p)
		}
		switch strings.ToUpper(k) {
		case "INDEX":
			l.Index = v
		case "CONTROL":
			l.Control = v
		case "LAYOUT", "INBOX", "DIRNAME", "SUBSCRIPTIONS", "VOLATILEDIR", "ITERINDEX", "NO-NOSELECT", "FULLDIRNAME", "ALT", "UTF-8", "MAILBOXDIR", "LISTINDEX", "BROKENCHARS", "NOLOCKS":
		default:
			return l, fmt.Errorf("mail_location %q: unknown key %q", s, k)
		}
	}
	if l.Index != "" && l.Index != "MEMORY" && (l.Format == Sdbox || l.Format == Mdbox) {
		// dbox keeps message UIDs and flags only in its index: the index
		// must stay with the mail (Dovecot's dbox documentation).
		return l, fmt.Errorf("mail_location %q: %s keeps its UIDs and flags only in the index files, which must stay with the mail; INDEX= is for maildir and mbox", s, l.Format)
	}
	if l.Index == "MEMORY" && (l.Format == Sdbox || l.Format == Mdbox) {
		return l, fmt.Errorf("mail_location %q: %s cannot keep its index in memory: the index is the only record of its UIDs and flags", s, l.Format)
	}
	return l, nil
}

// IndexPlace returns where the location's index files are, given the
// path prefixes that are on each backend's own disk.
func (l MailLocation) IndexPlace(localPaths []string) IndexPlace {
	switch {
	case l.Index == "MEMORY":
		return IndexMemory
	case l.Index != "" && isLocal(l.Index, localPaths):
		return IndexLocal
	case l.Index == "" && isLocal(l.Root, localPaths):
		return IndexLocal
	}
	return IndexShared
}

// isLocal reports whether path p lies under one of the local prefixes. A
// path under the home directory (~) is on the shared storage unless "~"
// itself is listed.
func isLocal(p string, localPaths []string) bool {
	for _, lp := range localPaths {
		lp = strings.TrimSuffix(lp, "/")
		if lp == "" {
			continue
		}
		if p == lp || strings.HasPrefix(p, lp+"/") {
			return true
		}
	}
	return false
}

// ValidateLocalPaths checks the storage.local_paths list: absolute paths
// (or "~"), cleaned.
func ValidateLocalPaths(paths []string) error {
	for _, p := range paths {
		if p == "~" {
			continue
		}
		if !strings.HasPrefix(p, "/") || path.Clean(p) != strings.TrimSuffix(p, "/") && path.Clean(p) != p {
			return fmt.Errorf("local path %q is not an absolute, clean path such as \"/var/dovecot\"", p)
		}
	}
	return nil
}
