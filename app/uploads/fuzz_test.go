package uploads

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash/crc32"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"portal/app/uploads/uploadtest"
)

// Fuzz targets for everything here that reads an uploader's bytes. Seeds
// are added below and kept in testdata/fuzz/<target>; make fuzz runs each
// target for longer, and a plain go test runs the seeds as regression
// tests. Each target checks what must hold of any input, beyond not
// panicking.

// fuzzMax bounds a fuzz input, so one input costs at most a few
// milliseconds and memory stays bounded (the code's own bounds are tested
// at full size in the other tests).
const fuzzMax = 1 << 20

// pdfActiveName is a forbidden name written out plainly, delimited as the
// PDF syntax delimits names: checkPDF must never accept a file holding one.
var pdfActiveName = regexp.MustCompile(`/(JavaScript|JS|Launch|EmbeddedFiles?|RichMedia|Encrypt)([\x00\t\n\f\r ()<>\[\]{}/%]|$)`)

// addUploadSeeds adds a file of every kind, clean and carrying what must go.
func addUploadSeeds(f *testing.F) {
	j := jpegOf(f)
	p := pngOf(f)
	for _, b := range [][]byte{
		uploadtest.JPEGWithLocation(16, 8),
		withJPEGSegments(j, jfifSegment, exifSegment(binary.LittleEndian, 6), xmpSegment, commentSegment, iptcSegment, iccSegment, adobeSegment),
		withJPEGSegments(j, exifSegment(binary.BigEndian, 8)),
		withPNGChunks(p, [][]byte{pngChunk("eXIf", []byte("MM\x00*GPS")), pngChunk("gAMA", []byte{0, 0, 0xb1, 0x8f})},
			[][]byte{pngChunk("tEXt", []byte("Comment\x00Home address")), pngChunk("tIME", make([]byte, 7))}),
		p,
		uploadtest.PDF(uploadtest.MinPDF, ""),
		uploadtest.PDF(1200, "<< /Type /Action /S /JavaScript /JS (app.alert(1)) >>"),
		uploadtest.Assemble("%PDF-1.7\n", []string{"<< /Type /Catalog >>", flated("<< /S /J#61vaScript >>")}, ""),
		docxOf(f),
		zipOf(f, wordParts(contentTypesXML(mainDocm, ""))...),
		zipOf(f, withParts(wordParts(contentTypesXML(mainDocx, "")), part{"word/document.xml", documentXML(field("x", "DDEAUTO c:\\\\windows\\\\calc.exe"))})...),
		[]byte("<svg xmlns='http://www.w3.org/2000/svg'/>"),
		{},
	} {
		f.Add(b)
	}
}

// FuzzDetect: detection never claims a type whose magic is absent, every
// refusal is ErrNotAllowed, and a PDF accepted names no active content.
func FuzzDetect(f *testing.F) {
	addUploadSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > fuzzMax {
			t.Skip()
		}
		typ, err := detect(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			if !errors.Is(err, ErrNotAllowed) {
				t.Fatalf("refusal %v is not ErrNotAllowed", err)
			}
			return
		}
		magic := map[Type][]byte{PDF: sigPDF, PNG: sigPNG, JPEG: sigJPEG, DOCX: sigZIP}[typ]
		if magic == nil || !bytes.HasPrefix(b, magic) {
			t.Fatalf("detected %v without its magic", typ)
		}
		if typ == PDF && pdfActiveName.Match(b) {
			t.Fatalf("a PDF naming %q was accepted", pdfActiveName.Find(b))
		}
	})
}

// FuzzCheckPDF: a PDF accepted has the header and names no active content
// in plain sight; a refusal is one of the PDF errors.
func FuzzCheckPDF(f *testing.F) {
	good := uploadtest.PDF(uploadtest.MinPDF, "")
	f.Add(good)
	f.Add(uploadtest.PDF(3000, "<< /Type /Annot /Subtype /Link /A << /S /URI /URI (https://example.org) >> >>"))
	f.Add(uploadtest.PDF(2000, "<< /Type /EmbeddedFile /Length 0 >>"))
	f.Add(uploadtest.PDF(2000, "<< /Encrypt 5 0 R >>"))
	f.Add(uploadtest.Assemble("%PDF-1.7\n", []string{"<< /Type /Catalog >>", flated("<< /S /Launch >>")}, ""))
	f.Add(bytes.Replace(good, []byte("startxref\n"), []byte("startxref\n1"), 1))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > fuzzMax {
			t.Skip()
		}
		err := checkPDF(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			if !errors.Is(err, ErrPDFDamaged) && !errors.Is(err, ErrPDFActive) && !errors.Is(err, ErrPDFEncrypted) {
				t.Fatalf("refusal %v is none of the PDF errors", err)
			}
			return
		}
		if !pdfHeader.Match(b) {
			t.Fatal("accepted without a PDF header")
		}
		if pdfActiveName.Match(b) {
			t.Fatalf("a PDF naming %q was accepted", pdfActiveName.Find(b))
		}
	})
}

// FuzzCheckDOCX: a document accepted is a ZIP with one [Content_Types].xml,
// no duplicate names and no VBA project; a refusal is ErrNotAllowed.
func FuzzCheckDOCX(f *testing.F) {
	f.Add(docxOf(f))
	f.Add(xlsxOf(f))
	f.Add(zipOf(f, wordParts(contentTypesXML(mainDotx, ""))...))
	f.Add(zipOf(f, withParts(wordParts(contentTypesXML(mainDocx, "")), part{"word/vbaProject.bin", "Attribute VB_Name"})...))
	f.Add(zipOf(f, withParts(wordParts(contentTypesXML(mainDocx, "")),
		part{"word/_rels/document.xml.rels", relsXML(rel("rId9", "attachedTemplate", "https://example.org/t.dotm", "External"))})...))
	f.Add(zipOf(f, withParts(wordParts(contentTypesXML(mainDocx, "")),
		part{"word/document.xml", documentXML(field("x", "INCLUDEPICTURE ", nested("QUOTE http://x"), " \\d"))})...))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > fuzzMax {
			t.Skip()
		}
		err := checkDOCX(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			if !errors.Is(err, ErrNotAllowed) {
				t.Fatalf("refusal %v is not ErrNotAllowed", err)
			}
			return
		}
		zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatalf("accepted, but not a ZIP: %v", err)
		}
		seen := map[string]bool{}
		for _, e := range zr.File {
			name := strings.ToLower(e.Name)
			if seen[name] {
				t.Fatalf("accepted with two entries named %q", e.Name)
			}
			seen[name] = true
			if strings.HasSuffix(name, "vbaproject.bin") {
				t.Fatal("accepted with a VBA project")
			}
		}
		if !seen["[content_types].xml"] {
			t.Fatal("accepted without [Content_Types].xml")
		}
	})
}

// FuzzStripJPEG: what stripJPEG writes is a JPEG of allowed segments only
// (no Exif but a minimal Orientation, no XMP, comments, IPTC or anything
// after EOI), no longer than the input but for the minimal Exif, and
// stripping it again changes nothing.
func FuzzStripJPEG(f *testing.F) {
	j := jpegOf(f)
	f.Add(j)
	f.Add(uploadtest.JPEGWithLocation(16, 8))
	f.Add(withJPEGSegments(j, jfifSegment, exifSegment(binary.LittleEndian, 6), xmpSegment, commentSegment, iptcSegment, iccSegment, adobeSegment))
	f.Add(withJPEGSegments(j, exifSegment(binary.BigEndian, 1), exifSegment(binary.BigEndian, 3)))
	f.Add(append(withJPEGSegments(j, jpegSegment(0xE0, []byte("JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x02\x02abcdefghijkl"))), "<html>"...))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > fuzzMax {
			t.Skip()
		}
		var out bytes.Buffer
		if err := stripJPEG(bytes.NewReader(b), &out); err != nil {
			if !errors.Is(err, ErrNotAllowed) {
				t.Fatalf("refusal %v is not ErrNotAllowed", err)
			}
			return
		}
		got := out.Bytes()
		if len(got) > len(b)+len(minimalExif(binary.BigEndian, 6))+4 {
			t.Fatalf("stripped %d bytes into %d", len(b), len(got))
		}
		if typ, err := detect(bytes.NewReader(got), int64(len(got))); err != nil || typ != JPEG {
			t.Fatalf("stripped output detected as %v, %v", typ, err)
		}
		assertOnlyKeptSegments(t, got)
		var again bytes.Buffer
		if err := stripJPEG(bytes.NewReader(got), &again); err != nil || !bytes.Equal(again.Bytes(), got) {
			t.Fatalf("stripping the output again: %v, changed %t", err, !bytes.Equal(again.Bytes(), got))
		}
	})
}

// assertOnlyKeptSegments walks the marker segments of a stripped JPEG up to
// its first scan, and fails on any segment the allowlist does not keep.
func assertOnlyKeptSegments(t *testing.T, j []byte) {
	t.Helper()
	if !bytes.HasSuffix(j, []byte{0xFF, mEOI}) {
		t.Fatal("stripped output does not end at EOI")
	}
	for i := 2; i+4 <= len(j); {
		if j[i] != 0xFF {
			t.Fatalf("no marker at %d of the stripped output", i)
		}
		m := j[i+1]
		if m >= mRST0 && m <= mRST7 {
			i += 2
			continue
		}
		n := int(binary.BigEndian.Uint16(j[i+2:]))
		if i+2+n > len(j) {
			t.Fatalf("segment %#x runs past the end", m)
		}
		payload := j[i+4 : i+2+n]
		switch {
		case m == mAPP0:
			if len(payload) != 14 || !bytes.HasPrefix(payload, prefixJFIF) || payload[12] != 0 || payload[13] != 0 {
				t.Fatalf("APP0 kept other than a JFIF header without thumbnail: %q", payload)
			}
		case m == mAPP1:
			if order, v, ok := exifOrientation(payload[min(len(prefixExif), len(payload)):]); !ok ||
				!bytes.Equal(payload, minimalExif(order, v)) || v == 1 {
				t.Fatalf("APP1 kept other than a minimal Orientation: %q", payload)
			}
		case m == mAPP2 && bytes.HasPrefix(payload, prefixICC), m == mAPPE && bytes.HasPrefix(payload, prefixAdobe):
		case jpegDecodes(m):
		default:
			t.Fatalf("segment %#x kept: %q", m, payload)
		}
		if m == mSOS {
			return // the entropy-coded data follows; the walk tested its copy
		}
		i += 2 + n
	}
}

// FuzzStripPNG: what stripPNG writes is a PNG of allowed chunks only, each
// with a correct CRC and a size it may have, from IHDR to IEND, no longer
// than the input, and stripping it again changes nothing.
func FuzzStripPNG(f *testing.F) {
	p := pngOf(f)
	f.Add(p)
	f.Add(withPNGChunks(p, [][]byte{pngChunk("eXIf", []byte("MM\x00*GPS")), pngChunk("iCCP", append([]byte("icc\x00\x00"), zlibOf("profile")...))},
		[][]byte{pngChunk("tEXt", []byte("Comment\x00Home address")), pngChunk("tIME", make([]byte, 7)), pngChunk("caBX", []byte("c2pa"))}))
	f.Add(withPNGChunks(p, [][]byte{pngChunk("gAMA", []byte{0, 0, 0xb1, 0x8f, 0}), pngChunk("sRGB", []byte{0})}, nil))
	f.Add(append(append([]byte(nil), p...), "<html>"...))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > fuzzMax {
			t.Skip()
		}
		var out bytes.Buffer
		if err := stripPNG(bytes.NewReader(b), int64(len(b)), &out); err != nil {
			if !errors.Is(err, ErrNotAllowed) {
				t.Fatalf("refusal %v is not ErrNotAllowed", err)
			}
			return
		}
		got := out.Bytes()
		if len(got) > len(b) {
			t.Fatalf("stripped %d bytes into %d", len(b), len(got))
		}
		if typ, err := detect(bytes.NewReader(got), int64(len(got))); err != nil || typ != PNG {
			t.Fatalf("stripped output detected as %v, %v", typ, err)
		}
		assertOnlyKeptChunks(t, got)
		var again bytes.Buffer
		if err := stripPNG(bytes.NewReader(got), int64(len(got)), &again); err != nil || !bytes.Equal(again.Bytes(), got) {
			t.Fatalf("stripping the output again: %v, changed %t", err, !bytes.Equal(again.Bytes(), got))
		}
	})
}

// assertOnlyKeptChunks walks a stripped PNG's chunks.
func assertOnlyKeptChunks(t *testing.T, p []byte) {
	t.Helper()
	i := len(sigPNG)
	for first := true; ; first = false {
		if i+12 > len(p) {
			t.Fatal("stripped output ends inside a chunk")
		}
		n := int64(binary.BigEndian.Uint32(p[i:]))
		typ := string(p[i+4 : i+8])
		size, ok := pngKept[typ]
		if !ok || n < size.min || n > size.max || int64(len(p)-i-12) < n {
			t.Fatalf("chunk %q of %d bytes kept", typ, n)
		}
		if first && typ != "IHDR" {
			t.Fatalf("first chunk %q", typ)
		}
		end := i + 8 + int(n)
		if binary.BigEndian.Uint32(p[end:]) != crc32.ChecksumIEEE(p[i+4:end]) {
			t.Fatalf("chunk %q kept with a wrong CRC", typ)
		}
		i = end + 4
		if typ == "IEND" {
			if i != len(p) {
				t.Fatalf("%d bytes kept after IEND", len(p)-i)
			}
			return
		}
	}
}

// FuzzPrepare runs a whole upload: a file accepted is one of the four
// types, re-detected as the type it was given, described by its Size and
// SHA256, an image no longer than the upload but for a minimal Exif; and
// nothing of any upload, accepted or refused, stays on disk after Close.
func FuzzPrepare(f *testing.F) {
	addUploadSeeds(f)
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > fuzzMax {
			t.Skip()
		}
		file, err := Prepare(context.Background(), bytes.NewReader(b), 0, dir, nil)
		if err != nil {
			if file != nil {
				t.Fatal("a refusal returned a file")
			}
			if !errors.Is(err, ErrNotAllowed) && !errors.Is(err, ErrEmpty) {
				t.Fatalf("refusal %v is not ErrNotAllowed or ErrEmpty", err)
			}
			assertNoTemporaryFiles(t, dir)
			return
		}
		got, rerr := io.ReadAll(file)
		closeErr := file.Close()
		if rerr != nil || closeErr != nil {
			t.Fatalf("reading %v, closing %v", rerr, closeErr)
		}
		assertNoTemporaryFiles(t, dir)
		sum := sha256.Sum256(got)
		if int64(len(got)) != file.Size || hex.EncodeToString(sum[:]) != file.SHA256 {
			t.Fatalf("Size %d and SHA256 %s do not describe the %d bytes", file.Size, file.SHA256, len(got))
		}
		if typ, err := detect(bytes.NewReader(got), int64(len(got))); err != nil || typ != file.Type {
			t.Fatalf("prepared as %v, re-detected as %v, %v", file.Type, typ, err)
		}
		switch file.Type {
		case JPEG:
			if len(got) > len(b)+len(minimalExif(binary.BigEndian, 6))+4 {
				t.Fatalf("a JPEG grew from %d to %d bytes", len(b), len(got))
			}
		case PNG:
			if len(got) > len(b) {
				t.Fatalf("a PNG grew from %d to %d bytes", len(b), len(got))
			}
		default:
			if !bytes.Equal(got, b) {
				t.Fatal("a document was rewritten")
			}
		}
	})
}

func assertNoTemporaryFiles(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Fatalf("%d temporary files left behind", len(entries))
	}
}

// FuzzSafeFileName: a name from any uploader's name is valid UTF-8, ends
// in the type's extension, has no path, control or format characters, none
// of <>:"/\|?*, no leading dot or space, is no Windows device name, and
// cleaning it again changes nothing; its Content-Disposition is one line
// that its quoted name cannot end early.
func FuzzSafeFileName(f *testing.F) {
	for _, s := range []string{"report.PDF", "photo.jpeg", "notes.txt", "..\\..\\evil.pdf", "invoice\u202efdp.exe", "CON.pdf",
		"a\x00b\r\nc", "\xff\xfe.pdf", " . ", strings.Repeat("é", 150) + ".pdf", `q"uo\te%.pdf`} {
		f.Add(s, "fallback", uint8(0))
	}
	types := []Type{PDF, DOCX, JPEG, PNG}
	f.Fuzz(func(t *testing.T, name, fallback string, k uint8) {
		if len(name)+len(fallback) > fuzzMax {
			t.Skip()
		}
		typ := types[int(k)%len(types)]
		got := SafeFileName(name, fallback, typ)
		stem := strings.TrimSuffix(got, typ.Ext)
		switch {
		case !utf8.ValidString(got), !strings.HasSuffix(got, typ.Ext), stem == "":
			t.Fatalf("SafeFileName(%q) = %q", name, got)
		case strings.ContainsAny(got, `<>:"/\|?*`), strings.ContainsFunc(got, func(r rune) bool {
			return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Zl, r) || unicode.Is(unicode.Zp, r)
		}):
			t.Fatalf("SafeFileName(%q) = %q keeps a reserved or invisible character", name, got)
		case strings.HasPrefix(got, ".") || strings.HasPrefix(got, " ") || isDeviceName(stem):
			t.Fatalf("SafeFileName(%q) = %q", name, got)
		case utf8.RuneCountInString(stem) > maxNameRunes+len(".jpeg"):
			t.Fatalf("SafeFileName(%q) = %q is too long", name, got)
		}
		if again := SafeFileName(got, "", typ); again != got {
			t.Fatalf("SafeFileName(%q) = %q, and again %q", name, got, again)
		}
		cd := ContentDisposition(got)
		quoted, _, ok := strings.Cut(strings.TrimPrefix(cd, `attachment; filename="`), `"; filename*=UTF-8''`)
		if !ok || strings.ContainsAny(quoted, "\"\\%\r\n") || strings.ContainsFunc(cd, func(r rune) bool { return r < 0x20 || r >= 0x7F }) {
			t.Fatalf("ContentDisposition(%q) = %q", got, cd)
		}
	})
}
