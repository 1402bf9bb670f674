package uploads

import (
	"archive/zip"
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"testing"

	"portal/app/uploads/uploadtest"
)

// Files are built here rather than committed, so every fixture says what
// is in it.

// pdfOf is a well-formed PDF of exactly n bytes (n >= uploadtest.MinPDF).
func pdfOf(n int) []byte { return uploadtest.PDF(n, "") }

// picture is a small image with distinct colours, so a decode that
// mangled it would show.
func picture(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x * 255 / w), uint8(y * 255 / h), 128, 255})
		}
	}
	return img
}

func pngOf(t testing.TB) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, picture(24, 16)); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func jpegOf(t testing.TB) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, picture(32, 16), &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// pngChunk is a PNG chunk with a correct CRC.
func pngChunk(typ string, data []byte) []byte {
	c := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	c = append(c, typ...)
	c = append(c, data...)
	return binary.BigEndian.AppendUint32(c, crc32.ChecksumIEEE(c[4:]))
}

// withPNGChunks puts chunks after IHDR and before IEND of p.
func withPNGChunks(p []byte, afterIHDR, beforeIEND [][]byte) []byte {
	const ihdrEnd = 8 + 8 + 13 + 4
	const iend = 12
	var out []byte
	out = append(out, p[:ihdrEnd]...)
	for _, c := range afterIHDR {
		out = append(out, c...)
	}
	out = append(out, p[ihdrEnd:len(p)-iend]...)
	for _, c := range beforeIEND {
		out = append(out, c...)
	}
	return append(out, p[len(p)-iend:]...)
}

func zlibOf(s string) []byte {
	var b bytes.Buffer
	w := zlib.NewWriter(&b)
	w.Write([]byte(s))
	w.Close()
	return b.Bytes()
}

// jpegSegment is a JPEG marker segment.
func jpegSegment(m byte, payload []byte) []byte {
	s := []byte{0xFF, m}
	s = binary.BigEndian.AppendUint16(s, uint16(len(payload)+2))
	return append(s, payload...)
}

// withJPEGSegments puts segments right after SOI of j.
func withJPEGSegments(j []byte, segs ...[]byte) []byte {
	out := append([]byte(nil), j[:2]...)
	for _, s := range segs {
		out = append(out, s...)
	}
	return append(out, j[2:]...)
}

var (
	jfifSegment  = jpegSegment(0xE0, []byte("JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"))
	iccSegment   = jpegSegment(0xE2, []byte("ICC_PROFILE\x00\x01\x01not-a-real-profile"))
	adobeSegment = jpegSegment(0xEE, []byte("Adobe\x00\x64\x00\x00\x00\x00\x01")) // transform 1: YCbCr
	xmpSegment   = jpegSegment(0xE1, []byte("http://ns.adobe.com/xap/1.0/\x00"+
		`<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description exif:GPSLatitude="51,28.6N"/></rdf:RDF></x:xmpmeta>`))
	commentSegment = jpegSegment(0xFE, []byte("Photographed at 12 Acacia Avenue"))
	iptcSegment    = jpegSegment(0xED, []byte("Photoshop 3.0\x008BIM\x04\x04\x00\x00\x00\x00\x00\x0aChild Name"))
)

// exifTIFF is a camera-like Exif TIFF structure: IFD0 with Make, an
// optional Orientation and a pointer to a GPS IFD, then IFD1 pointing at a
// thumbnail. orientation 0 leaves the tag out.
func exifTIFF(o binary.AppendByteOrder, orientation uint16) []byte {
	n0 := 2
	if orientation != 0 {
		n0 = 3
	}
	ifd0 := 8
	gps := ifd0 + 2 + 12*n0 + 4
	ifd1 := gps + 2 + 12*3 + 4
	data := ifd1 + 2 + 12*2 + 4
	makeAt, latAt, procAt, thumbAt := data, data+16, data+40, data+52
	maker, proc, thumb := "PhoneCo Model X\x00", "ASCII\x00\x00\x00GPS", "THUMBNAIL-OF-CHILD"

	var b []byte
	if o == binary.LittleEndian {
		b = append(b, "II*\x00"...)
	} else {
		b = append(b, "MM\x00*"...)
	}
	b = o.AppendUint32(b, uint32(ifd0))
	entry := func(tag, typ uint16, count uint32, value []byte) {
		b = o.AppendUint16(b, tag)
		b = o.AppendUint16(b, typ)
		b = o.AppendUint32(b, count)
		v := make4(value)
		b = append(b, v[:]...)
	}
	u16 := func(v uint16) []byte { return o.AppendUint16(nil, v) }
	u32 := func(v int) []byte { return o.AppendUint32(nil, uint32(v)) }

	b = o.AppendUint16(b, uint16(n0))
	entry(0x010F, 2, uint32(len(maker)), u32(makeAt)) // Make
	if orientation != 0 {
		entry(0x0112, 3, 1, u16(orientation)) // Orientation
	}
	entry(0x8825, 4, 1, u32(gps)) // GPSInfo
	b = o.AppendUint32(b, uint32(ifd1))

	b = o.AppendUint16(b, 3)
	entry(0x0001, 2, 2, []byte("N\x00"))             // GPSLatitudeRef
	entry(0x0002, 5, 3, u32(latAt))                  // GPSLatitude
	entry(0x001B, 7, uint32(len(proc)), u32(procAt)) // GPSProcessingMethod
	b = o.AppendUint32(b, 0)

	b = o.AppendUint16(b, 2)
	entry(0x0201, 4, 1, u32(thumbAt))    // JPEGInterchangeFormat
	entry(0x0202, 4, 1, u32(len(thumb))) // JPEGInterchangeFormatLength
	b = o.AppendUint32(b, 0)

	b = append(b, maker...)
	for _, v := range []int{51, 1, 28, 1, 36, 10} { // 51° 28' 3.6"
		b = o.AppendUint32(b, uint32(v))
	}
	b = append(b, proc...)
	b = append(b, 0)
	return append(b, thumb...)
}

func make4(v []byte) [4]byte {
	var a [4]byte
	copy(a[:], v)
	return a
}

func exifSegment(o binary.AppendByteOrder, orientation uint16) []byte {
	return jpegSegment(0xE1, append([]byte("Exif\x00\x00"), exifTIFF(o, orientation)...))
}

type part struct{ name, body string }

func zipOf(t testing.TB, parts ...part) []byte {
	t.Helper()
	var b bytes.Buffer
	w := zip.NewWriter(&b)
	for _, p := range parts {
		f, err := w.Create(p.name)
		if err != nil {
			t.Fatal(err)
		}
		f.Write([]byte(p.body))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

const (
	mainDocx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
	mainDocm = "application/vnd.ms-word.document.macroEnabled.main+xml"
	mainDotx = "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml"
)

// contentTypesXML is [Content_Types].xml as Word writes it, with the main
// part of type main and extra elements added.
func contentTypesXML(main, extra string) string {
	return `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
		`<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>` +
		`<Default Extension="xml" ContentType="application/xml"/>` +
		`<Override PartName="/word/document.xml" ContentType="` + main + `"/>` +
		`<Override PartName="/word/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml"/>` +
		`<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>` +
		`<Override PartName="/docProps/app.xml" ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>` +
		extra + `</Types>`
}

// wordParts are the parts of a one-paragraph Word document.
func wordParts(contentTypes string, extra ...part) []part {
	parts := []part{
		{"[Content_Types].xml", contentTypes},
		{"_rels/.rels", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/extended-properties" Target="docProps/app.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>`},
		{"word/document.xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>Care plan review</w:t></w:r></w:p><w:sectPr/></w:body></w:document>`},
		{"word/_rels/document.xml.rels", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/></Relationships>`},
		{"word/styles.xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:styles xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"/>`},
		{"docProps/core.xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>Review</dc:title></cp:coreProperties>`},
		{"docProps/app.xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties"><Application>Microsoft Office Word</Application></Properties>`},
	}
	return append(parts, extra...)
}

func docxOf(t testing.TB) []byte {
	return zipOf(t, wordParts(contentTypesXML(mainDocx, ""))...)
}

func xlsxOf(t testing.TB) []byte {
	return zipOf(t,
		part{"[Content_Types].xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>`},
		part{"_rels/.rels", `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>`},
		part{"xl/workbook.xml", `<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheets><sheet name="Sheet1" sheetId="1"/></sheets></workbook>`},
		part{"xl/worksheets/sheet1.xml", `<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"/>`},
	)
}

// manyEntries is a Word document with n extra empty entries.
func manyEntries(t *testing.T, n int) []byte {
	extra := make([]part, n)
	for i := range extra {
		extra[i] = part{fmt.Sprintf("customXml/item%d.xml", i), ""}
	}
	return zipOf(t, wordParts(contentTypesXML(mainDocx, ""), extra...)...)
}
