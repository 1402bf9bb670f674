// Package uploads checks a file someone uploads before anything keeps it.
//
// Workers upload documents that are sent to families, so a file that gets
// through here ends up on a family's phone. Prepare spools the upload to a
// private temporary file, decides what it is from its bytes, removes what
// could identify or locate a child from images, and asks a virus scanner.
//
// Invariants:
//   - Only PDF, DOCX, JPEG and PNG are accepted, and the type is decided by
//     content alone: the uploader's file name and declared Content-Type are
//     never inputs (Prepare does not take them). Everything else, including
//     SVG, HTML, XML, plain ZIP, legacy Office (OLE, which also covers
//     encrypted OOXML), macro-enabled or template OOXML, spreadsheets,
//     presentations, executables and empty files, is refused.
//   - At most limit bytes (never more than Limit) are read from the
//     uploader; the upload is never held in memory but spooled to a file
//     created with mode 0600 and O_EXCL. Every error path removes every
//     temporary file Prepare made; File.Close removes the last one.
//   - A DOCX is checked without extracting it, streaming only
//     [Content_Types].xml (at most 1 MiB), the relationships parts (at most
//     200, 1 MiB each) and the WordprocessingML parts (body, headers,
//     footers, notes, comments: at most 20 MiB together; a larger document
//     is refused as too large to check). Declared sizes are checked first
//     and never trusted, and an archive with more than 10,000 entries is
//     refused, so a zip bomb costs nothing. A document is refused if it
//     has a VBA project, ActiveX control or embedded OLE object; an
//     altChunk (a foreign document Word merges in); any relationship
//     leaving the package other than a hyperlink (remote templates, OLE
//     objects as in Follina, frames, subdocuments, controls, and remote
//     images, which tell whoever serves them when a family opened the
//     document); a DDE or DDEAUTO field, or a field whose name another
//     field computes; or an INCLUDETEXT, INCLUDEPICTURE or LINK field that
//     fetches from a web address or a network share.
//   - A PDF must be one: its header, and a cross-reference where its last
//     startxref says. It is refused if it names JavaScript, a Launch
//     action, an embedded file or rich media anywhere, names written with
//     #xx escapes and Flate-compressed streams (object streams) included,
//     or if it is encrypted (which would hide them). Streams under other
//     filters are not looked into; at most 64 MiB is inflated in all, and
//     a file with more is refused.
//   - Standalone JPEG and PNG files are rewritten keeping only an allowlist
//     of what is needed to show them: JPEG frames, tables, scans, JFIF
//     without its thumbnail, ICC profiles, the Adobe colour transform and a
//     minimal Exif holding only a non-default Orientation (so photos are
//     not shown rotated); PNG critical chunks and the colour and
//     transparency chunks. Everything else goes: Exif (GPS, camera serial
//     numbers, thumbnails) in every spelling, XMP, IPTC, C2PA, comments,
//     text, timestamps, private and unknown segments or chunks, and
//     anything after the end of the image.
//   - Documents are never rewritten: pictures inside a DOCX or a PDF keep
//     their metadata, Exif GPS included. Only standalone images are
//     stripped; the worker is responsible for what they put in a document.
//   - The scanner sees exactly the bytes that will be stored, and File.Size
//     and File.SHA256 describe those bytes. A scanner error of any kind
//     refuses the file (fail closed).
//   - SafeFileName is for showing and offering a download only; stored
//     objects are keyed by opaque ids, never by the uploader's name.
package uploads

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"

	"portal/storage"
)

// Limit is the largest upload accepted: 25 MiB.
const Limit int64 = 25 << 20

// Type is an accepted kind of file.
type Type struct {
	ContentType string // the media type to store and serve the file with
	Ext         string // the file name extension, with its dot
}

// The accepted types.
var (
	// PDF is a PDF document.
	PDF = Type{ContentType: "application/pdf", Ext: ".pdf"}
	// DOCX is a Word document without macros.
	DOCX = Type{ContentType: "application/vnd.openxmlformats-officedocument.wordprocessingml.document", Ext: ".docx"}
	// JPEG is a JPEG image.
	JPEG = Type{ContentType: "image/jpeg", Ext: ".jpg"}
	// PNG is a PNG image.
	PNG = Type{ContentType: "image/png", Ext: ".png"}
)

// Errors Prepare returns for a refused file. They may be wrapped with the
// reason (never with anything from the file), so compare with errors.Is.
var (
	// ErrTooLarge means the upload is more than the limit.
	ErrTooLarge = errors.New("uploads: file is larger than the limit")
	// ErrEmpty means the upload has no bytes.
	ErrEmpty = errors.New("uploads: file is empty")
	// ErrNotAllowed means the upload is not one of the accepted types
	// (this includes macro-enabled Word documents and malformed images).
	ErrNotAllowed = errors.New("uploads: type of file is not allowed")
	// ErrInfected means the scanner refused the file.
	ErrInfected = errors.New("uploads: virus scanner refused the file")
)

// Scanner is a virus scanner called on every file before it is stored.
// Scan returns an error wrapping ErrInfected when f is infected, and any
// other error when it could not scan; either refuses the file.
type Scanner interface {
	Scan(ctx context.Context, f io.ReaderAt, size int64) error
}

// NoScan is the default scanner: it accepts everything (the council plugs
// in its own, e.g. clamd).
type NoScan struct{}

// Scan accepts f.
func (NoScan) Scan(context.Context, io.ReaderAt, int64) error { return nil }

// File is a checked upload spooled to a private temporary file on disk,
// never held in memory. It is an io.Reader, io.Seeker and io.ReaderAt over
// the final bytes, so it can be streamed into object storage. A File is not
// safe for concurrent use, except ReadAt.
type File struct {
	Type   Type
	Size   int64
	SHA256 string // hex of the final bytes

	f    *os.File
	path string
}

// Read reads the next bytes of the file.
func (f *File) Read(p []byte) (int, error) {
	if f.f == nil {
		return 0, os.ErrClosed
	}
	return f.f.Read(p)
}

// Seek sets where the next Read starts.
func (f *File) Seek(offset int64, whence int) (int64, error) {
	if f.f == nil {
		return 0, os.ErrClosed
	}
	return f.f.Seek(offset, whence)
}

// ReadAt reads len(p) bytes from offset off.
func (f *File) ReadAt(p []byte, off int64) (int, error) {
	if f.f == nil {
		return 0, os.ErrClosed
	}
	return f.f.ReadAt(p, off)
}

// Close removes the temporary file. It is safe to call twice.
func (f *File) Close() error {
	if f.f == nil {
		return nil
	}
	err := f.f.Close()
	// Security: the bytes are about a child; they must not outlive the request.
	if rerr := os.Remove(f.path); rerr != nil && !errors.Is(rerr, os.ErrNotExist) && err == nil {
		err = rerr
	}
	f.f = nil
	return err
}

// create makes an empty private temporary file in dir.
func create(dir string) (*File, error) {
	// Security: CreateTemp opens with O_EXCL and mode 0600, so no other
	// user can read the upload or plant a file for us to write through.
	f, err := os.CreateTemp(dir, "upload-*")
	if err != nil {
		return nil, fmt.Errorf("uploads: temporary file: %w", err)
	}
	return &File{f: f, path: f.Name()}, nil
}

// Prepare reads r (at most limit bytes; one more is ErrTooLarge), spooling
// it to a temporary file in dir ("" is os.TempDir()), then detects its type
// by content (ErrNotAllowed, ErrEmpty), strips identifying metadata from
// images, runs s on the final bytes (a nil s is NoScan) and returns the
// File, positioned at its start. A limit of zero or less, or more than
// Limit, means Limit. Any error removes every temporary file. ctx is
// checked between reads and before scanning.
func Prepare(ctx context.Context, r io.Reader, limit int64, dir string, s Scanner) (*File, error) {
	if limit <= 0 || limit > Limit {
		limit = Limit
	}
	if s == nil {
		s = NoScan{}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	f, err := create(dir)
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
		}
	}()

	h := sha256.New()
	// Security: one byte more than the limit is enough to know it is too
	// large; the rest of the upload is never read.
	n, err := io.Copy(io.MultiWriter(f.f, h), io.LimitReader(storage.ContextReader(ctx, r), limit+1))
	if err != nil {
		return nil, fmt.Errorf("uploads: reading upload: %w", err)
	}
	if n > limit {
		return nil, ErrTooLarge
	}
	if n == 0 {
		return nil, ErrEmpty
	}

	t, err := detect(f.f, n)
	if err != nil {
		return nil, err
	}

	if t == JPEG || t == PNG {
		out, err := stripped(f, n, t, dir)
		if err != nil {
			return nil, err
		}
		f.Close()
		f = out
	} else {
		f.Size = n
		f.SHA256 = hex.EncodeToString(h.Sum(nil))
	}
	f.Type = t

	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// Security: the scanner gets a read-only view of exactly the stored bytes.
	if err := s.Scan(ctx, io.NewSectionReader(f.f, 0, f.Size), f.Size); err != nil {
		return nil, fmt.Errorf("uploads: scan: %w", err)
	}
	if _, err := f.f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("uploads: rewind: %w", err)
	}
	ok = true
	return f, nil
}

// stripped writes the image in src (n bytes of type t) without metadata to
// a new temporary file and returns it with Size and SHA256 set.
func stripped(src *File, n int64, t Type, dir string) (*File, error) {
	out, err := create(dir)
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	cw := &countWriter{}
	w := io.MultiWriter(out.f, h, cw)
	in := io.NewSectionReader(src.f, 0, n)
	if t == JPEG {
		err = stripJPEG(in, w)
	} else {
		err = stripPNG(in, n, w)
	}
	if err == nil {
		// The walk above checks structure; this checks a decoder agrees
		// that what we wrote is an image of the type we claim.
		err = decodesAs(io.NewSectionReader(out.f, 0, cw.n), t)
	}
	if err != nil {
		out.Close()
		return nil, err
	}
	out.Size = cw.n
	out.SHA256 = hex.EncodeToString(h.Sum(nil))
	return out, nil
}

// countWriter counts what is written through it.
type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

// refusals are the refusals every upload form words alike, with their
// messages' keys (locales, [uploads]). A type not allowed and a file too
// large are worded by each form: what it takes differs.
var refusals = []struct {
	err error
	key string
}{
	{ErrEmpty, "uploads.error_empty"},
	{ErrPDFDamaged, "uploads.error_pdf_damaged"},
	{ErrPDFActive, "uploads.error_pdf_active"},
	{ErrPDFEncrypted, "uploads.error_pdf_encrypted"},
	{ErrInfected, "uploads.error_infected"},
}

// Refusal is the message key telling the person why Prepare refused their
// file with err, or "" for an error that is no refusal of theirs.
func Refusal(err error) string {
	for _, r := range refusals {
		if errors.Is(err, r.err) {
			return r.key
		}
	}
	return ""
}
