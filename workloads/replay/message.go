package replay

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"
)

// partSizeBins is the size histogram of non-empty MIME parts in 18.5
// million corporate messages (Gray Watson, "Email size analysis"): each bin
// holds the parts from Lo up to twice Lo bytes, except the first, which
// holds everything from 64 bytes up to 512. Counts in thousands.
var partSizeBins = []struct {
	Lo    int
	Count float64
}{
	{64, 5600}, // "the bins below 1 KB hold another ~5.6 M parts"
	{512, 4519},
	{1 << 10, 4796},
	{2 << 10, 4720},
	{4 << 10, 3507},
	{8 << 10, 2174},
	{16 << 10, 1554},
	{32 << 10, 1220},
	{64 << 10, 757},
	{128 << 10, 536},
	{256 << 10, 313},
	{512 << 10, 230},
	{1 << 20, 144},
	{2 << 20, 68},
	{4 << 20, 27},
}

// HeaderBlock is how much of each message an index rebuild reads: 4 KiB,
// one page, which holds the whole header of nearly every message.
const HeaderBlock = 4096

// DefaultMaxSize caps a message body: 1 MiB keeps a 100,000-message folder
// to a few GB while leaving the histogram untouched below the 99th
// percentile.
const DefaultMaxSize = 1 << 20

// BodySize draws a body size in bytes from the part-size histogram: a bin
// by its share of parts, then a size log-uniform within the bin, capped at
// maxSize (no cap when maxSize <= 0).
func BodySize(r *rand.Rand, maxSize int) int {
	total := 0.0
	for _, b := range partSizeBins {
		total += b.Count
	}
	u := r.Float64() * total
	i := 0
	for ; i < len(partSizeBins)-1; i++ {
		u -= partSizeBins[i].Count
		if u < 0 {
			break
		}
	}
	lo := float64(partSizeBins[i].Lo)
	hi := 2 * lo
	if i == 0 {
		hi = float64(partSizeBins[1].Lo)
	}
	n := int(lo * math.Exp(r.Float64()*math.Log(hi/lo)))
	if maxSize > 0 && n > maxSize {
		n = maxSize
	}
	return n
}

var (
	firstNames = []string{"Anna", "Bernd", "Chloe", "Dmitri", "Elif", "Farid", "Greta", "Hugo", "Ines", "Jonas", "Kaori", "Lukas", "Maren", "Nils", "Olga", "Pavel", "Rosa", "Sven", "Tariq", "Ute"}
	lastNames  = []string{"Abel", "Berg", "Costa", "Dahl", "Eriksen", "Fischer", "Garcia", "Hansen", "Ivanova", "Jensen", "Keller", "Lund", "Moreau", "Nowak", "Olsen", "Petrov", "Quist", "Roth", "Schulz", "Weber"}
	domains    = []string{"example.com", "example.net", "example.org", "mail.example", "corp.example", "lists.example.org"}
	words      = []string{"quarterly", "report", "meeting", "budget", "review", "invoice", "draft", "schedule", "update", "server", "backup", "migration", "contract", "proposal", "minutes", "travel", "release", "ticket", "storage", "cluster", "agenda", "summary", "notes", "question", "urgent", "the", "for", "and", "with", "about", "next", "week", "monday", "project", "team"}
)

func pick(r *rand.Rand, s []string) string { return s[r.IntN(len(s))] }

// Message is one generated message.
type Message struct {
	// Header is the header block, ending with the empty line.
	Header string
	// Subject, From and Date are the values an index rebuild parses.
	Subject, From, Date string
	// BodySize is the body's length in bytes.
	BodySize int
}

// Size returns the message's total size in bytes, the ",S=" value of its
// Maildir file name.
func (m Message) Size() int { return len(m.Header) + m.BodySize }

// epoch is the fixed date of the first generated message, so that the same
// seed gives the same messages on every run.
var epoch = time.Date(2024, 3, 4, 8, 0, 0, 0, time.UTC)

// NewMessage generates message number i from r: realistic headers (a
// relay chain of Received lines, addresses, a subject, list and
// authentication headers on some) and a body size from [BodySize].
func NewMessage(r *rand.Rand, i, maxSize int) Message {
	from := fmt.Sprintf("%s %s <%s.%s@%s>", pick(r, firstNames), pick(r, lastNames), strings.ToLower(pick(r, firstNames)), strings.ToLower(pick(r, lastNames)), pick(r, domains))
	to := fmt.Sprintf("%s.%s@%s", strings.ToLower(pick(r, firstNames)), strings.ToLower(pick(r, lastNames)), pick(r, domains))
	nw := 2 + r.IntN(7)
	sw := make([]string, nw)
	for k := range sw {
		sw[k] = pick(r, words)
	}
	subject := strings.Join(sw, " ")
	if r.IntN(4) == 0 {
		subject = "Re: " + subject
	}
	when := epoch.Add(time.Duration(i)*97*time.Second + time.Duration(r.IntN(60))*time.Second)
	date := when.Format(time.RFC1123Z)
	var h strings.Builder
	fmt.Fprintf(&h, "Return-Path: <%s>\n", strings.Trim(from[strings.IndexByte(from, '<'):], "<>"))
	fmt.Fprintf(&h, "Delivered-To: %s\n", to)
	hops := 2 + r.IntN(4)
	for k := range hops {
		t := when.Add(-time.Duration(k) * time.Second)
		fmt.Fprintf(&h, "Received: from mx%d.%s (mx%d.%s [192.0.2.%d])\n\tby mail%d.%s with ESMTPS id %016x\n\tfor <%s>; %s\n",
			k+1, pick(r, domains), k+1, pick(r, domains), 1+r.IntN(250), k, pick(r, domains), r.Uint64(), to, t.Format(time.RFC1123Z))
	}
	if r.IntN(2) == 0 {
		fmt.Fprintf(&h, "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=%s; s=sel%d;\n\th=from:to:subject:date:message-id; bh=%016x%016x=;\n\tb=%016x%016x%016x%016x\n", pick(r, domains), r.IntN(9), r.Uint64(), r.Uint64(), r.Uint64(), r.Uint64(), r.Uint64(), r.Uint64())
	}
	fmt.Fprintf(&h, "Date: %s\nFrom: %s\nTo: %s\nSubject: %s\n", date, from, to, subject)
	fmt.Fprintf(&h, "Message-ID: <%x.%d@%s>\nMIME-Version: 1.0\n", r.Uint64(), i, pick(r, domains))
	if r.IntN(3) == 0 {
		fmt.Fprintf(&h, "List-Id: %s <%s.%s>\nList-Unsubscribe: <mailto:leave-%x@%s>\nPrecedence: list\n", pick(r, words), pick(r, words), pick(r, domains), r.Uint32(), pick(r, domains))
	}
	fmt.Fprintf(&h, "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n")
	return Message{Header: h.String(), Subject: subject, From: from, Date: date, BodySize: BodySize(r, maxSize)}
}

// bodyText is the repeating text bodies are cut from.
var bodyText = func() []byte {
	r := rand.New(rand.NewPCG(1, 2))
	var b strings.Builder
	for b.Len() < 64<<10 {
		for k := 0; k < 12; k++ {
			b.WriteString(pick(r, words))
			b.WriteByte(' ')
		}
		b.WriteByte('\n')
	}
	return []byte(b.String())
}()

// appendBody appends a body of n bytes to buf, starting at offset off of
// the body text.
func appendBody(buf []byte, n, off int) []byte {
	off %= len(bodyText)
	for n > 0 {
		k := min(n, len(bodyText)-off)
		buf = append(buf, bodyText[off:off+k]...)
		n -= k
		off = 0
	}
	return buf
}

// ParsedHeader holds the fields an index rebuild extracts.
type ParsedHeader struct {
	Subject, From, Date string
}

// ParseHeader extracts Subject, From and Date from the start of a message,
// unfolding continuation lines, and stops at the empty line that ends the
// header or at the end of block.
func ParseHeader(block []byte) ParsedHeader {
	var p ParsedHeader
	var field *string
	for len(block) > 0 {
		line := block
		if i := bytes.IndexByte(block, '\n'); i >= 0 {
			line, block = block[:i], block[i+1:]
		} else {
			block = nil
		}
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		if len(line) == 0 {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			if field != nil {
				*field += " " + strings.TrimSpace(string(line))
			}
			continue
		}
		field = nil
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			continue
		}
		name := line[:colon]
		switch {
		case equalFold(name, "subject"):
			field = &p.Subject
		case equalFold(name, "from"):
			field = &p.From
		case equalFold(name, "date"):
			field = &p.Date
		default:
			continue
		}
		*field = strings.TrimSpace(string(line[colon+1:]))
	}
	return p
}

func equalFold(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := range b {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}
