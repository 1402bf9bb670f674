package export

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/riverqueue/river"
	"gorm.io/gorm"

	"portal/app/accounts"
	"portal/app/audit"
	"portal/app/notify"
	"portal/app/queue"
)

// Queue is the River queue exports are made on, one at a time per machine.
const Queue = "exports"

// Deps are what the service works with.
type Deps struct {
	Store    *Store
	Sources  Sources
	Queue    *queue.Queue
	Notifier *notify.Notifier
	People   *accounts.Store
	Audit    *audit.Log
	Log      *slog.Logger
	// Links are the paths the "ready" emails lead to: the person's page of
	// exports, and an admin's page of the person.
	PersonLink func() string
	AdminLink  func(person int64) string
}

// Service asks for exports and makes them.
type Service struct{ Deps }

// New returns the service and adds its queue and worker to d.Queue.
func New(d Deps) (*Service, error) {
	s := &Service{Deps: d}
	err := d.Queue.Add(Queue, 1, func(ws *river.Workers) error {
		return river.AddWorkerSafely[jobArgs](ws, &worker{s: s})
	})
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	return s, nil
}

// Request asks for an export of person's data by by (the person, or an
// admin for them), audited with ev's request details. One being made for
// the same asker is not asked for again: made reports whether this one
// was.
func (s *Service) Request(ctx context.Context, person, by int64, ev audit.Event) (made bool, err error) {
	var e *Export
	err = s.Store.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// One at a time per person and asker, whoever asks twice at once.
		lock := fmt.Sprintf("export:%d:%d", person, by)
		if err := tx.Exec(`SELECT pg_advisory_xact_lock(hashtextextended(?::text, 0))`, lock).Error; err != nil {
			return err
		}
		if pending, err := s.Store.pendingFor(ctx, tx, person, by); err != nil || pending {
			return err
		}
		if e, err = s.Store.create(ctx, tx, person, by); err != nil {
			return err
		}
		ev.ActorID, ev.Action, ev.Target = &by, "export.requested", "export:"+strconv.FormatInt(e.ID, 10)
		return s.Audit.Write(ctx, tx, ev)
	})
	if err != nil || e == nil {
		return false, err
	}
	if err := s.Queue.Insert(ctx, jobArgs{ExportID: e.ID}, nil); err != nil {
		_ = s.Store.fail(context.WithoutCancel(ctx), e.ID)
		return false, fmt.Errorf("export: queue: %w", err)
	}
	return true, nil
}

// make builds export id, stores it and tells whoever asked. An export no
// longer pending (made by an earlier try) is left alone.
func (s *Service) make(ctx context.Context, id int64) error {
	var e Export
	err := s.Store.db.WithContext(ctx).Where("id = ? AND status = ?", id, Pending).Take(&e).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	person, err := s.People.Get(ctx, e.PersonID)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp("", "portal-export-*.zip")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	if err := Build(ctx, s.Sources, person, tmp); err != nil {
		return err
	}
	size, err := tmp.Seek(0, io.SeekCurrent)
	if err != nil {
		return err
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return err
	}
	return s.Store.store(ctx, &e, tmp, size, func(tx *gorm.DB) error {
		if err := s.Audit.Write(ctx, tx, audit.Event{Action: "export.made", Target: "export:" + strconv.FormatInt(e.ID, 10)}); err != nil {
			return err
		}
		return s.tell(ctx, tx, &e)
	})
}

// tell emails whoever asked that the export is ready. Security: a link to
// sign in and nothing else; the export is downloaded signed in.
func (s *Service) tell(ctx context.Context, tx *gorm.DB, e *Export) error {
	to, err := s.People.Get(ctx, e.RequestedBy)
	if err != nil {
		return err
	}
	m := notify.Message{Channel: notify.Email, To: to.Email, Lang: to.Locale, Template: "email_data_ready",
		Data: map[string]string{notify.DataLink: s.PersonLink()}}
	if e.ByAdmin() {
		m.Template, m.Data[notify.DataLink] = "email_data_ready_admin", s.AdminLink(e.PersonID)
	}
	return s.Notifier.Send(ctx, tx, m)
}

// jobArgs ask for export ExportID to be made.
type jobArgs struct {
	ExportID int64 `json:"export_id"`
}

// Kind names the job in river_job.
func (jobArgs) Kind() string { return "data_export" }

// InsertOpts keeps the job on the exports queue; a try that failed is
// tried again twice, then the export is marked failed.
func (jobArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: Queue, MaxAttempts: 3} }

type worker struct {
	river.WorkerDefaults[jobArgs]
	s *Service
}

// Timeout bounds one try: a person with years of photos.
func (w *worker) Timeout(*river.Job[jobArgs]) time.Duration {
	return w.s.Queue.Timeout(30 * time.Minute)
}

// Work makes the export; on the last try's failure it is marked failed,
// and the page says to ask again.
func (w *worker) Work(ctx context.Context, job *river.Job[jobArgs]) error {
	err := w.s.make(ctx, job.Args.ExportID)
	if err != nil {
		w.s.Log.ErrorContext(ctx, "export: make", "export", job.Args.ExportID, "attempt", job.Attempt, "err", err)
		if job.Attempt >= job.MaxAttempts {
			return errors.Join(err, w.s.Store.fail(context.WithoutCancel(ctx), job.Args.ExportID))
		}
	}
	return err
}
