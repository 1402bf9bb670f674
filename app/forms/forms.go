// Package forms is "Items to complete" (guides 000, 001): forms a worker
// sends to one holder of a record, which the holder fills in page by page,
// saves for later and submits.
//
// Invariants:
//   - A form belongs to one holder of one record. A holder reaches it only
//     as that person, on a record they hold now; anything else, a foreign
//     id included, is ErrNotFound, answered with the same 404 as a form
//     that does not exist.
//   - A form keeps the template version it was sent with (form_templates
//     rows never change; a changed YAML file is a new version).
//   - Answers are sealed at rest (seal, purpose "form.answers:<id>", so the
//     answers of one form cannot be moved to another).
//   - Every save names the revision it started from; a save from an older
//     revision (another tab, another device) is refused with ErrConflict,
//     never merged over the newer answers.
//   - A submitted form cannot be changed: every save and submit checks
//     submitted_at in the same UPDATE.
package forms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"portal/app/clock"
	"portal/app/db"
	"portal/app/formdef"
	"portal/app/live"
	"portal/app/seal"
)

var (
	// ErrNotFound is a form the actor may not reach, or none.
	ErrNotFound = fmt.Errorf("forms: %w", db.ErrNotFound)
	// ErrConflict is a save from a revision that is no longer the latest.
	ErrConflict = errors.New("forms: saved meanwhile elsewhere")
)

// TemplateRow is one version of a template, as stored.
type TemplateRow struct {
	ID         int64
	Key        string
	Version    int
	Digest     string
	Definition json.RawMessage `gorm:"type:jsonb"`
	CreatedAt  time.Time
}

// TableName keeps GORM on the form_templates table.
func (TemplateRow) TableName() string { return "form_templates" }

// Template is a stored version with its definition parsed.
type Template struct {
	ID      int64
	Version int
	*formdef.Template
}

// Form is one form sent to one holder.
type Form struct {
	ID          int64
	TemplateID  int64
	RecordID    int64
	PersonID    int64
	SentBy      *int64
	DueOn       *time.Time
	Answers     *string // sealed
	Revision    int
	Page        int
	CreatedAt   time.Time
	UpdatedAt   time.Time
	SubmittedAt *time.Time
	DocumentID  *int64
	WithdrawnAt *time.Time
}

// Store reads and writes templates and forms.
type Store struct {
	db     *gorm.DB
	clock  clock.Clock
	sealer *seal.Sealer
}

// NewStore returns the store.
func NewStore(db *gorm.DB, clk clock.Clock, s *seal.Sealer) *Store {
	return &Store{db: db, clock: clk, sealer: s}
}

// Sync stores each template as a new version unless that exact template
// (its digest) is stored already. Several app machines may start at once:
// a version another machine stored first is simply kept.
func (s *Store) Sync(ctx context.Context, templates []*formdef.Template) error {
	for _, t := range templates {
		def, err := json.Marshal(t)
		if err != nil {
			return fmt.Errorf("forms: sync %s: %w", t.Key, err)
		}
		err = s.db.WithContext(ctx).Exec(`INSERT INTO form_templates (key, version, digest, definition, created_at)
			SELECT ?, coalesce(max(version), 0) + 1, ?, ?, ? FROM form_templates WHERE key = ?
			ON CONFLICT DO NOTHING`, t.Key, t.Digest(), string(def), s.clock.Now(), t.Key).Error
		if err != nil {
			return fmt.Errorf("forms: sync %s: %w", t.Key, err)
		}
	}
	return nil
}

// Latest lists the newest version of every template, by key.
func (s *Store) Latest(ctx context.Context) ([]Template, error) {
	var rows []TemplateRow
	err := s.db.WithContext(ctx).Raw(`SELECT DISTINCT ON (key) * FROM form_templates ORDER BY key, version DESC`).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("forms: latest: %w", err)
	}
	out := make([]Template, 0, len(rows))
	for _, r := range rows {
		t, err := r.parse()
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// TemplateByID is one stored version.
func (s *Store) TemplateByID(ctx context.Context, id int64) (Template, error) {
	var r TemplateRow
	if err := s.db.WithContext(ctx).Take(&r, id).Error; err != nil {
		return Template{}, fmt.Errorf("forms: template %d: %w", id, err)
	}
	return r.parse()
}

func (r TemplateRow) parse() (Template, error) {
	var t formdef.Template
	if err := json.Unmarshal(r.Definition, &t); err != nil {
		return Template{}, fmt.Errorf("forms: template %d: %w", r.ID, err)
	}
	return Template{ID: r.ID, Version: r.Version, Template: &t}, nil
}

// Send gives each person their own copy of template on record, in tx.
// The caller has checked that each holds the record.
func (s *Store) Send(ctx context.Context, tx *gorm.DB, templateID, recordID int64, people []int64, due *time.Time, by int64) ([]Form, error) {
	now := s.clock.Now()
	out := make([]Form, len(people))
	for i, p := range people {
		out[i] = Form{TemplateID: templateID, RecordID: recordID, PersonID: p, SentBy: &by, DueOn: due,
			CreatedAt: now, UpdatedAt: now}
	}
	if err := tx.WithContext(ctx).Create(&out).Error; err != nil {
		return nil, fmt.Errorf("forms: send: %w", err)
	}
	// Each holder's open dashboard counts it (delivered on commit).
	for _, p := range people {
		if err := live.Notify(ctx, tx, live.Event{Topic: "unread", ID: p}); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Waiting is a form in "Items to complete".
type Waiting struct {
	Form
	Title   formdef.Text
	Started bool // answers were saved
}

// ForHolder lists person's forms on record not yet submitted, the one due
// soonest first (then the oldest).
func (s *Store) ForHolder(ctx context.Context, personID, recordID int64) ([]Waiting, error) {
	var rows []struct {
		Form
		Definition json.RawMessage
	}
	err := s.db.WithContext(ctx).Raw(`SELECT f.*, t.definition FROM forms f JOIN form_templates t ON t.id = f.template_id
		WHERE f.person_id = ? AND f.record_id = ? AND f.submitted_at IS NULL AND f.withdrawn_at IS NULL
		ORDER BY f.due_on NULLS LAST, f.created_at, f.id`, personID, recordID).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("forms: for holder: %w", err)
	}
	out := make([]Waiting, len(rows))
	for i, r := range rows {
		title, err := titleOf(r.Definition)
		if err != nil {
			return nil, err
		}
		out[i] = Waiting{Form: r.Form, Title: title, Started: r.Revision > 0}
	}
	return out, nil
}

// Count is the dashboard's "Items to complete" tile: forms waiting for
// person on record (an index of waiting forms only).
func (s *Store) Count(ctx context.Context, personID, recordID int64) (int64, error) {
	var n int64
	err := s.db.WithContext(ctx).Raw(`SELECT count(*) FROM forms WHERE person_id = ? AND record_id = ?
		AND submitted_at IS NULL AND withdrawn_at IS NULL`, personID, recordID).Scan(&n).Error
	if err != nil {
		return 0, fmt.Errorf("forms: count: %w", err)
	}
	return n, nil
}

// HolderForm is form id as person reaches it on record, withdrawn forms
// excepted, submitted ones included (the caller refuses changes).
func (s *Store) HolderForm(ctx context.Context, personID, recordID, id int64) (*Form, error) {
	var f Form
	err := s.db.WithContext(ctx).Where("id = ? AND person_id = ? AND record_id = ? AND withdrawn_at IS NULL",
		id, personID, recordID).Take(&f).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("forms: holder form: %w", err)
	}
	return &f, nil
}

// AnswersOf opens f's answers (none saved: empty).
func (s *Store) AnswersOf(f *Form) (formdef.Answers, error) {
	a := formdef.Answers{}
	if f.Answers == nil {
		return a, nil
	}
	plain, err := s.sealer.Open(purpose(f.ID), *f.Answers)
	if err != nil {
		return nil, fmt.Errorf("forms: answers of %d: %w", f.ID, err)
	}
	if err := json.Unmarshal(plain, &a); err != nil {
		return nil, fmt.Errorf("forms: answers of %d: %w", f.ID, err)
	}
	return a, nil
}

func purpose(id int64) string { return fmt.Sprintf("form.answers:%d", id) }

// Save stores all of f's answers and the page the holder is on, if f is
// still at revision (else ErrConflict) and not submitted (ErrNotFound).
// It returns the new revision.
func (s *Store) Save(ctx context.Context, f *Form, revision int, a formdef.Answers, page int) (int, error) {
	plain, err := json.Marshal(a)
	if err != nil {
		return 0, err
	}
	sealed, err := s.sealer.Seal(purpose(f.ID), plain)
	if err != nil {
		return 0, err
	}
	var updated []Form
	res := s.db.WithContext(ctx).Model(&updated).Clauses(clause.Returning{}).
		Where("id = ? AND person_id = ? AND revision = ? AND submitted_at IS NULL AND withdrawn_at IS NULL", f.ID, f.PersonID, revision).
		Updates(map[string]any{"answers": sealed, "page": page, "revision": gorm.Expr("revision + 1"), "updated_at": s.clock.Now()})
	if res.Error != nil {
		return 0, fmt.Errorf("forms: save %d: %w", f.ID, res.Error)
	}
	if res.RowsAffected == 1 {
		return updated[0].Revision, nil
	}
	return 0, s.whyNot(ctx, f)
}

// whyNot explains a save that changed nothing: submitted or withdrawn
// (ErrNotFound), or saved meanwhile from elsewhere (ErrConflict).
func (s *Store) whyNot(ctx context.Context, f *Form) error {
	var now Form
	if err := s.db.WithContext(ctx).Take(&now, f.ID).Error; err != nil {
		return fmt.Errorf("forms: save %d: %w", f.ID, err)
	}
	if now.SubmittedAt != nil || now.WithdrawnAt != nil {
		return ErrNotFound
	}
	return ErrConflict
}

// Sent is a form as the record's workers see it.
type Sent struct {
	Form
	Title      formdef.Text
	GivenName  string // the holder's
	FamilyName string
}

// Status is where the form is: not_started, started or submitted.
func (s Sent) Status() string {
	switch {
	case s.SubmittedAt != nil:
		return "submitted"
	case s.Revision > 0:
		return "started"
	}
	return "not_started"
}

// ForRecord lists the forms sent on record, newest first, with whom they
// went to. The caller has found the record in the worker's team.
func (s *Store) ForRecord(ctx context.Context, recordID int64, limit int) ([]Sent, error) {
	return s.sent(ctx, `f.record_id = ? AND f.withdrawn_at IS NULL ORDER BY f.created_at DESC, f.id DESC LIMIT ?`, recordID, limit)
}

func (s *Store) sent(ctx context.Context, where string, args ...any) ([]Sent, error) {
	var rows []struct {
		Form
		Definition json.RawMessage
		GivenName  string
		FamilyName string
	}
	err := s.db.WithContext(ctx).Raw(`SELECT f.*, t.definition, p.given_name, p.family_name
		FROM forms f JOIN form_templates t ON t.id = f.template_id JOIN people p ON p.id = f.person_id
		WHERE `+where, args...).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("forms: sent: %w", err)
	}
	out := make([]Sent, len(rows))
	for i, r := range rows {
		title, err := titleOf(r.Definition)
		if err != nil {
			return nil, err
		}
		out[i] = Sent{Form: r.Form, Title: title, GivenName: r.GivenName, FamilyName: r.FamilyName}
	}
	return out, nil
}

// titleOf reads only the title of a stored template.
func titleOf(def json.RawMessage) (formdef.Text, error) {
	var t struct{ Title formdef.Text }
	if err := json.Unmarshal(def, &t); err != nil {
		return formdef.Text{}, fmt.Errorf("forms: template title: %w", err)
	}
	return t.Title, nil
}

// MarkSubmitted marks f submitted in tx, with the document that is its
// completed copy. A form submitted or withdrawn already is ErrNotFound.
func (s *Store) MarkSubmitted(ctx context.Context, tx *gorm.DB, f *Form, documentID int64) error {
	res := tx.WithContext(ctx).Model(&Form{}).
		Where("id = ? AND person_id = ? AND submitted_at IS NULL AND withdrawn_at IS NULL", f.ID, f.PersonID).
		Updates(map[string]any{"submitted_at": s.clock.Now(), "document_id": documentID, "updated_at": s.clock.Now()})
	if res.Error != nil {
		return fmt.Errorf("forms: submit %d: %w", f.ID, res.Error)
	}
	if res.RowsAffected == 0 {
		return ErrNotFound
	}
	return nil
}

// Submitted is submitted form id of record, with its template and answers,
// for the record's workers; a form not submitted is ErrNotFound (workers
// read what a holder sent, not what they are still writing).
func (s *Store) Submitted(ctx context.Context, recordID, id int64) (*Sent, Template, formdef.Answers, error) {
	found, err := s.sent(ctx, `f.record_id = ? AND f.id = ? AND f.submitted_at IS NOT NULL AND f.withdrawn_at IS NULL`, recordID, id)
	if err != nil {
		return nil, Template{}, nil, err
	}
	if len(found) == 0 {
		return nil, Template{}, nil, ErrNotFound
	}
	f := &found[0]
	t, err := s.TemplateByID(ctx, f.TemplateID)
	if err != nil {
		return nil, Template{}, nil, err
	}
	a, err := s.AnswersOf(&f.Form)
	return f, t, a, err
}

// ByKey is the newest version of template key, or ErrNotFound.
func (s *Store) ByKey(ctx context.Context, key string) (Template, error) {
	var r TemplateRow
	err := s.db.WithContext(ctx).Where("key = ?", key).Order("version DESC").Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Template{}, ErrNotFound
	}
	if err != nil {
		return Template{}, fmt.Errorf("forms: template %s: %w", key, err)
	}
	return r.parse()
}
