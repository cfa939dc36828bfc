// Package dovecotlog classifies the error and warning lines of Dovecot 2.3's
// own log into a fixed set of classes, one metric each
// (dovecot.errors.<class>), so that a testbed of Dovecot backends sharing
// Maildir and index files over NFS can count index, cache, uidlist, NFS and
// locking trouble per backend.
//
// # Input
//
// The input is a log file written by Dovecot's log process with
// log_path = <file>. Each line is
//
//	<timestamp><prefix>: <Level>: <message>
//
// where the timestamp comes from log_timestamp (default "%b %d %H:%M:%S ",
// e.g. "Dec 05 10:00:01 "), the prefix names the process (for mail processes
// mail_log_prefix, default "%s(%u)<%{pid}><%{session}>: ", e.g.
// "imap(user001@example.net)<4711><AbCdEfGh>"), and Level is one of Debug,
// Info, Warning, Error, Fatal, Panic (lib/failures.c). Index, cache and
// storage errors carry a further "Mailbox <name>: " before the message.
//
// Timestamps are recognised in two shapes, each with an optional fraction of
// a second: "Dec 05 10:00:01" (no year: At has year 0) and
// "2024-12-05 10:00:01". For microseconds, configure
//
//	log_timestamp = "%Y-%m-%d %H:%M:%S.%{usecs} "
//
// Dovecot 2.3 replaces %{usecs} in log_timestamp with six digits of
// microseconds (lib/failures.c i_set_failure_timestamp_format); the setting
// is a plain string, not variable-expanded. With log_path the time is when
// the log process read the line, so lines read together share a timestamp.
// Times are the backend's wall clock, returned in UTC location.
//
// # Classes
//
// Error, Fatal and Panic lines are classified by message fragments; those
// matching no class count as Other. Warning lines count only when they match
// a class (fsck, duplicate uidlist entries, reappeared messages, lost locks,
// slow locks, lost logs); other warnings, and Info and Debug lines, are not
// counted. Each line counts once, under the first matching class in rule
// order (see the rules table for the source file each fragment comes from).
// A delivery that fails on a lock timeout is logged by the deliver log at
// Info level ("save failed to INBOX: Timeout while waiting for lock",
// lib-lda/mail-deliver.c) and so is not counted here.
//
// # Limits
//
// Lines longer than MaxLineLen bytes are truncated to their first MaxLineLen
// bytes, classified on that prefix, and marked Truncated; the rest of the
// line is discarded, so Parse holds at most one line of that size at a time
// plus the Text of the lines it returns.
package dovecotlog

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"time"
)

// Levels of the lines Parse returns (Dovecot's failure_log_type_prefixes
// without the ": ").
const (
	LevelWarning = "Warning"
	LevelError   = "Error"
	LevelFatal   = "Fatal"
	LevelPanic   = "Panic"
)

// MaxLineLen is the longest line Parse keeps; longer lines are truncated.
const MaxLineLen = 64 << 10

// Line is one classified log line.
type Line struct {
	At        time.Time // zero if the line has no recognised timestamp
	Backend   string    // as given to Parse or ParseLine
	Prefix    string    // process prefix, e.g. "imap(user)<pid><session>"
	Level     string    // LevelWarning, LevelError, LevelFatal or LevelPanic
	Class     Class
	Text      string // the message after "<Level>: "
	Truncated bool   // the line was longer than MaxLineLen
}

// levels are the Dovecot log type names, in lib/failures.c order.
var levels = [...]string{"Debug", "Info", LevelWarning, LevelError, LevelFatal, LevelPanic}

// classify returns the class of a message logged at level.
func classify(level, msg string) Class {
	switch level {
	case LevelError, LevelFatal, LevelPanic:
		if c := match(msg); c != "" {
			return c
		}
		return Other
	case LevelWarning:
		return match(msg)
	}
	return ""
}

// Classify returns the class of one Dovecot log line, or "" if the line is
// not an error or warning worth counting. s may be a whole line, with or
// without timestamp and prefix, or start at the level ("Error: ..."). If s
// has no level marker at all it is taken as a bare message: Classify then
// returns the class its fragments match, or "" (never Other, since nothing
// says it is an error).
func Classify(s string) Class {
	_, rest := splitTime(s)
	_, level, msg, ok := splitLevel(rest)
	if !ok {
		return match(s)
	}
	return classify(level, msg)
}

// ParseLine splits and classifies one log line (without its newline). ok is
// false for lines that are not counted: Info and Debug lines, warnings
// matching no class, and lines without a level marker.
func ParseLine(s, backend string) (l Line, ok bool) {
	at, rest := splitTime(s)
	prefix, level, msg, ok := splitLevel(rest)
	if !ok {
		return Line{}, false
	}
	c := classify(level, msg)
	if c == "" {
		return Line{}, false
	}
	return Line{At: at, Backend: backend, Prefix: prefix, Level: level, Class: c, Text: msg}, true
}

// Parse reads a Dovecot log file and returns its counted lines, in file
// order, tagged with backend. Lines that are not counted (see ParseLine) are
// skipped; the only errors are the reader's.
func Parse(r io.Reader, backend string) ([]Line, error) {
	br := bufio.NewReaderSize(r, 16<<10)
	var (
		lines []Line
		buf   []byte
	)
	for {
		line, truncated, more, err := readLine(br, buf[:0])
		buf = line
		if more {
			if l, ok := ParseLine(string(line), backend); ok {
				l.Truncated = truncated
				lines = append(lines, l)
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return lines, nil
			}
			return lines, err
		}
	}
}

// readLine appends the next line of br to buf, without its "\n" or "\r\n",
// keeping at most MaxLineLen bytes and discarding the rest. more is false
// when no line was read (end of input).
func readLine(br *bufio.Reader, buf []byte) (line []byte, truncated, more bool, err error) {
	for {
		frag, err := br.ReadSlice('\n')
		if len(frag) > 0 {
			more = true
		}
		end := err == nil // frag ends with the newline
		if end {
			frag = frag[:len(frag)-1]
		}
		if n := MaxLineLen - len(buf); len(frag) > n {
			frag = frag[:n]
			truncated = true
		}
		buf = append(buf, frag...)
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if end || err != nil {
			if !truncated && len(buf) > 0 && buf[len(buf)-1] == '\r' {
				buf = buf[:len(buf)-1]
			}
			return buf, truncated, more, err
		}
	}
}

// Count returns the number of lines per class, in Classes order, and their
// total. Lines whose Class is not in Classes are counted as Other.
func Count(lines []Line) (perClass []int, total int) {
	perClass = make([]int, len(classes))
	other := Other.index()
	for _, l := range lines {
		i := l.Class.index()
		if i < 0 {
			i = other
		}
		perClass[i]++
		total++
	}
	return perClass, total
}

// splitLevel splits "<prefix>: <Level>: <msg>" (or "<Level>: <msg>") at the
// first level marker.
func splitLevel(s string) (prefix, level, msg string, ok bool) {
	if level, msg, ok := cutLevel(s); ok {
		return "", level, msg, true
	}
	for i := 0; ; {
		j := strings.Index(s[i:], ": ")
		if j < 0 {
			return "", "", "", false
		}
		i += j
		if level, msg, ok := cutLevel(s[i+2:]); ok {
			return s[:i], level, msg, true
		}
		i++
	}
}

// cutLevel cuts a leading "<Level>: " from s.
func cutLevel(s string) (level, msg string, ok bool) {
	for _, l := range levels {
		if len(s) > len(l)+1 && s[:len(l)] == l && s[len(l)] == ':' && s[len(l)+1] == ' ' {
			return l, s[len(l)+2:], true
		}
		if len(s) == len(l)+1 && s[:len(l)] == l && s[len(l)] == ':' {
			return l, "", true
		}
	}
	return "", "", false
}

var months = [...]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// splitTime cuts a leading timestamp and the space after it. Recognised:
// "2006-01-02 15:04:05" and "Jan 02 15:04:05" (also "Jan  2"), each with an
// optional ".<digits>" fraction. Anything else leaves s whole.
func splitTime(s string) (time.Time, string) {
	var (
		year, month, day int
		clock            string
		ok               bool
	)
	switch {
	case len(s) >= 19 && s[4] == '-' && s[7] == '-' && s[10] == ' ':
		if year, ok = digits(s[0:4]); !ok {
			return time.Time{}, s
		}
		if month, ok = digits(s[5:7]); !ok {
			return time.Time{}, s
		}
		if day, ok = digits(s[8:10]); !ok {
			return time.Time{}, s
		}
		clock = s[11:]
	case len(s) >= 15 && s[3] == ' ' && s[6] == ' ':
		for i, m := range months {
			if s[:3] == m {
				month = i + 1
			}
		}
		if month == 0 {
			return time.Time{}, s
		}
		d := s[4:6]
		if d[0] == ' ' {
			d = d[1:]
		}
		if day, ok = digits(d); !ok {
			return time.Time{}, s
		}
		clock = s[7:]
	default:
		return time.Time{}, s
	}
	if len(clock) < 8 || clock[2] != ':' || clock[5] != ':' {
		return time.Time{}, s
	}
	hh, ok1 := digits(clock[0:2])
	mm, ok2 := digits(clock[3:5])
	ss, ok3 := digits(clock[6:8])
	if !ok1 || !ok2 || !ok3 || month < 1 || month > 12 || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 59 {
		return time.Time{}, s
	}
	rest := clock[8:]
	nsec := 0
	if len(rest) > 0 && rest[0] == '.' {
		n := 1
		for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
			n++
		}
		if n == 1 || n > 10 {
			return time.Time{}, s
		}
		frac := rest[1:n]
		nsec, _ = digits(frac)
		for i := len(frac); i < 9; i++ {
			nsec *= 10
		}
		rest = rest[n:]
	}
	if len(rest) == 0 || rest[0] != ' ' {
		return time.Time{}, s
	}
	t := time.Date(year, time.Month(month), day, hh, mm, ss, nsec, time.UTC)
	if t.Day() != day {
		return time.Time{}, s // no such date, e.g. Feb 30
	}
	return t, rest[1:]
}

// digits parses a short run of ASCII digits.
func digits(s string) (int, bool) {
	if s == "" {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}
