//go:build linux

package guest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// populate creates the users' Maildirs in the export, as a delivery
// agent would have left them: INBOX at the Maildir's root, the other
// folders as Maildir++ subfolders (.f1, .f2, ...), every message already
// seen (in cur/ with the S flag). Dovecot builds its index files on first
// access, as it does for mail migrated from another server.
func (g *guest) populate(s *Server) error {
	for _, md := range s.Populate {
		root := filepath.Join(s.Export, md.Path)
		for f, n := range md.Folders {
			dir := root
			if f > 0 {
				dir = filepath.Join(root, fmt.Sprintf(".f%d", f))
			}
			for _, sub := range []string{"cur", "new", "tmp"} {
				if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
					return err
				}
			}
			if f > 0 {
				if err := os.WriteFile(filepath.Join(dir, "maildirfolder"), nil, 0o600); err != nil {
					return err
				}
			}
			for i := range n {
				body := Message(md.Path, f, i, md.Bytes)
				name := fmt.Sprintf("%d.M%dP1.testbed,S=%d:2,S", 1700000000+i, i, len(body))
				if err := os.WriteFile(filepath.Join(dir, "cur", name), body, 0o600); err != nil {
					return err
				}
			}
		}
		top, _, _ := strings.Cut(md.Path, "/")
		if err := chownTree(filepath.Join(s.Export, top), s.Owner); err != nil {
			return err
		}
	}
	return nil
}

// Message returns message i of a folder, of about size bytes.
func Message(user string, folder, i, size int) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "From: sender%d@example.org\r\nTo: %s\r\nSubject: message %d of folder %d\r\n", i%17, user, i, folder)
	fmt.Fprintf(&b, "Message-ID: <%d.%d.%s@testbed>\r\nDate: Tue, 14 Nov 2023 22:13:20 +0000\r\n\r\n", folder, i, strings.ReplaceAll(user, "/", "."))
	line := "The quick brown fox jumps over the lazy dog, message body line.\r\n"
	for b.Len() < size {
		b.WriteString(line)
	}
	return []byte(b.String())
}

func chownTree(dir string, id int) error {
	return filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, id, id)
	})
}
