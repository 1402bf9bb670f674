// Package uploadtest makes files that uploads accepts, for tests of the
// features that take uploads. It imports nothing of the portal, so any
// test may use it.
package uploadtest

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand/v2"
	"strings"
)

// PDF is a well-formed PDF of exactly size bytes (at least MinPDF): one
// blank page and an uncompressed stream of pseudo-random filler (seeded,
// so the same size gives the same bytes), with a correct cross-reference
// table. extra, if not empty, is one more object's dictionary (a test adds
// an action or a name to it); it is object 4.
func PDF(size int, extra string) []byte {
	if extra == "" {
		extra = "<< /Producer (portal tests) >>"
	}
	filling := noise(max(size, 0))
	build := func(filler, pad int) []byte {
		objects := []string{
			"<< /Type /Catalog /Pages 2 0 R >>",
			"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
			"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
			extra,
			fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", filler, filling[:filler]),
		}
		return Assemble("%PDF-1.7\n%\xe2\xe3\xcf\xd3"+strings.Repeat(" ", pad)+"\n", objects, " /Info 4 0 R")
	}
	// The lengths written in the file (the filler's, the offsets) grow by
	// a digit now and then, so the filler is adjusted until the file fits;
	// where no filler does (a digit more overshoots by one), a space in the
	// header comment makes up the byte.
	filler := max(size-len(build(0, 0)), 0)
	for range 10 {
		b := build(filler, 0)
		if len(b) == size {
			return b
		}
		if len(b) == size-1 {
			return build(filler, 1)
		}
		filler = max(filler+size-len(b), 0)
	}
	return build(filler, 0)
}

// Assemble writes a PDF of objects (numbered from 1; the first is the
// catalogue) after header, with a correct cross-reference table; trailer
// adds entries to the trailer's dictionary.
func Assemble(header string, objects []string, trailer string) []byte {
	var b bytes.Buffer
	b.WriteString(header)
	offsets := make([]int, len(objects))
	for i, o := range objects {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objects)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R%s >>\nstartxref\n%d\n%%%%EOF\n", len(objects)+1, trailer, xref)
	return b.Bytes()
}

// MinPDF is the size of the smallest PDF that PDF makes.
var MinPDF = len(PDF(0, ""))

// noise is n filler bytes that never spell a PDF keyword or name: letters,
// digits and spaces only, without "/".
func noise(n int) []byte {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789 "
	r := rand.New(rand.NewPCG(uint64(n), 7))
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return b
}

// JPEG is a small photo (w×h, distinct colours) as a camera would save it.
func JPEG(w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x * 255 / w), uint8(y * 255 / h), 128, 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 85}); err != nil {
		panic(err) // encoding to memory cannot fail
	}
	return b.Bytes()
}

// Location is the place JPEGWithLocation says it was taken.
const Location = "GPSLatitude=\"51,28.6N\""

// JPEGWithLocation is JPEG(w, h) carrying where it was taken, as a phone
// writes it (an XMP packet with GPS, and a comment naming the street):
// what uploads must strip.
func JPEGWithLocation(w, h int) []byte {
	j := JPEG(w, h)
	segment := func(m byte, payload string) []byte {
		s := []byte{0xFF, m, byte((len(payload) + 2) >> 8), byte(len(payload) + 2)}
		return append(s, payload...)
	}
	out := append([]byte(nil), j[:2]...) // SOI
	out = append(out, segment(0xE1, "http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta><rdf:Description exif:"+Location+"/></x:xmpmeta>")...)
	out = append(out, segment(0xFE, "Taken at 12 Acacia Avenue")...)
	return append(out, j[2:]...)
}
