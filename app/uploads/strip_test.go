package uploads

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/jpeg"
	"image/png"
	"testing"
)

// Minimal Exif segments written by hand, not by minimalExif, so a mistake
// there would show: FF E1, length 34, "Exif\0\0", TIFF header, one IFD0
// entry (0x0112 SHORT 1 value), no next IFD.
var (
	minimalExifLE6 = []byte("\xFF\xE1\x00\x22Exif\x00\x00" +
		"II*\x00\x08\x00\x00\x00" + "\x01\x00" + "\x12\x01\x03\x00\x01\x00\x00\x00\x06\x00\x00\x00" + "\x00\x00\x00\x00")
	minimalExifBE6 = []byte("\xFF\xE1\x00\x22Exif\x00\x00" +
		"MM\x00*\x00\x00\x00\x08" + "\x00\x01" + "\x01\x12\x00\x03\x00\x00\x00\x01\x00\x06\x00\x00" + "\x00\x00\x00\x00")
	minimalExifBE8 = []byte("\xFF\xE1\x00\x22Exif\x00\x00" +
		"MM\x00*\x00\x00\x00\x08" + "\x00\x01" + "\x01\x12\x00\x03\x00\x00\x00\x01\x00\x08\x00\x00" + "\x00\x00\x00\x00")
)

// leaks are bytes of the fixtures' metadata; none may survive stripping.
var leaks = []string{
	"GPS", "PhoneCo", "THUMBNAIL", // Exif
	"xmpmeta", "ns.adobe.com/xap", // XMP
	"Acacia",            // comment
	"Photoshop", "8BIM", // IPTC
	"Home address", "tIME", "tEXt", "iTXt", "zTXt", "eXIf", // PNG
	"<html>", // appended after the image
}

func assertNoLeaks(t *testing.T, b []byte) {
	t.Helper()
	for _, l := range leaks {
		if bytes.Contains(b, []byte(l)) {
			t.Errorf("%q survived stripping", l)
		}
	}
}

// assertSamePicture decodes both and compares dimensions and pixels.
func assertSamePicture(t *testing.T, decode func([]byte) (image.Image, error), orig, got []byte) {
	t.Helper()
	want, err := decode(orig)
	if err != nil {
		t.Fatalf("decoding the original: %v", err)
	}
	img, err := decode(got)
	if err != nil {
		t.Fatalf("stripped image does not decode: %v", err)
	}
	if img.Bounds() != want.Bounds() {
		t.Fatalf("bounds %v, want %v", img.Bounds(), want.Bounds())
	}
	b := want.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if img.At(x, y) != want.At(x, y) {
				t.Fatalf("pixel %d,%d changed", x, y)
			}
		}
	}
}

func decodeJPEG(b []byte) (image.Image, error) { return jpeg.Decode(bytes.NewReader(b)) }
func decodePNG(b []byte) (image.Image, error)  { return png.Decode(bytes.NewReader(b)) }

func TestPrepareStripsJPEGMetadataButKeepsOrientation(t *testing.T) {
	base := jpegOf(t)
	metadata := [][]byte{xmpSegment, commentSegment, iptcSegment, iccSegment, adobeSegment}
	tests := []struct {
		name     string
		segments [][]byte
		after    string
		wantExif []byte // nil: no Exif at all
	}{
		{"little-endian Exif with GPS and Orientation 6 keeps only Orientation 6",
			append([][]byte{jfifSegment, exifSegment(binary.LittleEndian, 6)}, metadata...), "", minimalExifLE6},
		{"big-endian Exif with GPS and Orientation 6 keeps only Orientation 6",
			append([][]byte{exifSegment(binary.BigEndian, 6), jfifSegment}, metadata...), "", minimalExifBE6},
		{"Orientation 8 survives too",
			[][]byte{exifSegment(binary.BigEndian, 8), xmpSegment}, "", minimalExifBE8},
		{"Orientation 1 leaves no Exif at all",
			append([][]byte{jfifSegment, exifSegment(binary.LittleEndian, 1)}, metadata...), "", nil},
		{"Exif without Orientation leaves no Exif at all",
			[][]byte{exifSegment(binary.BigEndian, 0), commentSegment}, "", nil},
		{"a photo without Exif gets none",
			[][]byte{jfifSegment, xmpSegment, commentSegment}, "", nil},
		{"a second Exif segment cannot bring anything back",
			[][]byte{exifSegment(binary.LittleEndian, 6), exifSegment(binary.BigEndian, 3)}, "", minimalExifLE6},
		{"bytes after the end of the image are dropped",
			[][]byte{jfifSegment}, "<html>Home address</html>", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orig := append(withJPEGSegments(base, tt.segments...), tt.after...)
			f, _, err := prepare(t, orig, nil)
			if err != nil {
				t.Fatalf("Prepare: %v", err)
			}
			if f.Type != JPEG {
				t.Fatalf("Type = %v", f.Type)
			}
			got := contents(t, f)
			assertNoLeaks(t, got)

			exifs := bytes.Count(got, []byte("Exif\x00\x00"))
			switch {
			case tt.wantExif == nil && exifs != 0:
				t.Fatalf("%d Exif segments survived", exifs)
			case tt.wantExif != nil && (exifs != 1 || !bytes.Contains(got, tt.wantExif)):
				t.Fatalf("want exactly the minimal Exif % x", tt.wantExif)
			}
			for _, keep := range [][]byte{jfifSegment, iccSegment, adobeSegment} {
				if bytes.Contains(orig, keep) && !bytes.Contains(got, keep) {
					t.Fatalf("segment % x was dropped", keep[:12])
				}
			}
			if !bytes.HasSuffix(got, []byte{0xFF, 0xD9}) {
				t.Fatal("stripped JPEG does not end with EOI")
			}
			assertSamePicture(t, decodeJPEG, orig, got)
		})
	}
}

func TestPrepareDropsAJFIFThumbnail(t *testing.T) {
	// JFIF with a 1×1 RGB thumbnail of bright red.
	withThumb := jpegSegment(0xE0, []byte("JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x01\x01\xff\x00\x00"))
	jfxx := jpegSegment(0xE0, []byte("JFXX\x00\x13\xff\x00\x00THUMBNAIL"))
	orig := withJPEGSegments(jpegOf(t), withThumb, jfxx)
	f, _, err := prepare(t, orig, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := contents(t, f)
	if !bytes.Contains(got, jfifSegment) {
		t.Fatal("JFIF without its thumbnail is missing")
	}
	if bytes.Contains(got, withThumb) || bytes.Contains(got, []byte("JFXX")) {
		t.Fatal("a thumbnail survived")
	}
	assertSamePicture(t, decodeJPEG, orig, got)
}

func TestPrepareStripsPNGMetadataAndKeepsPictureChunks(t *testing.T) {
	base := pngOf(t)
	kept := [][]byte{
		pngChunk("gAMA", []byte{0, 0, 0xB1, 0x8F}),
		pngChunk("pHYs", []byte{0, 0, 0x0B, 0x13, 0, 0, 0x0B, 0x13, 1}),
		pngChunk("sRGB", []byte{0}),
	}
	dropped := [][]byte{
		pngChunk("tEXt", []byte("GPSLatitude\x0051.4816 N")),
		pngChunk("iTXt", []byte("XML:com.adobe.xmp\x00\x00\x00\x00\x00<x:xmpmeta><exif:GPSLatitude>51,28.9N</exif:GPSLatitude></x:xmpmeta>")),
		pngChunk("eXIf", exifTIFF(binary.BigEndian, 6)),
		pngChunk("tIME", []byte{0x07, 0xE9, 6, 1, 12, 30, 0}),
	}
	late := [][]byte{
		pngChunk("zTXt", append([]byte("Comment\x00\x00"), zlibOf("Home address: 12 Acacia Avenue")...)),
		pngChunk("tEXt", []byte("Author\x00Social worker")),
	}
	tests := []struct {
		name  string
		orig  []byte
		want  []byte
		after string
	}{
		{"metadata chunks go and the picture's chunks stay byte for byte",
			withPNGChunks(base, append(append([][]byte{}, kept[0], dropped[0], kept[1], dropped[1], dropped[2], kept[2]), dropped[3]), late),
			withPNGChunks(base, kept, nil), ""},
		{"a PNG without metadata is unchanged", base, base, ""},
		{"bytes after IEND are dropped", base, base, "<html>Home address</html>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orig := append(append([]byte(nil), tt.orig...), tt.after...)
			f, _, err := prepare(t, orig, nil)
			if err != nil {
				t.Fatalf("Prepare: %v", err)
			}
			if f.Type != PNG {
				t.Fatalf("Type = %v", f.Type)
			}
			got := contents(t, f)
			assertNoLeaks(t, got)
			if !bytes.Equal(got, tt.want) {
				t.Fatalf("stripped PNG is not the original without its metadata chunks")
			}
			assertSamePicture(t, decodePNG, orig, got)
		})
	}
}

func TestExifOrientationReadsOnlyAWellFormedTag(t *testing.T) {
	tests := []struct {
		name   string
		tiff   []byte
		want   uint16
		wantOK bool
	}{
		{"a camera IFD0 gives its Orientation", exifTIFF(binary.LittleEndian, 6), 6, true},
		{"a minimal Exif reads back", minimalExif(binary.BigEndian, 5)[6:], 5, true},
		{"no Orientation tag gives none", exifTIFF(binary.BigEndian, 0), 0, false},
		{"an out-of-range value gives none", minimalExif(binary.LittleEndian, 9)[6:], 0, false},
		{"an IFD offset past the end gives none", []byte("II*\x00\xff\xff\x00\x00"), 0, false},
		{"a truncated IFD gives none", minimalExif(binary.LittleEndian, 6)[6:16], 0, false},
		{"a bad header gives none", []byte("XX*\x00\x08\x00\x00\x00"), 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, v, ok := exifOrientation(tt.tiff)
			if v != tt.want || ok != tt.wantOK {
				t.Fatalf("exifOrientation = %d, %v; want %d, %v", v, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestPrepareKeepsOnlyAllowedPNGChunks(t *testing.T) {
	base := pngOf(t)
	gps := []byte("GPSLatitude\x0051.4816 N")
	var leaky [][]byte
	// Old Exif spellings, C2PA content credentials, a private chunk, and
	// the metadata chunks the standard names.
	for _, typ := range []string{"exIf", "zxIf", "caBX", "prVt", "tEXt", "iTXt", "zTXt", "eXIf", "tIME"} {
		leaky = append(leaky, pngChunk(typ, gps))
	}
	colour := [][]byte{
		pngChunk("cHRM", make([]byte, 32)),
		pngChunk("sBIT", []byte{8, 8, 8, 8}),
		pngChunk("bKGD", []byte{0, 1, 0, 2, 0, 3}),
		pngChunk("cICP", []byte{1, 13, 0, 1}),
		pngChunk("cLLi", make([]byte, 8)),
		pngChunk("mDCv", make([]byte, 24)),
	}
	tests := []struct {
		name string
		orig []byte
		want []byte
	}{
		{"every chunk outside the allowlist goes, whatever its name",
			withPNGChunks(base, leaky[:5], leaky[5:]), base},
		{"colour chunks stay byte for byte",
			withPNGChunks(base, append(append([][]byte{}, colour...), leaky[0]), nil), withPNGChunks(base, colour, nil)},
		{"an allowed chunk of the wrong size goes",
			withPNGChunks(base, [][]byte{pngChunk("gAMA", append([]byte{0, 0, 0xB1, 0x8F}, gps...))}, nil), base},
		{"an animated PNG keeps only its still image",
			withPNGChunks(base, [][]byte{pngChunk("acTL", []byte{0, 0, 0, 1, 0, 0, 0, 0})},
				[][]byte{pngChunk("fcTL", make([]byte, 26)), pngChunk("fdAT", append([]byte{0, 0, 0, 1}, gps...))}), base},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, _, err := prepare(t, tt.orig, nil)
			if err != nil {
				t.Fatalf("Prepare: %v", err)
			}
			got := contents(t, f)
			assertNoLeaks(t, got)
			for _, typ := range []string{"exIf", "zxIf", "caBX", "prVt", "acTL", "fdAT"} {
				if bytes.Contains(got, []byte(typ)) {
					t.Errorf("chunk %s survived", typ)
				}
			}
			if !bytes.Equal(got, tt.want) {
				t.Fatal("stripped PNG is not the allowed chunks of the original")
			}
			assertSamePicture(t, decodePNG, base, got)
		})
	}
}

func TestPrepareRefusesAPNGWithMalformedCriticalChunks(t *testing.T) {
	base := pngOf(t)
	tests := []struct {
		name string
		file []byte
	}{
		{"an IEND carrying bytes is refused", append(append([]byte(nil), base[:len(base)-12]...), pngChunk("IEND", []byte("GPSLatitude"))...)},
		{"a second IHDR of the wrong size is refused", withPNGChunks(base, [][]byte{pngChunk("IHDR", []byte("GPSLatitude"))}, nil)},
		{"a palette that is not whole colours is refused", withPNGChunks(base, [][]byte{pngChunk("PLTE", []byte{1, 2, 3, 4})}, nil)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, dir, err := prepare(t, tt.file, nil)
			if !errors.Is(err, ErrNotAllowed) || f != nil {
				t.Fatalf("Prepare = %v, %v; want ErrNotAllowed", f, err)
			}
			assertEmpty(t, dir)
		})
	}
}

// beforeEOI puts segments between the end of the scan and EOI of j.
func beforeEOI(j []byte, segs ...[]byte) []byte {
	out := append([]byte(nil), j[:len(j)-2]...)
	for _, s := range segs {
		out = append(out, s...)
	}
	return append(out, 0xFF, 0xD9)
}

func TestPrepareKeepsOnlyAllowedJPEGSegments(t *testing.T) {
	base := jpegOf(t)
	gps := []byte("GPSLatitude 51,28.6N")
	jpg0 := jpegSegment(0xF0, gps)
	jpg13 := jpegSegment(0xFD, gps)
	app3 := jpegSegment(0xE3, gps)
	app13 := jpegSegment(0xED, gps)
	app15 := jpegSegment(0xEF, gps)
	reserved := jpegSegment(0x02, gps)
	hierarchical := jpegSegment(0xDE, gps) // DHP: only in hierarchical JPEG, which nothing here decodes
	tests := []struct {
		name string
		orig []byte
	}{
		{"a JPEG extension segment after SOI goes", withJPEGSegments(base, jpg0)},
		{"APP3, APP13 and APP15 go", withJPEGSegments(base, app3, app13, app15)},
		{"extension and application segments after the scan go", beforeEOI(base, jpg0, app3, app15, app13, jpg13)},
		{"reserved and hierarchical segments go", beforeEOI(base, reserved, hierarchical)},
		{"a standalone TEM marker goes", beforeEOI(base, []byte{0xFF, 0x01})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, _, err := prepare(t, tt.orig, nil)
			if err != nil {
				t.Fatalf("Prepare: %v", err)
			}
			got := contents(t, f)
			assertNoLeaks(t, got)
			if !bytes.Equal(got, base) {
				t.Fatal("stripped JPEG is not the original without the added segments")
			}
			assertSamePicture(t, decodeJPEG, base, got)
		})
	}
}
