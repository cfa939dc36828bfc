package dovecotlog_test

import (
	"fmt"
	"strings"

	"github.com/mailsim/mailsim/workloads/testbed/dovecotlog"
)

func ExampleClassify() {
	for _, line := range []string{
		"Dec 05 10:00:01 imap(user001@example.net)<4711><AbCdEfGh>: Error: Mailbox INBOX: Corrupted transaction log file /srv/index/user001/dovecot.index.log seq 12: Unexpected garbage at EOF (sync_offset=20480)",
		"Dec 05 10:00:02 lmtp(user002@example.net)<5120><QkFzZTY0>: Warning: /srv/mail/user002/Maildir/dovecot-uidlist: Duplicate file entry at line 41: 1733392855.M12P5120.b2 (uid 1199 -> 1207)",
		"Dec 05 10:00:03 imap(user001@example.net)<4711><AbCdEfGh>: Error: Mailbox INBOX: open(/srv/mail/user001/Maildir/cur/x) failed: Permission denied",
		"Dec 05 10:00:04 imap-login: Info: Login: user=<user001@example.net>, method=PLAIN, rip=192.0.2.10, lip=192.0.2.1, mpid=4711, session=<AbCdEfGh>",
	} {
		fmt.Printf("%q\n", dovecotlog.Classify(line))
	}
	// Output:
	// "transaction_log_corrupted"
	// "uidlist_duplicate"
	// "other"
	// ""
}

func ExampleParse() {
	log := `2024-12-05 10:00:01.204571 imap-login: Info: Login: user=<user001@example.net>, method=PLAIN, rip=192.0.2.10, lip=192.0.2.1, mpid=4711, session=<AbCdEfGh>
2024-12-05 10:00:02.100230 imap(user001@example.net)<4711><AbCdEfGh>: Warning: fscking index file /srv/index/user001/dovecot.index
2024-12-05 10:00:05.500000 imap(user001@example.net)<4711><AbCdEfGh>: Error: Mailbox INBOX: read() failed with file /srv/index/user001/dovecot.index: Stale file handle
2024-12-05 10:00:06.000000 lmtp(user001@example.net)<5120><QkFzZTY0>: Error: Mailbox INBOX: Timeout (180s) while waiting for lock for transaction log file /srv/index/user001/dovecot.index.log (WRITE lock held by pid 4711)
`
	lines, err := dovecotlog.Parse(strings.NewReader(log), "b1")
	if err != nil {
		panic(err)
	}
	for _, l := range lines {
		fmt.Println(l.At.Format("15:04:05.000000"), l.Backend, l.Level, l.Class)
	}
	// Output:
	// 10:00:02.100230 b1 Warning index_fsck
	// 10:00:05.500000 b1 Error stale_file_handle
	// 10:00:06.000000 b1 Error lock_timeout
}

func ExampleCount() {
	lines := []dovecotlog.Line{
		{Class: dovecotlog.LockTimeout},
		{Class: dovecotlog.LockTimeout},
		{Class: dovecotlog.CacheCorrupted},
	}
	per, total := dovecotlog.Count(lines)
	for i, c := range dovecotlog.Classes() {
		if per[i] > 0 {
			fmt.Println(c.Metric(), per[i])
		}
	}
	fmt.Println(dovecotlog.TotalMetric, total)
	// Output:
	// dovecot.errors.cache_corrupted 1
	// dovecot.errors.lock_timeout 2
	// dovecot.errors.total 3
}
