// Package attachments keeps the files a message carries (issue 16): photos
// and scans on a recording, a message or a worker's reply.
//
// Invariants:
//   - A file is kept only after uploads.Prepare passed it (its type by
//     content: JPEG, PNG or PDF; photos' location and other metadata
//     stripped; the virus scanner), at most MaxSize, at most MaxFiles a
//     message. A HEIC photo (an iPhone's default) is refused with its own
//     message, ErrHEIC: nothing here converts it.
//   - Objects are stored under random keys, never the file's name; the name
//     is kept for the download only.
//   - A file is reached only through its thread (ForMessages, Get take the
//     thread's id), and callers get the thread from their own scoped loader
//     (the holder's thread on their record, the team's thread): another
//     holder or another team gets the same 404 as for nothing.
//   - Lists show a thumbnail made here from an image (JPEG, at most
//     ThumbWidth wide), never the original; a PDF has none.
package attachments

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	_ "image/png" // decodes PNG uploads for their thumbnails
	"io"
	"time"

	"golang.org/x/image/draw"
	"gorm.io/gorm"

	"portal/app/clock"
	"portal/app/db"
	"portal/app/uploads"
	"portal/storage"
)

// The limits.
const (
	MaxFiles   = 5
	MaxSize    = 10 << 20
	ThumbWidth = 320
	// maxPixels bounds an image a thumbnail is made from: a small file can
	// claim a huge picture, and decoding it would take the memory.
	maxPixels = 50_000_000
)

// ErrHEIC is a HEIC or HEIF photo.
var ErrHEIC = errors.New("attachments: HEIC photos are not accepted")

// ErrNotFound is a file that is not there, or not the reader's.
var ErrNotFound = fmt.Errorf("attachments: %w", db.ErrNotFound)

// Attachment is one kept file.
type Attachment struct {
	ID          int64
	MessageID   int64
	ThreadID    int64
	Name        string
	ContentType string
	Size        int64
	SHA256      string `gorm:"column:sha256"`
	ObjectKey   string
	ThumbKey    *string
	CreatedAt   time.Time
}

// SizeText is the file's size as the pages show it.
func (a Attachment) SizeText() string { return uploads.SizeText(a.Size) }

// IsImage reports whether the file shows as a picture (it has a thumbnail).
func (a Attachment) IsImage() bool { return a.ThumbKey != nil }

// Store keeps attachments: rows in Postgres, bytes in object storage.
type Store struct {
	db      *gorm.DB
	objects storage.Store
	clock   clock.Clock
}

// NewStore returns the store.
func NewStore(db *gorm.DB, objects storage.Store, clk clock.Clock) *Store {
	return &Store{db: db, objects: objects, clock: clk}
}

// Prefix is what every file's and thumbnail's object key starts with.
const Prefix = "attachments/"

// Referenced reports which of keys an attachment's row names, as its file
// or its thumbnail, for the storage sweeper (app/jobs): an object no row
// names is an orphan (a message whose transaction rolled back).
func (s *Store) Referenced(ctx context.Context, keys []string) (map[string]bool, error) {
	out := map[string]bool{}
	if len(keys) == 0 {
		return out, nil
	}
	var found []string
	err := s.db.WithContext(ctx).Raw(`SELECT object_key FROM attachments WHERE object_key IN ?
		UNION SELECT thumb_key FROM attachments WHERE thumb_key IN ?`, keys, keys).Scan(&found).Error
	if err != nil {
		return nil, fmt.Errorf("attachments: referenced: %w", err)
	}
	for _, k := range found {
		out[k] = true
	}
	return out, nil
}

// Prepare checks one uploaded file as Save will keep it, spooled to a
// temporary file: the caller closes it.
func Prepare(ctx context.Context, r io.Reader, s uploads.Scanner) (*uploads.File, error) {
	head := make([]byte, 12)
	n, err := io.ReadFull(r, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, err
	}
	head = head[:n]
	if isHEIC(head) {
		return nil, ErrHEIC
	}
	f, err := uploads.Prepare(ctx, io.MultiReader(bytes.NewReader(head), r), MaxSize, "", s)
	if err != nil {
		return nil, err
	}
	if f.Type != uploads.JPEG && f.Type != uploads.PNG && f.Type != uploads.PDF {
		f.Close()
		return nil, fmt.Errorf("%w: not a photo or a PDF", uploads.ErrNotAllowed)
	}
	return f, nil
}

// isHEIC reads an ISO media file's brand: HEIC and HEIF photos.
func isHEIC(head []byte) bool {
	if len(head) < 12 || string(head[4:8]) != "ftyp" {
		return false
	}
	switch string(head[8:12]) {
	case "heic", "heix", "hevc", "hevx", "heim", "heis", "mif1", "msf1", "avif":
		return true
	}
	return false
}

// Upload is a prepared file and the name it came with.
type Upload struct {
	File *uploads.File
	Name string
}

// Save keeps the files of message messageID on thread threadID, in tx (the
// message's own transaction). The objects are written first: if tx rolls
// back (storage down: storage.ErrUnavailable) they are left without rows,
// unreachable, which loses nothing, and the storage sweep (app/jobs)
// deletes them a day later.
func (s *Store) Save(ctx context.Context, tx *gorm.DB, threadID, messageID int64, files []Upload) error {
	for _, u := range files {
		a := Attachment{MessageID: messageID, ThreadID: threadID, Name: uploads.SafeFileName(u.Name, "", u.File.Type),
			ContentType: u.File.Type.ContentType, Size: u.File.Size, SHA256: u.File.SHA256, CreatedAt: s.clock.Now()}
		var err error
		if a.ObjectKey, err = s.put(ctx, u.File, u.File.Size, u.File.Type.ContentType, a.Name); err != nil {
			return err
		}
		if u.File.Type == uploads.JPEG || u.File.Type == uploads.PNG {
			thumb, err := thumbnail(u.File)
			if err != nil {
				return err
			}
			key, err := s.put(ctx, bytes.NewReader(thumb), int64(len(thumb)), "image/jpeg", "")
			if err != nil {
				return err
			}
			a.ThumbKey = &key
		}
		if err := tx.WithContext(ctx).Create(&a).Error; err != nil {
			return fmt.Errorf("attachments: save: %w", err)
		}
	}
	return nil
}

// put stores r under a new random key.
func (s *Store) put(ctx context.Context, r io.Reader, size int64, contentType, name string) (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	key := Prefix + hex.EncodeToString(b)
	if _, err := s.objects.Put(ctx, key, r, size, storage.Meta{ContentType: contentType, FileName: name}); err != nil {
		return "", fmt.Errorf("attachments: store: %w", err)
	}
	return key, nil
}

// thumbnail is a JPEG of f at most ThumbWidth wide.
func thumbnail(f *uploads.File) ([]byte, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	cfg, _, err := image.DecodeConfig(f)
	if err != nil {
		return nil, fmt.Errorf("attachments: thumbnail: %w", err)
	}
	if cfg.Width*cfg.Height > maxPixels {
		return nil, fmt.Errorf("%w: picture too large to show", uploads.ErrNotAllowed)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	src, _, err := image.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("attachments: thumbnail: %w", err)
	}
	w, h := src.Bounds().Dx(), src.Bounds().Dy()
	if w > ThumbWidth {
		w, h = ThumbWidth, max(1, h*ThumbWidth/w)
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.ApproxBiLinear.Scale(dst, dst.Bounds(), src, src.Bounds(), draw.Src, nil)
	var b bytes.Buffer
	if err := jpeg.Encode(&b, dst, &jpeg.Options{Quality: 75}); err != nil {
		return nil, err
	}
	_, err = f.Seek(0, io.SeekStart)
	return b.Bytes(), err
}

// ForMessages lists the files of thread threadID's messages first to last
// (ids; a page of the thread), by message, in order.
func (s *Store) ForMessages(ctx context.Context, threadID, first, last int64) (map[int64][]Attachment, error) {
	var rows []Attachment
	err := s.db.WithContext(ctx).Where("thread_id = ? AND message_id BETWEEN ? AND ?", threadID, first, last).
		Order("id").Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("attachments: list: %w", err)
	}
	return byMessage(rows), nil
}

// ForMessageIDs lists the files of messages ids, by message, in order: for
// a list the caller already scoped to the reader (their recordings).
func (s *Store) ForMessageIDs(ctx context.Context, ids []int64) (map[int64][]Attachment, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var rows []Attachment
	if err := s.db.WithContext(ctx).Where("message_id IN ?", ids).Order("id").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("attachments: list: %w", err)
	}
	return byMessage(rows), nil
}

func byMessage(rows []Attachment) map[int64][]Attachment {
	out := map[int64][]Attachment{}
	for _, a := range rows {
		out[a.MessageID] = append(out[a.MessageID], a)
	}
	return out
}

// Get is file id of thread threadID, or ErrNotFound.
func (s *Store) Get(ctx context.Context, threadID, id int64) (*Attachment, error) {
	var a Attachment
	err := s.db.WithContext(ctx).Where("thread_id = ? AND id = ?", threadID, id).Take(&a).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("attachments: get: %w", err)
	}
	return &a, nil
}

// Open streams a's bytes, or its thumbnail's; the caller closes it.
func (s *Store) Open(ctx context.Context, a *Attachment, thumb bool) (io.ReadCloser, storage.Info, error) {
	key := a.ObjectKey
	if thumb {
		if a.ThumbKey == nil {
			return nil, storage.Info{}, ErrNotFound
		}
		key = *a.ThumbKey
	}
	return s.objects.Get(ctx, key)
}
