package report_test

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"

	"rsc.io/pdf"
)

// pdfPage is what a test reads of a printed page: its size in points and
// its text, in drawing order.
type pdfPage struct {
	Width, Height float64
	Text          string
}

// readPDF returns the pages of the PDF file at path. Chromium writes text
// with two-byte glyph codes (Identity-H) and a ToUnicode map per font;
// rsc.io/pdf reads the file's objects, and the text operators of the
// content streams are read here, as rsc.io/pdf's own text extraction
// reads strings as UTF-8 and loses glyph codes of 0x80 and above.
func readPDF(path string) (pages []pdfPage, err error) {
	defer func() {
		// rsc.io/pdf panics on malformed input; a test reports it.
		if r := recover(); r != nil {
			err = fmt.Errorf("reading %s: %v", path, r)
		}
	}()
	r, err := pdf.Open(path)
	if err != nil {
		return nil, err
	}
	for i := 1; i <= r.NumPage(); i++ {
		p := r.Page(i)
		box := mediaBox(p)
		pg := pdfPage{Width: box.Index(2).Float64() - box.Index(0).Float64(), Height: box.Index(3).Float64() - box.Index(1).Float64()}
		maps := map[string]map[int]string{}
		for _, name := range p.Fonts() {
			maps[name] = toUnicode(p.Font(name).V.Key("ToUnicode"))
		}
		var b strings.Builder
		showText(contents(p.V.Key("Contents")), func(font string, code []byte) {
			m := maps[font]
			if m == nil {
				b.Write(code)
				return
			}
			for i := 0; i+1 < len(code); i += 2 {
				b.WriteString(m[int(code[i])<<8|int(code[i+1])])
			}
		})
		pg.Text = b.String()
		pages = append(pages, pg)
	}
	return pages, nil
}

// toUnicode parses a ToUnicode CMap stream: its bfchar and bfrange
// entries.
func toUnicode(v pdf.Value) map[int]string {
	if v.IsNull() {
		return nil
	}
	rc := v.Reader()
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return nil
	}
	out := map[int]string{}
	hex := func(s string) (int, bool) {
		s = strings.Trim(s, "<>")
		n, err := strconv.ParseUint(s, 16, 32)
		return int(n), err == nil
	}
	utf16 := func(s string) string {
		s = strings.Trim(s, "<>")
		var rs []rune
		for i := 0; i+4 <= len(s); i += 4 {
			n, _ := strconv.ParseUint(s[i:i+4], 16, 16)
			rs = append(rs, rune(n))
		}
		return string(rs)
	}
	mode := ""
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 2 && f[1] == "beginbfchar", len(f) == 2 && f[1] == "beginbfrange":
			mode = f[1]
		case len(f) == 1 && strings.HasPrefix(f[0], "end"):
			mode = ""
		case mode == "beginbfchar" && len(f) == 2:
			if c, ok := hex(f[0]); ok {
				out[c] = utf16(f[1])
			}
		case mode == "beginbfrange" && len(f) == 3 && !strings.HasPrefix(f[2], "["):
			lo, ok1 := hex(f[0])
			hi, ok2 := hex(f[1])
			start := []rune(utf16(f[2]))
			if ok1 && ok2 && len(start) == 1 {
				for c := lo; c <= hi; c++ {
					out[c] = string(start[0] + rune(c-lo))
				}
			}
		}
	}
	return out
}

// mediaBox returns a page's MediaBox, which a page may inherit from its
// parents.
func mediaBox(p pdf.Page) pdf.Value {
	for v := p.V; !v.IsNull(); v = v.Key("Parent") {
		if b := v.Key("MediaBox"); !b.IsNull() {
			return b
		}
	}
	return pdf.Value{}
}

// contents returns a page's content streams, concatenated.
func contents(v pdf.Value) []byte {
	var out []byte
	read := func(v pdf.Value) {
		rc := v.Reader()
		defer rc.Close()
		b, _ := io.ReadAll(rc)
		out = append(append(out, b...), '\n')
	}
	if v.Kind() == pdf.Array {
		for i := 0; i < v.Len(); i++ {
			read(v.Index(i))
		}
	} else if !v.IsNull() {
		read(v)
	}
	return out
}

// showText calls show with the font resource name and the bytes of every
// string that the content stream shows (Tj, TJ, ' and "), in order.
// Only what text extraction needs is tokenized: names, strings, arrays
// and operators; numbers and everything else pass as operands.
func showText(data []byte, show func(font string, code []byte)) {
	var operands [][]byte // strings and names since the last operator
	font := ""
	i := 0
	for i < len(data) {
		c := data[i]
		switch {
		case c == '%':
			for i < len(data) && data[i] != '\n' && data[i] != '\r' {
				i++
			}
		case c == '/':
			j := i + 1
			for j < len(data) && !isDelim(data[j]) {
				j++
			}
			operands = append(operands, data[i:j])
			i = j
		case c == '<' && i+1 < len(data) && data[i+1] == '<':
			i += 2
		case c == '>' && i+1 < len(data) && data[i+1] == '>':
			i += 2
		case c == '<':
			j := i + 1
			var hexDigits []byte
			for j < len(data) && data[j] != '>' {
				if !isSpace(data[j]) {
					hexDigits = append(hexDigits, data[j])
				}
				j++
			}
			if len(hexDigits)%2 == 1 {
				hexDigits = append(hexDigits, '0')
			}
			b := make([]byte, len(hexDigits)/2)
			for k := range b {
				n, _ := strconv.ParseUint(string(hexDigits[2*k:2*k+2]), 16, 8)
				b[k] = byte(n)
			}
			operands = append(operands, append([]byte{0}, b...)) // 0 marks a string
			i = j + 1
		case c == '(':
			var b []byte
			depth := 1
			j := i + 1
			for j < len(data) && depth > 0 {
				switch data[j] {
				case '\\':
					j++
					if j < len(data) {
						switch e := data[j]; e {
						case 'n':
							b = append(b, '\n')
						case 'r':
							b = append(b, '\r')
						case 't':
							b = append(b, '\t')
						case 'b':
							b = append(b, '\b')
						case 'f':
							b = append(b, '\f')
						case '0', '1', '2', '3', '4', '5', '6', '7':
							k := j
							for k < len(data) && k < j+3 && data[k] >= '0' && data[k] <= '7' {
								k++
							}
							n, _ := strconv.ParseUint(string(data[j:k]), 8, 8)
							b = append(b, byte(n))
							j = k - 1
						default:
							b = append(b, e)
						}
					}
				case '(':
					depth++
					b = append(b, '(')
				case ')':
					depth--
					if depth > 0 {
						b = append(b, ')')
					}
				default:
					b = append(b, data[j])
				}
				j++
			}
			operands = append(operands, append([]byte{0}, b...))
			i = j
		case c == '[' || c == ']' || isSpace(c):
			i++
		default:
			j := i
			for j < len(data) && !isDelim(data[j]) {
				j++
			}
			if j == i {
				j++
			}
			tok := string(data[i:j])
			i = j
			if tok[0] >= 'a' && tok[0] <= 'z' || tok[0] >= 'A' && tok[0] <= 'Z' || tok == "'" || tok == "\"" {
				switch tok {
				case "Tf":
					for k := len(operands) - 1; k >= 0; k-- {
						if operands[k][0] == '/' {
							font = string(operands[k][1:])
							break
						}
					}
				case "Tj", "TJ", "'", "\"":
					for _, o := range operands {
						if o[0] == 0 {
							show(font, o[1:])
						}
					}
				}
				operands = operands[:0]
			}
		}
	}
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == 0
}

func isDelim(c byte) bool {
	return isSpace(c) || strings.IndexByte("()<>[]{}/%", c) >= 0
}
