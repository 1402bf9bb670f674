package uploads

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"encoding/xml"
	"fmt"
	"io"
	"path"
	"strings"
)

const (
	// maxZipEntries bounds the entries of a DOCX; Word documents have tens.
	maxZipEntries = 10_000
	// maxContentTypes bounds how much of [Content_Types].xml is decompressed.
	maxContentTypes = 1 << 20

	docxMain = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
)

var (
	sigPDF  = []byte("%PDF-")
	sigPNG  = []byte("\x89PNG\r\n\x1a\n")
	sigJPEG = []byte{0xFF, 0xD8, 0xFF}
	sigZIP  = []byte("PK\x03\x04")
)

// notAllowed wraps ErrNotAllowed with why, for logs; why never carries
// bytes from the file.
func notAllowed(why string) error {
	return fmt.Errorf("%w: %s", ErrNotAllowed, why)
}

// detect decides the type of the n bytes in f from their content only.
// Images are only recognised here; their structure is checked as they are
// rewritten.
func detect(f io.ReaderAt, n int64) (Type, error) {
	head := make([]byte, 8)
	k, err := f.ReadAt(head, 0)
	if err != nil && err != io.EOF {
		return Type{}, fmt.Errorf("uploads: reading spooled file: %w", err)
	}
	head = head[:k]
	switch {
	case bytes.HasPrefix(head, sigPDF):
		if err := checkPDF(f, n); err != nil {
			return Type{}, err
		}
		return PDF, nil
	case bytes.HasPrefix(head, sigPNG):
		return PNG, nil
	case bytes.HasPrefix(head, sigJPEG):
		return JPEG, nil
	case bytes.HasPrefix(head, sigZIP):
		// Security: the ZIP must start at offset 0; archive/zip would also
		// open one appended to an executable or a web page.
		if err := checkDOCX(f, n); err != nil {
			return Type{}, err
		}
		return DOCX, nil
	}
	// SVG, HTML, XML, OLE (DOC, XLS, encrypted OOXML), executables and
	// everything else match nothing above. Nothing is trimmed first, so
	// leading whitespace cannot make a page look like something else.
	return Type{}, notAllowed("unrecognised content")
}

// contentTypes is [Content_Types].xml of an OOXML package.
type contentTypes struct {
	Defaults []struct {
		Extension   string `xml:"Extension,attr"`
		ContentType string `xml:"ContentType,attr"`
	} `xml:"Default"`
	Overrides []struct {
		PartName    string `xml:"PartName,attr"`
		ContentType string `xml:"ContentType,attr"`
	} `xml:"Override"`
}

// zipEntries reads the entry count from a ZIP's end of central directory
// record, which sits in the last 22 bytes plus at most a 64 KiB comment.
// A ZIP64 archive (0xFFFF entries: more than a Word document ever has) is
// reported as too many.
func zipEntries(f io.ReaderAt, n int64) (int, bool) {
	const eocdLen, maxComment = 22, 0xFFFF
	size := min(n, eocdLen+maxComment)
	tail := make([]byte, size)
	if _, err := f.ReadAt(tail, n-size); err != nil && err != io.EOF {
		return 0, false
	}
	for i := len(tail) - eocdLen; i >= 0; i-- {
		if binary.LittleEndian.Uint32(tail[i:]) == 0x06054b50 {
			return int(binary.LittleEndian.Uint16(tail[i+10:])), true
		}
	}
	return 0, false
}

// checkDOCX accepts a Word document without macros, remote content or DDE
// and refuses every other ZIP. Only [Content_Types].xml, the relationships
// parts and the Word parts are decompressed, each within a bound.
func checkDOCX(f io.ReaderAt, n int64) error {
	zr, err := openDOCXZip(f, n)
	if err != nil {
		return err
	}
	idx, err := indexEntries(zr.File)
	if err != nil {
		return err
	}
	types, err := readContentTypes(idx.contentTypes)
	if err != nil {
		return err
	}
	if err := checkContentTypes(types, idx.names); err != nil {
		return err
	}
	return checkDOCXParts(zr.File, idx.rels, types)
}

// openDOCXZip opens the n-byte ZIP in f, refusing one with too many
// entries before its directory is read.
func openDOCXZip(f io.ReaderAt, n int64) (*zip.Reader, error) {
	// Security: archive/zip reads the whole directory before anything can
	// count its entries; the end record says how many there are, so a
	// directory of a million tiny entries is refused before it is read.
	if entries, ok := zipEntries(f, n); !ok || entries > maxZipEntries {
		return nil, notAllowed("too many zip entries, or no end record")
	}
	zr, err := zip.NewReader(f, n)
	if err != nil {
		return nil, notAllowed("not a readable zip")
	}
	if len(zr.File) > maxZipEntries {
		return nil, notAllowed("too many zip entries")
	}
	return zr, nil
}

// zipIndex is what a package's entry names say.
type zipIndex struct {
	names        map[string]bool // every entry's name, in lower case
	contentTypes *zip.File       // [Content_Types].xml
	rels         []*zip.File     // the relationships parts
}

// indexEntries refuses duplicate entry names, a VBA project and a package
// without [Content_Types].xml, and indexes the entries.
func indexEntries(files []*zip.File) (zipIndex, error) {
	idx := zipIndex{names: make(map[string]bool, len(files))}
	for _, e := range files {
		// Part names in OOXML compare case-insensitively.
		name := strings.ToLower(e.Name)
		// Security: two entries with one name let Word read a different
		// one from the one checked here.
		if idx.names[name] {
			return idx, notAllowed("duplicate zip entry")
		}
		idx.names[name] = true
		// Security: a VBA project is a macro, whatever the content types say.
		if strings.HasSuffix(name, "vbaproject.bin") {
			return idx, notAllowed("vba project")
		}
		if name == "[content_types].xml" {
			idx.contentTypes = e
		}
		if strings.HasSuffix(name, ".rels") {
			idx.rels = append(idx.rels, e)
		}
	}
	if idx.contentTypes == nil {
		return idx, notAllowed("zip without [Content_Types].xml")
	}
	return idx, nil
}

// readContentTypes decompresses and parses [Content_Types].xml, within
// maxContentTypes.
func readContentTypes(ct *zip.File) (contentTypes, error) {
	var types contentTypes
	// Security: zip bomb; the declared size is checked first, the actual
	// bytes read are capped below in case it lies.
	if ct.UncompressedSize64 > maxContentTypes {
		return types, notAllowed("[Content_Types].xml too large")
	}
	rc, err := ct.Open()
	if err != nil {
		return types, notAllowed("unreadable [Content_Types].xml")
	}
	raw, err := io.ReadAll(io.LimitReader(rc, maxContentTypes+1))
	rc.Close()
	if err != nil {
		return types, notAllowed("unreadable [Content_Types].xml")
	}
	if len(raw) > maxContentTypes {
		return types, notAllowed("[Content_Types].xml too large")
	}
	// encoding/xml does not expand entities defined in a DTD, so there is
	// no entity-expansion bomb to guard against here.
	if err := xml.Unmarshal(raw, &types); err != nil {
		return types, notAllowed("malformed [Content_Types].xml")
	}
	return types, nil
}

// checkContentTypes refuses content types that run code, and a package
// whose main part is not one Word document part among names.
func checkContentTypes(types contentTypes, names map[string]bool) error {
	for _, d := range types.Defaults {
		if err := refusedContentType(d.ContentType); err != nil {
			return err
		}
		// The main part must be named by an Override, as Word writes it.
		if isMainPart(d.ContentType) {
			return notAllowed("main part by default extension")
		}
	}
	mains := 0
	for _, o := range types.Overrides {
		main, err := checkOverride(o.PartName, o.ContentType, names)
		if err != nil {
			return err
		}
		if main {
			mains++
		}
	}
	if mains != 1 {
		return notAllowed("no single word document part")
	}
	return nil
}

// checkOverride checks the content type ct that an Override gives part
// name, and reports whether it makes name the main part.
func checkOverride(name, ct string, names map[string]bool) (bool, error) {
	if err := refusedContentType(ct); err != nil {
		return false, err
	}
	if !isMainPart(ct) {
		return false, nil
	}
	// Security: templates, spreadsheets and presentations have main
	// parts of their own type; only a Word document's is accepted.
	if !strings.EqualFold(strings.TrimSpace(ct), docxMain) {
		return false, notAllowed("not a word document")
	}
	part := strings.ToLower(strings.TrimPrefix(path.Clean("/"+name), "/"))
	if !names[part] {
		return false, notAllowed("main part missing")
	}
	return true, nil
}

// refusedContentType refuses parts that run code in Office: macros (VBA),
// ActiveX controls and embedded OLE objects (packaged executables, the
// equation editor).
func refusedContentType(ct string) error {
	l := strings.ToLower(ct)
	for _, bad := range []string{"macroenabled", "vbaproject", "activex", "oleobject"} {
		// Security: these are what a document uses to run code on a
		// family's device; a letter or an assessment needs none of them.
		if strings.Contains(l, bad) {
			return notAllowed("content type " + bad)
		}
	}
	return nil
}

// isMainPart reports whether ct is the type of an OOXML package's main part
// (document, template, workbook, presentation, ...).
func isMainPart(ct string) bool {
	return strings.HasSuffix(strings.ToLower(strings.TrimSpace(ct)), ".main+xml")
}
