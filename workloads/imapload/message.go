package imapload

import (
	"bytes"
	"fmt"
	"time"
)

// message returns a new message to user of size bytes.
func (r *runner) message(to string, size int64) []byte {
	return buildMessage(r.from(), to, r.start.UnixNano(), r.msgID.Add(1), r.cfg.Clock(), int(size))
}

// from returns the sender of generated messages.
func (r *runner) from() string {
	if r.cfg.Domain != "" {
		return "imapload@" + r.cfg.Domain
	}
	return "imapload@localhost"
}

// filler is the text of generated message bodies.
const filler = "the quick brown fox jumps over the lazy dog while a trace is replayed line by line "

// buildMessage returns an RFC 5322 message (a plain-text body in lines of
// at most 78 characters) of exactly size bytes, or just its header when
// size is smaller than that, or one byte more when size leaves one byte
// after the header. run and seq make its Message-ID unique.
func buildMessage(from, to string, run int64, seq uint64, date time.Time, size int) []byte {
	var b bytes.Buffer
	b.Grow(max(size, 512))
	fmt.Fprintf(&b, "From: <%s>\r\nTo: <%s>\r\nSubject: imapload message %d\r\nDate: %s\r\n"+
		"Message-ID: <%d.%d@imapload.invalid>\r\nMIME-Version: 1.0\r\n"+
		"Content-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: 7bit\r\n\r\n",
		from, to, seq, date.Format(time.RFC1123Z), run, seq)
	for line := 0; b.Len() < size; line++ {
		rest := size - b.Len()
		n := min(rest, 78)
		if rest-n == 1 {
			n-- // leave room for a last line of CRLF alone
		}
		off := line * 7
		for i := range max(n-2, 0) {
			b.WriteByte(filler[(off+i)%len(filler)])
		}
		b.WriteString("\r\n")
	}
	return b.Bytes()
}
