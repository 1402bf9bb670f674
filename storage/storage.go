// Package storage keeps uploaded documents in object storage: a local
// directory (Local) or any S3-compatible service (S3).
//
// Security invariants, held by every Store:
//
//   - Object keys are opaque ids chosen by the caller (see NewKey), never user
//     file names. A key must match ValidKey; anything else is refused with
//     ErrInvalidKey before any file or request is made, so a key cannot
//     traverse out of the store. Do not use a key that is also the
//     "directory" of another ("a" and "a/b"): file-backed S3 servers such as
//     versitygw's posix gateway refuse it. Keys from NewKey never collide so.
//   - The original file name is metadata only (Meta.FileName): it never
//     becomes part of a path or key.
//   - Put enforces its size limit while streaming. When the upload exceeds the
//     limit Put returns ErrTooLarge and nothing is left behind: no partial
//     object, no temporary file, and an existing object under the same key is
//     untouched.
//   - Get streams the object; it never loads it into memory. Callers serve it
//     only through an authorised handler.
//   - A failure of the service behind the store (S3 down, a disk failing)
//     wraps ErrUnavailable, so callers can say "try again later" rather
//     than "not found" or a bare 500.
package storage

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"regexp"
	"strings"
	"time"
)

// Store keeps objects under opaque keys.
type Store interface {
	// Put stores r under key, reading at most limit bytes; more → ErrTooLarge and nothing stored.
	Put(ctx context.Context, key string, r io.Reader, limit int64, meta Meta) (Info, error)
	// Get streams the object under key; the caller closes it. Missing → ErrNotFound.
	Get(ctx context.Context, key string) (io.ReadCloser, Info, error)
	// Stat describes the object under key. Missing → ErrNotFound.
	Stat(ctx context.Context, key string) (Info, error)
	// Delete removes the object under key; deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// Ping reports whether the store is reachable, for /readyz.
	Ping(ctx context.Context) error
	// List calls fn for every object whose key starts with prefix (""
	// for all), each once, in no particular order, with its Key, Size and
	// ModTime (ContentType and FileName may be empty: Stat or Get give
	// them). An error from fn stops the walk and is returned. A prefix is
	// key text, optionally ending in '/'; anything else → ErrInvalidKey.
	// Backups walk the store with it (app/backup).
	List(ctx context.Context, prefix string, fn func(Info) error) error
}

// Meta is what the caller tells the store about an object when putting it.
type Meta struct {
	// ContentType is the declared media type; empty or malformed becomes
	// DefaultContentType.
	ContentType string
	// FileName is the uploader's original file name, kept as metadata only.
	FileName string
}

// Info describes a stored object.
type Info struct {
	Key         string
	Size        int64
	ContentType string
	FileName    string
	ModTime     time.Time
}

// DefaultContentType is stored when Meta.ContentType is empty or malformed.
const DefaultContentType = "application/octet-stream"

var (
	// ErrNotFound means no object is stored under the key.
	ErrNotFound = errors.New("storage: object not found")
	// ErrTooLarge means the upload exceeded the limit given to Put.
	ErrTooLarge = errors.New("storage: object too large")
	// ErrInvalidKey means the key does not match ValidKey.
	ErrInvalidKey = errors.New("storage: invalid object key")
	// ErrUnavailable means the store could not be reached or could not do
	// the work just now (the S3 service down or refusing, the disk failing);
	// asking again later may succeed. A Put that fails so may still have
	// left its object (its answer was lost): the caller writes no row for
	// it, and such an orphan is swept (app/jobs). Errors that carry it also
	// carry the cause.
	ErrUnavailable = errors.New("storage: unavailable")
)

// unavailable marks err, from the service behind a store, as ErrUnavailable.
// A cancelled or expired context is the caller's, not the service's.
func unavailable(op, key string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("storage: %s %s: %w", op, key, err)
	}
	return fmt.Errorf("%w: %s %s: %w", ErrUnavailable, op, key, err)
}

// keyPattern has no dot, so no key can contain ".." or name a sidecar file.
var keyPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9/_-]{0,200}$`)

// ValidKey reports whether key is an acceptable object key: lower-case
// letters, digits, '_', '-' and '/' separating non-empty segments, starting
// with a letter or digit, at most 201 characters.
func ValidKey(key string) bool {
	// Security: no empty segments, so no absolute or directory-like keys.
	return keyPattern.MatchString(key) && !strings.Contains(key, "//") && !strings.HasSuffix(key, "/")
}

func checkKey(key string) error {
	if !ValidKey(key) {
		return fmt.Errorf("%w: %q", ErrInvalidKey, key)
	}
	return nil
}

// checkPrefix accepts "" and key text, optionally ending in '/', so a
// prefix, like a key, cannot name a path outside the store.
func checkPrefix(prefix string) error {
	if prefix != "" && !ValidKey(strings.TrimSuffix(prefix, "/")) {
		return fmt.Errorf("%w: prefix %q", ErrInvalidKey, prefix)
	}
	return nil
}

// NewKey returns prefix followed by a random 128-bit id in hex, for example
// NewKey("documents/"). The prefix must itself be valid key text.
func NewKey(prefix string) string {
	var b [16]byte
	rand.Read(b[:]) // never fails: crypto/rand crashes the program instead
	return prefix + hex.EncodeToString(b[:])
}

// cleanMeta gives both stores the same, header-safe content type.
func cleanMeta(m Meta) Meta {
	m.ContentType = normalizeContentType(m.ContentType)
	return m
}

func normalizeContentType(ct string) string {
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return DefaultContentType
	}
	// Security: FormatMediaType yields ASCII only, so no header injection.
	if s := mime.FormatMediaType(mt, params); s != "" {
		return s
	}
	return DefaultContentType
}

// copyLimited copies r to w, stopping with ErrTooLarge as soon as more than
// limit bytes arrive (it reads at most limit+1), and honours ctx between reads.
func copyLimited(ctx context.Context, w io.Writer, r io.Reader, limit int64) (int64, error) {
	if limit < 0 {
		return 0, fmt.Errorf("storage: negative limit %d", limit)
	}
	most := limit
	if most < 1<<62 {
		most++ // one byte more than allowed proves the upload is too large
	}
	n, err := io.Copy(w, io.LimitReader(ContextReader(ctx, r), most))
	if err != nil {
		return n, err
	}
	if n > limit {
		return n, ErrTooLarge
	}
	return n, nil
}

// ContextReader reads r until ctx is done: a copy from a client that has
// gone away, or whose time is up, stops at its next read.
func ContextReader(ctx context.Context, r io.Reader) io.Reader { return ctxReader{ctx, r} }

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
