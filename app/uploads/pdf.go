package uploads

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"io"
	"regexp"
	"strconv"
)

// Errors of checkPDF; each wraps ErrNotAllowed and has a message of its own.
var (
	// ErrPDFDamaged means the file starts like a PDF but is not one: no
	// cross-reference table where its end says, or no end at all.
	ErrPDFDamaged = fmt.Errorf("%w: not a well-formed PDF", ErrNotAllowed)
	// ErrPDFActive means the PDF holds JavaScript, a Launch action, an
	// embedded file or rich media.
	ErrPDFActive = fmt.Errorf("%w: a PDF with active content", ErrNotAllowed)
	// ErrPDFEncrypted means the PDF is encrypted, so it cannot be checked.
	ErrPDFEncrypted = fmt.Errorf("%w: an encrypted PDF", ErrNotAllowed)
)

const (
	// pdfTail is how much of the end is searched for startxref and %%EOF.
	pdfTail = 2048
	// pdfInflateMax bounds what is decompressed of one stream, and
	// pdfInflateTotal of the whole file, so a compression bomb costs little.
	pdfInflateMax   = 16 << 20
	pdfInflateTotal = 64 << 20
)

var (
	pdfHeader    = regexp.MustCompile(`^%PDF-[12]\.[0-9][\r\n ]`)
	pdfStartXref = regexp.MustCompile(`startxref[\r\n ]+([0-9]{1,12})[\r\n ]+%%EOF[\r\n ]*$`)
	pdfXrefAt    = regexp.MustCompile(`^(xref[\r\n ]|[0-9]+[\r\n ]+[0-9]+[\r\n ]+obj\b)`)
)

// pdfForbidden are the names of active content (ISO 32000 §12.6, §7.11.4,
// §13.6): scripts, actions that start programs, attached files and
// embedded media players; and encryption, which would hide them.
var pdfForbidden = map[string]bool{"JavaScript": true, "JS": true, "Launch": true,
	"EmbeddedFile": true, "EmbeddedFiles": true, "RichMedia": true, "Encrypt": true}

// checkPDF refuses a PDF that does not parse as one (its header, and the
// cross-reference its last startxref points to), that is encrypted, or
// that names active content anywhere: in its objects or inside any
// Flate-compressed stream (object streams included), names written with
// #xx escapes too. Streams under other filters are not looked into; the
// download's sandbox and attachment headers remain the next defence.
func checkPDF(f io.ReaderAt, n int64) error {
	head := make([]byte, 16)
	k, _ := f.ReadAt(head, 0)
	if !pdfHeader.Match(head[:k]) {
		return ErrPDFDamaged
	}
	tail := make([]byte, min(n, pdfTail))
	if _, err := f.ReadAt(tail, n-int64(len(tail))); err != nil && err != io.EOF {
		return fmt.Errorf("uploads: reading spooled file: %w", err)
	}
	m := pdfStartXref.FindSubmatch(tail)
	if m == nil {
		return ErrPDFDamaged
	}
	at, err := strconv.ParseInt(string(m[1]), 10, 64)
	if err != nil || at <= 0 || at >= n {
		return ErrPDFDamaged
	}
	xref := make([]byte, 32)
	k, _ = f.ReadAt(xref, at)
	if !pdfXrefAt.Match(xref[:k]) {
		return ErrPDFDamaged
	}
	return scanPDF(f, n)
}

// scanPDF reads the file once, as a stream, looking for forbidden names
// and noting where each stream's data starts; then it inflates each of
// those that is Flate-compressed and looks through that too.
func scanPDF(f io.ReaderAt, n int64) error {
	raw := &pdfScanner{streams: []int64{}}
	if _, err := io.Copy(raw, io.NewSectionReader(f, 0, n)); err != nil {
		return fmt.Errorf("uploads: reading spooled file: %w", err)
	}
	if err := raw.finish(); err != nil {
		return err
	}
	budget := int64(pdfInflateTotal)
	for _, at := range raw.streams {
		zr, err := zlib.NewReader(io.NewSectionReader(f, at, n-at))
		if err != nil {
			continue // not Flate: an image, or uncompressed (already scanned)
		}
		inner := &pdfScanner{}
		read, _ := io.Copy(inner, io.LimitReader(zr, min(pdfInflateMax, budget)))
		zr.Close()
		if err := inner.finish(); err != nil {
			return err
		}
		if budget -= read; budget <= 0 {
			// Security: more compressed content than is checked is refused,
			// not waved through.
			return ErrPDFActive
		}
	}
	return nil
}

// pdfScanner looks through bytes as they pass (an io.Writer), carrying the
// end of each chunk into the next, so a name split between two chunks is
// still seen whole.
type pdfScanner struct {
	carry   []byte  // the last pdfCarry bytes, not yet scanned as token starts
	buf     []byte  // carry and the new chunk, reused
	pos     int64   // offset of carry[0]
	found   string  // the first forbidden name seen, or ""
	streams []int64 // where stream data starts; nil: not collected
}

// pdfCarry is longer than any name checkPDF looks for, and than "stream\r\n".
const pdfCarry = 64

func (s *pdfScanner) Write(p []byte) (int, error) {
	s.buf = append(append(s.buf[:0], s.carry...), p...)
	done := max(len(s.buf)-pdfCarry, 0)
	s.scan(s.buf, done)
	s.pos += int64(done)
	s.carry = append(s.carry[:0], s.buf[done:]...)
	return len(p), nil
}

// finish scans what is left and returns the error for what was seen:
// ErrPDFEncrypted, ErrPDFActive or nil.
func (s *pdfScanner) finish() error {
	s.scan(s.carry, len(s.carry))
	switch s.found {
	case "":
		return nil
	case "Encrypt":
		return ErrPDFEncrypted
	}
	return ErrPDFActive
}

// scan looks at the tokens of buf that start before limit.
func (s *pdfScanner) scan(buf []byte, limit int) {
	for i := 0; i < limit; i++ {
		switch {
		case buf[i] == '/':
			j := i + 1
			for j < len(buf) && j-i <= 33 && nameChar(buf[j]) {
				j++
			}
			if name := decodeName(buf[i+1 : j]); pdfForbidden[name] && s.found == "" {
				s.found = name
			}
		case s.streams != nil && buf[i] == 's' && bytes.HasPrefix(buf[i:], []byte("stream")):
			rest := buf[i+len("stream"):]
			switch {
			case bytes.HasPrefix(rest, []byte("\r\n")):
				s.streams = append(s.streams, s.pos+int64(i+len("stream\r\n")))
			case bytes.HasPrefix(rest, []byte("\n")):
				s.streams = append(s.streams, s.pos+int64(i+len("stream\n")))
			}
		}
	}
}

// nameChar reports whether c may be part of a PDF name (not white space
// nor a delimiter).
func nameChar(c byte) bool {
	switch c {
	case 0, '\t', '\n', '\f', '\r', ' ', '(', ')', '<', '>', '[', ']', '{', '}', '/', '%':
		return false
	}
	return true
}

// decodeName undoes #xx escapes (/J#61vaScript is /JavaScript).
func decodeName(b []byte) string {
	if bytes.IndexByte(b, '#') < 0 {
		return string(b)
	}
	var out []byte
	for i := 0; i < len(b); i++ {
		if b[i] == '#' && i+2 < len(b) {
			if v, err := strconv.ParseUint(string(b[i+1:i+3]), 16, 8); err == nil {
				out = append(out, byte(v))
				i += 2
				continue
			}
		}
		out = append(out, b[i])
	}
	return string(out)
}
