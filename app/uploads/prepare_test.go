package uploads

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
)

// prepare runs Prepare on b with the default limit in a fresh directory.
func prepare(t *testing.T, b []byte, s Scanner) (*File, string, error) {
	t.Helper()
	dir := t.TempDir()
	f, err := Prepare(context.Background(), bytes.NewReader(b), Limit, dir, s)
	if f != nil {
		t.Cleanup(func() { f.Close() })
	}
	return f, dir, err
}

// assertEmpty fails unless dir has no files: nothing of a refused upload
// may stay on disk.
func assertEmpty(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Fatalf("%d temporary files left in %s, first %s", len(entries), dir, entries[0].Name())
	}
}

// contents reads the whole of f from its start.
func contents(t *testing.T, f *File) []byte {
	t.Helper()
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPrepareDetectsAcceptedTypesByContent(t *testing.T) {
	tests := []struct {
		name string
		file []byte
		want Type
	}{
		{"a PDF is a PDF", pdfOf(600), PDF},
		{"a PNG from image/png is a PNG", pngOf(t), PNG},
		{"a JPEG from image/jpeg is a JPEG", jpegOf(t), JPEG},
		{"a Word document is a DOCX", docxOf(t), DOCX},
		{"a Word document with an embedded spreadsheet for a chart is a DOCX",
			zipOf(t, wordParts(contentTypesXML(mainDocx, `<Default Extension="xlsx" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"/>`),
				part{"word/embeddings/Microsoft_Excel_Worksheet.xlsx", "PK"})...), DOCX},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, _, err := prepare(t, tt.file, nil)
			if err != nil {
				t.Fatalf("Prepare: %v", err)
			}
			if f.Type != tt.want {
				t.Fatalf("Type = %+v, want %+v", f.Type, tt.want)
			}
			got := contents(t, f)
			if f.Size != int64(len(got)) {
				t.Fatalf("Size = %d, file has %d bytes", f.Size, len(got))
			}
			sum := sha256.Sum256(got)
			if f.SHA256 != hex.EncodeToString(sum[:]) {
				t.Fatalf("SHA256 = %s does not describe the file", f.SHA256)
			}
			if (tt.want == PDF || tt.want == DOCX) && !bytes.Equal(got, tt.file) {
				t.Fatalf("%s changed on the way through", tt.want.Ext)
			}
		})
	}
}

func TestPrepareRefusesEverythingElse(t *testing.T) {
	docx := docxOf(t)
	ole := []byte("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1" + strings.Repeat("\x00", 504))
	badCRC := pngOf(t)
	badCRC[len(badCRC)-13] ^= 0xFF // last byte of the IDAT CRC
	jpg := jpegOf(t)

	tests := []struct {
		name string
		file []byte
		want error
	}{
		{"an empty file is empty", nil, ErrEmpty},
		{"SVG after leading whitespace is refused", []byte("  \n\t<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>"), ErrNotAllowed},
		{"HTML after leading whitespace is refused", []byte("\r\n   <html><body><script>alert(1)</script></body></html>"), ErrNotAllowed},
		{"HTML saved as report.pdf is refused, as the name is never consulted", []byte("<!DOCTYPE html><html><title>report.pdf</title></html>"), ErrNotAllowed},
		{"XML is refused", []byte(`<?xml version="1.0"?><note>hello</note>`), ErrNotAllowed},
		{"a PDF signature not at the start is refused", []byte(" %PDF-1.7\n%%EOF"), ErrNotAllowed},
		{"plain text is refused", []byte("Dear family,"), ErrNotAllowed},
		{"a plain zip is refused", zipOf(t, part{"a.txt", "hello"}), ErrNotAllowed},
		{"a macro-enabled document (docm) is refused",
			zipOf(t, wordParts(contentTypesXML(mainDocm, ""), part{"word/vbaProject.bin", "\xD0\xCF\x11\xE0"})...), ErrNotAllowed},
		{"a docm content type without the VBA part is refused", zipOf(t, wordParts(contentTypesXML(mainDocm, ""))...), ErrNotAllowed},
		{"a docx with an added word/vbaProject.bin is refused",
			zipOf(t, wordParts(contentTypesXML(mainDocx, ""), part{"word/vbaProject.bin", "\xD0\xCF\x11\xE0"})...), ErrNotAllowed},
		{"a docx whose VBA project is spelt in capitals is refused",
			zipOf(t, wordParts(contentTypesXML(mainDocx, ""), part{"word/VBAPROJECT.BIN", "x"})...), ErrNotAllowed},
		{"a docx declaring a VBA project content type is refused",
			zipOf(t, wordParts(contentTypesXML(mainDocx, `<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/>`))...), ErrNotAllowed},
		{"a Word template (dotx) is refused", zipOf(t, wordParts(contentTypesXML(mainDotx, ""))...), ErrNotAllowed},
		{"a docx with an embedded OLE object is refused",
			zipOf(t, wordParts(contentTypesXML(mainDocx, `<Default Extension="bin" ContentType="application/vnd.openxmlformats-officedocument.oleObject"/>`),
				part{"word/embeddings/oleObject1.bin", "\xD0\xCF\x11\xE0"})...), ErrNotAllowed},
		{"a docx with an ActiveX control is refused",
			zipOf(t, wordParts(contentTypesXML(mainDocx, `<Override PartName="/word/activeX/activeX1.xml" ContentType="application/vnd.ms-office.activeX+xml"/>`),
				part{"word/activeX/activeX1.xml", "<ax/>"})...), ErrNotAllowed},
		{"a spreadsheet (xlsx) is refused", xlsxOf(t), ErrNotAllowed},
		{"a docx with a spreadsheet main part as well is refused",
			zipOf(t, wordParts(contentTypesXML(mainDocx, `<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>`),
				part{"xl/workbook.xml", "<workbook/>"})...), ErrNotAllowed},
		{"a docx whose main part is missing is refused",
			zipOf(t, wordParts(contentTypesXML(mainDocx, ""))[:1]...), ErrNotAllowed},
		{"a docx with two [Content_Types].xml is refused",
			zipOf(t, append(wordParts(contentTypesXML(mainDocx, "")), part{"[Content_Types].xml", contentTypesXML(mainDocm, "")})...), ErrNotAllowed},
		{"a docx with more than 10,000 entries is refused", manyEntries(t, maxZipEntries), ErrNotAllowed},
		{"a docx whose [Content_Types].xml inflates past 1 MiB is refused",
			zipOf(t, wordParts(contentTypesXML(mainDocx, "<!--"+strings.Repeat("A", maxContentTypes)+"-->"))...), ErrNotAllowed},
		{"a docx behind an executable stub is refused", append([]byte("MZ\x90\x00"+strings.Repeat("\x00", 60)), docx...), ErrNotAllowed},
		{"a truncated docx is refused", docx[:len(docx)/2], ErrNotAllowed},
		{"a docx without its end record is refused", docx[:len(docx)-22], ErrNotAllowed},
		{"a docx whose end record claims 60,000 entries is refused", func() []byte {
			b := append([]byte{}, docx...)
			binary.LittleEndian.PutUint16(b[len(b)-22+10:], 60000)
			return b
		}(), ErrNotAllowed},
		{"an OLE compound file (DOC, or encrypted OOXML) is refused", ole, ErrNotAllowed},
		{"a Windows executable is refused", []byte("MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff"), ErrNotAllowed},
		{"an ELF executable is refused", []byte("\x7fELF\x02\x01\x01\x00"), ErrNotAllowed},
		{"a PNG signature alone is refused", sigPNG, ErrNotAllowed},
		{"a PNG with a bad CRC is refused", badCRC, ErrNotAllowed},
		{"a PNG with a chunk longer than the file is refused", append(append([]byte(nil), sigPNG...), "\x7f\xff\xff\xffIHDR"...), ErrNotAllowed},
		{"a JPEG signature alone is refused", sigJPEG, ErrNotAllowed},
		{"a JPEG without its end is refused", jpg[:len(jpg)-2], ErrNotAllowed},
		{"a JPEG cut in its header is refused", jpg[:40], ErrNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, dir, err := prepare(t, tt.file, nil)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Prepare = %v, %v; want %v", f, err, tt.want)
			}
			if f != nil {
				t.Fatal("a File came back with an error")
			}
			assertEmpty(t, dir)
		})
	}
}

// countingReader counts the bytes the uploader was made to send.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// endless is an upload that never ends.
type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = '0'
	}
	return len(p), nil
}

type scannerFunc func(ctx context.Context, f io.ReaderAt, size int64) error

func (s scannerFunc) Scan(ctx context.Context, f io.ReaderAt, size int64) error {
	return s(ctx, f, size)
}

func TestPrepareLimitLeavesNothingBehind(t *testing.T) {
	const limit = 1024
	infected := scannerFunc(func(context.Context, io.ReaderAt, int64) error {
		return fmt.Errorf("clamd: Eicar-Test-Signature FOUND: %w", ErrInfected)
	})
	tests := []struct {
		name    string
		file    io.Reader
		scanner Scanner
		want    error
	}{
		{"exactly the limit is accepted", bytes.NewReader(pdfOf(limit)), nil, nil},
		{"one byte more than the limit is too large", bytes.NewReader(pdfOf(limit + 1)), nil, ErrTooLarge},
		{"an endless upload is too large after limit+1 bytes", endless{}, nil, ErrTooLarge},
		{"a refused type under the limit leaves nothing", strings.NewReader("<html></html>"), nil, ErrNotAllowed},
		{"a file the scanner refuses at the limit leaves nothing", bytes.NewReader(pdfOf(limit)), infected, ErrInfected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			r := &countingReader{r: tt.file}
			f, err := Prepare(context.Background(), r, limit, dir, tt.scanner)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Prepare: %v, want %v", err, tt.want)
			}
			if r.n > limit+1 {
				t.Fatalf("read %d bytes from the uploader, limit is %d", r.n, limit)
			}
			if tt.want != nil {
				assertEmpty(t, dir)
				return
			}
			if f.Size != limit {
				t.Fatalf("Size = %d", f.Size)
			}
			f.Close()
			assertEmpty(t, dir)
		})
	}
}

func TestPrepareScansTheFinalBytes(t *testing.T) {
	photo := withJPEGSegments(jpegOf(t), exifSegment(binary.BigEndian, 6))
	var scanned []byte
	recorder := scannerFunc(func(_ context.Context, f io.ReaderAt, size int64) error {
		scanned = make([]byte, size)
		_, err := f.ReadAt(scanned, 0)
		return err
	})
	f, _, err := prepare(t, photo, recorder)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(scanned, contents(t, f)) {
		t.Fatal("the scanner saw other bytes than the ones stored")
	}
	if bytes.Contains(scanned, []byte("GPS")) {
		t.Fatal("the scanner saw the bytes before stripping")
	}

	tests := []struct {
		name         string
		scanErr      error
		wantInfected bool
	}{
		{"an infected file is refused as infected", errors.Join(errors.New("clamd: Eicar FOUND"), ErrInfected), true},
		{"a scanner that cannot scan refuses the file, not as infected", errors.New("clamd: connection refused"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := scannerFunc(func(context.Context, io.ReaderAt, int64) error { return tt.scanErr })
			f, dir, err := prepare(t, pdfOf(600), s)
			if err == nil || f != nil {
				t.Fatalf("Prepare = %v, %v", f, err)
			}
			if errors.Is(err, ErrInfected) != tt.wantInfected {
				t.Fatalf("errors.Is(%v, ErrInfected) = %v", err, !tt.wantInfected)
			}
			assertEmpty(t, dir)
		})
	}
}

// cancelAfterFirst cancels its context once the first bytes are read.
type cancelAfterFirst struct {
	r      io.Reader
	cancel context.CancelFunc
}

func (c cancelAfterFirst) Read(p []byte) (int, error) {
	if len(p) > 100 {
		p = p[:100]
	}
	n, err := c.r.Read(p)
	c.cancel()
	return n, err
}

func TestPrepareHonoursTheContext(t *testing.T) {
	tests := []struct {
		name   string
		reader func(cancel context.CancelFunc) io.Reader
		before bool
	}{
		{"a context cancelled before reading reads nothing", func(context.CancelFunc) io.Reader { return endless{} }, true},
		{"a context cancelled while reading stops the read", func(c context.CancelFunc) io.Reader {
			return cancelAfterFirst{bytes.NewReader(pdfOf(10_000)), c}
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.before {
				cancel()
			}
			_, err := Prepare(ctx, tt.reader(cancel), Limit, dir, nil)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Prepare: %v, want context.Canceled", err)
			}
			assertEmpty(t, dir)
		})
	}
}

func TestFileIsPrivateStreamsAndCloses(t *testing.T) {
	want := pdfOf(600)
	f, dir, err := prepare(t, want, nil)
	if err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("%d temporary files, want 1", len(entries))
	}
	info, err := entries[0].Info()
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Fatalf("temporary file mode %v, want 0600", info.Mode().Perm())
	}

	got, err := io.ReadAll(f) // Prepare leaves it at the start
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("Read = %d bytes, %v", len(got), err)
	}
	tail := make([]byte, 6)
	if _, err := f.ReadAt(tail, f.Size-6); err != nil || string(tail) != "%%EOF\n" {
		t.Fatalf("ReadAt = %q, %v", tail, err)
	}

	if err := f.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	assertEmpty(t, dir)
	if _, err := f.Read(make([]byte, 1)); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("Read after Close: %v", err)
	}
}
