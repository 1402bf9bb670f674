package uploads

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image/jpeg"
	"image/png"
	"io"
)

// JPEG markers.
const (
	mSOF0  = 0xC0
	mDHT   = 0xC4
	mJPG   = 0xC8
	mDAC   = 0xCC
	mSOF15 = 0xCF
	mSOI   = 0xD8
	mEOI   = 0xD9
	mSOS   = 0xDA
	mDQT   = 0xDB
	mDNL   = 0xDC
	mDRI   = 0xDD
	mRST0  = 0xD0
	mRST7  = 0xD7
	mTEM   = 0x01
	mAPP0  = 0xE0
	mAPP1  = 0xE1
	mAPP2  = 0xE2
	mAPPE  = 0xEE // APP14

	tagOrientation = 0x0112
)

var (
	prefixJFIF  = []byte("JFIF\x00")
	prefixExif  = []byte("Exif\x00\x00")
	prefixICC   = []byte("ICC_PROFILE\x00")
	prefixAdobe = []byte("Adobe")
)

// stripJPEG copies the JPEG in r to w segment by segment, keeping only
// what is needed to show the image: JFIF (without its thumbnail), ICC
// profiles, the Adobe colour transform, tables, frames, scans and restart
// markers. Exif is replaced by a minimal Exif holding only a non-default
// Orientation. Every other segment is dropped, known or not. The walk stops
// at EOI; anything after it is dropped.
func stripJPEG(r io.Reader, w io.Writer) error {
	s := &jpegStripper{
		br:   bufio.NewReaderSize(r, 64<<10),
		bw:   bufio.NewWriterSize(w, 64<<10),
		next: -1,
	}
	var soi [2]byte
	if _, err := io.ReadFull(s.br, soi[:]); err != nil || soi[0] != 0xFF || soi[1] != mSOI {
		return notAllowed("jpeg without start of image")
	}
	s.bw.Write(soi[:])

	for {
		m, err := s.nextMarker()
		if err != nil {
			return err
		}
		if m == mEOI {
			return s.end()
		}
		if err := s.marker(m); err != nil {
			return err
		}
	}
}

// jpegStripper is the state of stripJPEG's walk through a JPEG.
type jpegStripper struct {
	br      *bufio.Reader
	bw      *bufio.Writer
	sawExif bool // the first Exif segment is met: any later one is dropped
	sawScan bool
	next    int // a marker already read by the entropy-coded data copy, or -1
}

// nextMarker is the marker the entropy-coded data copy stopped at, or else
// the next one read.
func (s *jpegStripper) nextMarker() (byte, error) {
	if s.next >= 0 {
		m := byte(s.next)
		s.next = -1
		return m, nil
	}
	return readMarker(s.br)
}

// end writes EOI and stops the walk.
func (s *jpegStripper) end() error {
	if !s.sawScan {
		return notAllowed("jpeg without image data")
	}
	s.bw.Write([]byte{0xFF, mEOI})
	// Security: bytes after EOI are not the picture (phones append
	// motion-photo video and depth maps there); they are dropped.
	return s.bw.Flush()
}

// marker handles marker m (not EOI) and the segment it starts, if any,
// with the entropy-coded data after a scan header.
func (s *jpegStripper) marker(m byte) error {
	switch {
	case m >= mRST0 && m <= mRST7:
		s.bw.Write([]byte{0xFF, m})
		return nil
	case m == mTEM:
		return nil // standalone and only for private use: dropped
	case m == mSOI || m == 0x00:
		return notAllowed("malformed jpeg marker")
	}
	payload, err := readSegment(s.br)
	if err != nil {
		return err
	}
	if kept, ok := s.kept(m, payload); ok {
		writeSegment(s.bw, m, kept)
	}
	if m == mSOS {
		return s.scan()
	}
	return nil
}

// scan copies the entropy-coded data after a scan header, keeping the
// marker that ends it for the walk.
func (s *jpegStripper) scan() error {
	s.sawScan = true
	mk, err := copyEntropy(s.br, s.bw)
	if err != nil {
		return err
	}
	s.next = int(mk)
	return nil
}

// readSegment reads a marker segment's length and the payload after it.
func readSegment(br *bufio.Reader) ([]byte, error) {
	var lb [2]byte
	if _, err := io.ReadFull(br, lb[:]); err != nil {
		return nil, notAllowed("truncated jpeg")
	}
	length := int(binary.BigEndian.Uint16(lb[:]))
	if length < 2 {
		return nil, notAllowed("malformed jpeg segment")
	}
	payload := make([]byte, length-2)
	if _, err := io.ReadFull(br, payload); err != nil {
		return nil, notAllowed("truncated jpeg")
	}
	return payload, nil
}

// kept decides what of segment m, with payload, the stripped JPEG keeps:
// the payload itself, a payload rewritten without what must go, or
// nothing (false).
func (s *jpegStripper) kept(m byte, payload []byte) ([]byte, bool) {
	switch {
	case m == mAPP0:
		// Security: a JFIF thumbnail can show what an edit cropped out.
		if bytes.HasPrefix(payload, prefixJFIF) && len(payload) >= 14 {
			p := append([]byte(nil), payload[:14]...)
			p[12], p[13] = 0, 0 // no thumbnail
			return p, true
		}
	case m == mAPP1:
		// Security: Exif holds GPS, serial numbers, times and a
		// thumbnail; XMP repeats them. Only Orientation is put back.
		if !s.sawExif && bytes.HasPrefix(payload, prefixExif) {
			s.sawExif = true
			return keptExif(payload[len(prefixExif):])
		}
	case m == mAPP2:
		return payload, bytes.HasPrefix(payload, prefixICC)
	case m == mAPPE:
		return payload, bytes.HasPrefix(payload, prefixAdobe)
	case jpegDecodes(m):
		return payload, true
	default:
		// Security: an allowlist. Other application segments (IPTC,
		// MPF pictures, FlashPix, vendor data), comments, JPEG
		// extensions (JPG0–JPG13), hierarchical and reserved markers
		// are not needed to show the image, and any of them may carry
		// a location or a name.
	}
	return nil, false
}

// keptExif is the minimal Exif payload that replaces the Exif TIFF
// structure t: only a non-default Orientation, or nothing (false).
func keptExif(t []byte) ([]byte, bool) {
	if order, v, ok := exifOrientation(t); ok && v != 1 {
		return minimalExif(order, v), true
	}
	return nil, false
}

// jpegDecodes reports whether m is a marker segment a decoder needs:
// a frame header, a table, a restart interval, a scan or a line count.
func jpegDecodes(m byte) bool {
	switch m {
	case mDHT, mDAC, mDQT, mDRI, mDNL, mSOS:
		return true
	case mJPG:
		return false
	}
	// SOF0–SOF15; DHT and DAC are handled above and JPG is not a frame.
	return m >= mSOF0 && m <= mSOF15
}

// readMarker reads 0xFF, any fill bytes, and the marker after them.
func readMarker(br *bufio.Reader) (byte, error) {
	b, err := br.ReadByte()
	if err != nil {
		return 0, notAllowed("jpeg without end of image")
	}
	if b != 0xFF {
		return 0, notAllowed("malformed jpeg")
	}
	for {
		b, err = br.ReadByte()
		if err != nil {
			return 0, notAllowed("jpeg without end of image")
		}
		if b != 0xFF {
			return b, nil
		}
	}
}

// copyEntropy copies entropy-coded data (with its stuffed bytes and restart
// markers) and returns the marker that ends it, already read.
func copyEntropy(br *bufio.Reader, bw *bufio.Writer) (byte, error) {
	for {
		b, err := br.ReadByte()
		if err != nil {
			return 0, notAllowed("truncated jpeg scan")
		}
		if b != 0xFF {
			bw.WriteByte(b)
			continue
		}
		for {
			c, err := br.ReadByte()
			if err != nil {
				return 0, notAllowed("truncated jpeg scan")
			}
			if c == 0xFF {
				continue // fill byte
			}
			if c == 0x00 || c >= mRST0 && c <= mRST7 {
				bw.Write([]byte{0xFF, c})
				break
			}
			return c, nil
		}
	}
}

func writeSegment(bw *bufio.Writer, m byte, payload []byte) {
	var h [4]byte
	h[0], h[1] = 0xFF, m
	binary.BigEndian.PutUint16(h[2:], uint16(len(payload)+2))
	bw.Write(h[:])
	bw.Write(payload)
}

// exifOrientation finds Orientation in IFD0 of the TIFF structure t (an
// Exif payload after "Exif\0\0").
func exifOrientation(t []byte) (binary.ByteOrder, uint16, bool) {
	if len(t) < 8 {
		return nil, 0, false
	}
	var order binary.ByteOrder
	switch string(t[:4]) {
	case "II*\x00":
		order = binary.LittleEndian
	case "MM\x00*":
		order = binary.BigEndian
	default:
		return nil, 0, false
	}
	off := uint64(order.Uint32(t[4:8]))
	if off < 8 || off+2 > uint64(len(t)) {
		return nil, 0, false
	}
	count := uint64(order.Uint16(t[off:]))
	for i := uint64(0); i < count; i++ {
		e := off + 2 + 12*i
		if e+12 > uint64(len(t)) {
			break
		}
		if order.Uint16(t[e:]) != tagOrientation {
			continue
		}
		typ, n, v := order.Uint16(t[e+2:]), order.Uint32(t[e+4:]), order.Uint16(t[e+8:])
		if typ != 3 || n != 1 || v < 1 || v > 8 { // SHORT, one value, 1..8
			return nil, 0, false
		}
		return order, v, true
	}
	return nil, 0, false
}

// minimalExif is an Exif APP1 payload whose only tag is Orientation v.
func minimalExif(order binary.ByteOrder, v uint16) []byte {
	p := make([]byte, len(prefixExif)+26)
	copy(p, prefixExif)
	t := p[len(prefixExif):]
	if order == binary.LittleEndian {
		copy(t, "II*\x00")
	} else {
		copy(t, "MM\x00*")
	}
	order.PutUint32(t[4:], 8)               // IFD0 right after the header
	order.PutUint16(t[8:], 1)               // one entry
	order.PutUint16(t[10:], tagOrientation) // tag
	order.PutUint16(t[12:], 3)              // SHORT
	order.PutUint32(t[14:], 1)              // one value
	order.PutUint16(t[18:], v)              // value, left-justified in 4 bytes
	// t[22:26] stays 0: no next IFD, so no thumbnail IFD1.
	return p
}

// pngSize is the range of lengths a kept PNG chunk may have.
type pngSize struct{ min, max int64 }

// pngKept are the only chunks a PNG keeps: the critical chunks, and the
// ancillary chunks that change how its pixels look (transparency, gamma,
// chromaticity, colour profile and space, significant bits, background,
// pixel size, and the HDR colour chunks cICP, mDCv and cLLi, which hold
// only numbers). Each has the sizes the PNG specification gives it.
var pngKept = map[string]pngSize{
	"IHDR": {13, 13},
	"PLTE": {3, 768},
	"IDAT": {0, 1<<31 - 1},
	"IEND": {0, 0},
	"tRNS": {1, 256},
	"gAMA": {4, 4},
	"cHRM": {32, 32},
	"sRGB": {1, 1},
	"iCCP": {3, 1<<31 - 1},
	"sBIT": {1, 4},
	"pHYs": {9, 9},
	"bKGD": {1, 6},
	"cICP": {4, 4},
	"mDCv": {24, 24},
	"cLLi": {8, 8},
}

// stripPNG copies the n-byte PNG in r to w chunk by chunk, checking lengths
// and CRCs, keeping the chunks in pngKept byte for byte and dropping every
// other chunk. The walk stops at IEND; anything after it is dropped.
func stripPNG(r io.Reader, n int64, w io.Writer) error {
	br := bufio.NewReaderSize(r, 64<<10)
	bw := bufio.NewWriterSize(w, 64<<10)

	sig := make([]byte, len(sigPNG))
	if _, err := io.ReadFull(br, sig); err != nil || !bytes.Equal(sig, sigPNG) {
		return notAllowed("png without signature")
	}
	bw.Write(sig)
	left := n - int64(len(sigPNG))

	sawIDAT := false
	for first := true; ; first = false {
		c, err := readChunkHeader(br, &left)
		if err != nil {
			return err
		}
		if first && (c.typ != "IHDR" || c.length != 13) {
			return notAllowed("png without IHDR")
		}
		sawIDAT = sawIDAT || c.typ == "IDAT"
		keep, err := keepChunk(c)
		if err != nil {
			return err
		}
		if err := copyChunk(br, bw, c, keep); err != nil {
			return err
		}
		if c.typ != "IEND" {
			continue
		}
		if !sawIDAT {
			return notAllowed("png without image data")
		}
		// Security: bytes after IEND are not the picture; a polyglot
		// or hidden payload would ride there.
		return bw.Flush()
	}
}

// chunkHeader is the length and type that start a PNG chunk.
type chunkHeader struct {
	raw    [8]byte
	length int64
	typ    string
}

// readChunkHeader reads a chunk's header, checks that the whole chunk fits
// in the left bytes of the file and that its type is four letters, and
// takes the chunk off left.
func readChunkHeader(br *bufio.Reader, left *int64) (chunkHeader, error) {
	var c chunkHeader
	if _, err := io.ReadFull(br, c.raw[:]); err != nil {
		return c, notAllowed("png without IEND")
	}
	c.length = int64(binary.BigEndian.Uint32(c.raw[:4]))
	c.typ = string(c.raw[4:])
	*left -= 8
	if c.length > 1<<31-1 || c.length+4 > *left {
		return c, notAllowed("png chunk longer than the file")
	}
	*left -= c.length + 4
	for _, b := range c.raw[4:] {
		if !(b >= 'A' && b <= 'Z' || b >= 'a' && b <= 'z') {
			return c, notAllowed("malformed png chunk type")
		}
	}
	return c, nil
}

// keepChunk decides whether chunk c is kept: only a chunk in pngKept, and
// only at a size it may have. A critical chunk of another size refuses the
// file; an ancillary one is dropped.
func keepChunk(c chunkHeader) (bool, error) {
	// Security: an allowlist. Exif in its old spellings (exIf, zxIf),
	// C2PA content credentials (caBX), text, times, animation frames
	// and private chunks all go: any of them may carry a location.
	size, keep := pngKept[c.typ]
	if keep && (c.length < size.min || c.length > size.max || c.typ == "PLTE" && c.length%3 != 0) {
		// Security: a kept chunk longer than its data would carry
		// whatever follows the data.
		if critical := c.typ[0] <= 'Z'; critical {
			return false, notAllowed("png critical chunk of the wrong size")
		}
		keep = false
	}
	return keep, nil
}

// copyChunk reads the data and CRC of chunk c, whose header is read, and
// checks the CRC; if keep, it copies the whole chunk to bw.
func copyChunk(br *bufio.Reader, bw *bufio.Writer, c chunkHeader, keep bool) error {
	dst := io.Discard
	if keep {
		bw.Write(c.raw[:])
		dst = bw
	}
	crc := crc32.NewIEEE()
	crc.Write(c.raw[4:])
	if _, err := io.CopyN(io.MultiWriter(dst, crc), br, c.length); err != nil {
		return notAllowed("truncated png")
	}
	var sum [4]byte
	if _, err := io.ReadFull(br, sum[:]); err != nil {
		return notAllowed("truncated png")
	}
	if binary.BigEndian.Uint32(sum[:]) != crc.Sum32() {
		return notAllowed("png chunk CRC mismatch")
	}
	if keep {
		bw.Write(sum[:])
	}
	return nil
}

// decodesAs checks that a standard decoder reads r's header as type t.
func decodesAs(r io.Reader, t Type) error {
	var err error
	switch t {
	case JPEG:
		_, err = jpeg.DecodeConfig(r)
	case PNG:
		_, err = png.DecodeConfig(r)
	default:
		err = errors.New("not an image")
	}
	if err != nil {
		return notAllowed("image does not decode")
	}
	return nil
}
