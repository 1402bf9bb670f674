// Package export is "Download my data" (issue 17, UK GDPR right of
// access): a person asks, a job (River, queue Queue) builds a zip of their
// own data, they are emailed "Your data is ready" and download it while
// signed in, for Keep; then it is deleted. A portal admin can make the same
// export for a person (a request made on paper): it is the admin's to
// download, and audited.
//
// Invariants:
//   - An export holds only what is the person's own or was shared with
//     them: their profile and the records they hold; the threads where they
//     are the holder (never a co-holder's), with their files; the forms
//     sent to them, their answers and the PDFs of what they submitted; the
//     documents sent to them (not withdrawn); their own events in the audit
//     trail. Every query takes the person's id; nothing else is read.
//   - The zip is kept encrypted (crypt.go) under a key of its own, sealed
//     with ENCRYPTION_KEYS in its row ("export.key:<id>"), under a random
//     object key. The email says only that it is ready, with a sign-in link.
//   - Only whoever asked for it downloads it (the person, or the admin who
//     made it), while it is ready and not past expires_at; anyone else gets
//     the 404 of one that does not exist. Every request, download and
//     deletion is audited.
//   - Exports past Keep are deleted by the clean-up job (DeleteExpired):
//     the object goes, the row stays as "deleted" for the trail.
package export

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"time"

	"gorm.io/gorm"

	"portal/app/clock"
	"portal/app/db"
	"portal/app/seal"
	"portal/app/uploads"
	"portal/storage"
)

// Keep is how long a ready export can be downloaded.
const Keep = 7 * 24 * time.Hour

// The export's states.
const (
	Pending = "pending"
	Ready   = "ready"
	Failed  = "failed"
	Deleted = "deleted"
)

// ErrNotFound is an export that is not there, not the reader's, or no
// longer ready.
var ErrNotFound = fmt.Errorf("export: %w", db.ErrNotFound)

// Export is one request for a person's data.
type Export struct {
	ID          int64
	PersonID    int64
	RequestedBy int64
	Status      string
	ObjectKey   *string
	SealedKey   *string
	Size        *int64
	CreatedAt   time.Time
	ReadyAt     *time.Time
	ExpiresAt   *time.Time
}

// TableName keeps GORM on the data_exports table.
func (Export) TableName() string { return "data_exports" }

// ByAdmin reports whether an admin made it for the person.
func (e Export) ByAdmin() bool { return e.RequestedBy != e.PersonID }

// Store keeps exports: rows in Postgres, the encrypted zips in storage.
type Store struct {
	db      *gorm.DB
	objects storage.Store
	sealer  *seal.Sealer
	clock   clock.Clock
}

// NewStore returns the store.
func NewStore(db *gorm.DB, objects storage.Store, sealer *seal.Sealer, clk clock.Clock) *Store {
	return &Store{db: db, objects: objects, sealer: sealer, clock: clk}
}

// Prefix is what every export's object key starts with.
const Prefix = "exports/"

// Referenced reports which of keys an export's row names, for the storage
// sweeper (app/jobs): an object no row names is an orphan (a build whose
// row could not be marked ready).
func (s *Store) Referenced(ctx context.Context, keys []string) (map[string]bool, error) {
	out := map[string]bool{}
	if len(keys) == 0 {
		return out, nil
	}
	var found []string
	if err := s.db.WithContext(ctx).Raw(`SELECT object_key FROM data_exports WHERE object_key IN ?`, keys).Scan(&found).Error; err != nil {
		return nil, fmt.Errorf("export: referenced: %w", err)
	}
	for _, k := range found {
		out[k] = true
	}
	return out, nil
}

// keyPurpose binds an export's sealed key to its row.
func keyPurpose(id int64) string { return fmt.Sprintf("export.key:%d", id) }

// create adds a pending export of person's data asked for by by, in tx.
func (s *Store) create(ctx context.Context, tx *gorm.DB, person, by int64) (*Export, error) {
	e := &Export{PersonID: person, RequestedBy: by, Status: Pending, CreatedAt: s.clock.Now()}
	if err := tx.WithContext(ctx).Create(e).Error; err != nil {
		return nil, fmt.Errorf("export: create: %w", err)
	}
	return e, nil
}

// pendingFor reports whether an export of person's data asked for by by
// is being made, in tx.
func (s *Store) pendingFor(ctx context.Context, tx *gorm.DB, person, by int64) (bool, error) {
	var n int64
	err := tx.WithContext(ctx).Model(&Export{}).Where("person_id = ? AND requested_by = ? AND status = ?", person, by, Pending).
		Count(&n).Error
	return n > 0, err
}

// List is person's exports asked for by by, newest first.
func (s *Store) List(ctx context.Context, person, by int64) ([]Export, error) {
	var out []Export
	err := s.db.WithContext(ctx).Where("person_id = ? AND requested_by = ? AND status <> ?", person, by, Deleted).
		Order("id DESC").Limit(10).Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("export: list: %w", err)
	}
	for i := range out {
		if e := &out[i]; e.Status == Ready && !e.ExpiresAt.After(s.clock.Now()) {
			e.Status = Deleted // past its time: the clean-up job deletes it
		}
	}
	return out, nil
}

// Get is export id of person asked for by by, if it can be downloaded now.
func (s *Store) Get(ctx context.Context, person, by, id int64) (*Export, error) {
	var e Export
	err := s.db.WithContext(ctx).Where("id = ? AND person_id = ? AND requested_by = ? AND status = ? AND expires_at > ?",
		id, person, by, Ready, s.clock.Now()).Take(&e).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("export: get: %w", err)
	}
	return &e, nil
}

var errMadeElsewhere = errors.New("export: made by another run")

// store encrypts the zip in plain (size bytes) under a new key and keeps
// it, then marks the export ready until Keep from now and runs then (its
// audit event, then its email) in the same transaction: a machine stopped
// part-way leaves the export pending without its event, and the job's
// next run makes it again; once committed, the next run finds it ready
// and does nothing. The email is queued last, on its own connection
// (notify.Send), so a run cut off between it and the commit has sent it,
// and the run that makes the export again sends it once more: an email
// twice, never none.
func (s *Store) store(ctx context.Context, e *Export, plain io.Reader, size int64, then func(tx *gorm.DB) error) error {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return err
	}
	sealed, err := s.sealer.Seal(keyPurpose(e.ID), key)
	if err != nil {
		return err
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(encrypt(pw, plain, key, e.ID)) }()
	object := storage.NewKey(Prefix)
	// The encrypted file is the zip and 32 bytes a 64 KiB chunk, and more.
	limit := size + (size/chunkSize+2)*32 + int64(len(magic))
	if _, err := s.objects.Put(ctx, object, pr, limit, storage.Meta{ContentType: "application/octet-stream"}); err != nil {
		pr.CloseWithError(err)
		return fmt.Errorf("export: store: %w", err)
	}
	now := s.clock.Now()
	expires := now.Add(Keep)
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(e).Where("status = ?", Pending).Updates(map[string]any{"status": Ready, "object_key": object,
			"sealed_key": sealed, "size": size, "ready_at": now, "expires_at": expires})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return errMadeElsewhere // another run (a machine thought lost) made it
		}
		return then(tx)
	})
	if err != nil {
		_ = s.objects.Delete(context.WithoutCancel(ctx), object)
		if errors.Is(err, errMadeElsewhere) {
			return nil
		}
		return fmt.Errorf("export: ready: %w", err)
	}
	e.Status, e.ObjectKey, e.SealedKey, e.Size, e.ReadyAt, e.ExpiresAt = Ready, &object, &sealed, &size, &now, &expires
	return nil
}

// fail marks the export failed: the person is told to ask again.
func (s *Store) fail(ctx context.Context, id int64) error {
	return s.db.WithContext(ctx).Model(&Export{}).Where("id = ? AND status = ?", id, Pending).Update("status", Failed).Error
}

// Open streams e's zip, decrypted; the caller closes it.
func (s *Store) Open(ctx context.Context, e *Export) (io.ReadCloser, error) {
	if e.ObjectKey == nil || e.SealedKey == nil {
		return nil, ErrNotFound
	}
	key, err := s.sealer.Open(keyPurpose(e.ID), *e.SealedKey)
	if err != nil {
		return nil, err
	}
	r, _, err := s.objects.Get(ctx, *e.ObjectKey)
	if err != nil {
		return nil, err
	}
	plain, err := decrypt(r, key, e.ID)
	if err != nil {
		r.Close()
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{plain, r}, nil
}

// DeleteExpired deletes the files of exports past their time, and returns
// how many. A row is marked deleted only once its object is gone.
func (s *Store) DeleteExpired(ctx context.Context) (int, error) {
	var due []Export
	err := s.db.WithContext(ctx).Where("status = ? AND expires_at <= ?", Ready, s.clock.Now()).Order("id").Limit(500).
		Find(&due).Error
	if err != nil {
		return 0, fmt.Errorf("export: expired: %w", err)
	}
	for _, e := range due {
		if err := s.objects.Delete(ctx, *e.ObjectKey); err != nil {
			return 0, fmt.Errorf("export: delete %d: %w", e.ID, err)
		}
		err := s.db.WithContext(ctx).Model(&Export{}).Where("id = ?", e.ID).
			Updates(map[string]any{"status": Deleted, "sealed_key": nil}).Error
		if err != nil {
			return 0, fmt.Errorf("export: delete %d: %w", e.ID, err)
		}
	}
	return len(due), nil
}

// SizeText is the zip's size as the page shows it.
func (e Export) SizeText() string {
	if e.Size == nil {
		return ""
	}
	return uploads.SizeText(*e.Size)
}
