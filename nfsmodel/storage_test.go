package nfsmodel

import (
	"strings"
	"testing"
)

func TestParseMailLocation(t *testing.T) {
	local := []string{"/var/dovecot"}
	tests := []struct {
		in      string
		format  MailFormat
		place   IndexPlace
		wantErr string
	}{
		{"maildir:~/Maildir", Maildir, IndexShared, ""},
		{"maildir:~/Maildir:INDEX=/var/dovecot/index/%u", Maildir, IndexLocal, ""},
		{"maildir:~/Maildir:INDEX=/srv/nfs/index/%u", Maildir, IndexShared, ""},
		{"maildir:~/Maildir:INDEX=MEMORY", Maildir, IndexMemory, ""},
		{"maildir:~/Maildir:LAYOUT=fs:INDEX=/var/dovecot/%u", Maildir, IndexLocal, ""},
		{"maildir:/var/dovecot/mail/%u", Maildir, IndexLocal, ""},
		{"maildir:~/Maildir:CONTROL=/var/dovecot/control/%u", Maildir, IndexShared, ""},
		{"sdbox:~/sdbox", Sdbox, IndexShared, ""},
		{"mdbox:~/mdbox", Mdbox, IndexShared, ""},
		{"mbox:~/mail:INBOX=/var/mail/%u", Mbox, IndexShared, ""},
		{"maildir", "", 0, "want FORMAT:PATH"},
		{"maildir:", "", 0, "want FORMAT:PATH"},
		{"imapc:~/imapc", "", 0, "is not one of maildir"},
		{"maildir:INDEX=/x", "", 0, "mail path comes first"},
		{"maildir:~/Maildir:INDEX", "", 0, "not KEY=VALUE"},
		{"maildir:~/Maildir:FOO=bar", "", 0, "unknown key"},
		{"sdbox:~/sdbox:INDEX=/var/dovecot/%u", "", 0, "must stay with the mail"},
		{"mdbox:~/mdbox:INDEX=MEMORY", "", 0, "cannot keep its index in memory"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			l, err := ParseMailLocation(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if l.Format != tt.format || l.IndexPlace(local) != tt.place {
				t.Errorf("format %s, index %s; want %s, %s", l.Format, l.IndexPlace(local), tt.format, tt.place)
			}
		})
	}
}

func TestLocalPaths(t *testing.T) {
	for _, tt := range []struct {
		paths []string
		ok    bool
	}{
		{nil, true},
		{[]string{"/var/dovecot", "~"}, true},
		{[]string{"/var/dovecot/"}, true},
		{[]string{"var/dovecot"}, false},
		{[]string{"/var/../etc"}, false},
	} {
		if err := ValidateLocalPaths(tt.paths); (err == nil) != tt.ok {
			t.Errorf("%q: error %v, want ok %v", tt.paths, err, tt.ok)
		}
	}
	if !isLocal("~/Maildir", []string{"~"}) || isLocal("~/Maildir", []string{"/home"}) {
		t.Error("the home directory is local only when ~ is listed")
	}
}

func TestMountVers(t *testing.T) {
	for _, tt := range []struct {
		vers      Vers
		localLock bool
		ok        bool
	}{
		{V3, true, true},
		{V42, false, true},
		{V41, true, false}, // local_lock is NFSv2/v3 only (nfs(5))
		{"4", false, false},
		{"", false, false},
	} {
		m := DefaultMount()
		m.Vers, m.LocalLock = tt.vers, tt.localLock
		if err := m.Validate(); (err == nil) != tt.ok {
			t.Errorf("vers %q local_lock %v: error %v, want ok %v", tt.vers, tt.localLock, err, tt.ok)
		}
	}
	if V3.V4() || !V40.V4() || !V42.Valid() || Vers("5").Valid() {
		t.Error("version predicates")
	}
}
