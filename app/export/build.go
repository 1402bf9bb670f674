package export

import (
	"archive/zip"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"strconv"
	"time"

	"gorm.io/gorm"

	"portal/app/accounts"
	"portal/app/attachments"
	"portal/app/clock"
	"portal/app/forms"
	"portal/app/i18n"
	"portal/app/messages"
	"portal/app/seal"
	"portal/app/web"
	"portal/storage"
)

// Sources are what an export reads, each thing by the person's id.
type Sources struct {
	DB       *gorm.DB
	Sealer   *seal.Sealer
	Objects  storage.Store
	Messages *messages.Store
	Files    *attachments.Store
	Forms    *forms.Store
	Bundle   *i18n.Bundle
	Clock    clock.Clock
}

// The files of an export, named in its README.
const (
	fileReadme    = "README.html"
	fileProfile   = "profile.json"
	fileRecords   = "records.json"
	fileActivity  = "activity.csv"
	dirMessages   = "messages/"
	dirForms      = "forms/"
	dirDocuments  = "documents/"
	jsonIndent    = "  "
	maxAuditLines = 1_000_000
)

// builder writes one person's export into a zip.
type builder struct {
	Sources
	ctx    context.Context
	zip    *zip.Writer
	person *accounts.Person
	loc    *i18n.Localizer
}

// Build writes person's export to w, a zip, in their language.
func Build(ctx context.Context, src Sources, person *accounts.Person, w io.Writer) error {
	b := &builder{Sources: src, ctx: ctx, zip: zip.NewWriter(w), person: person, loc: src.Bundle.For(person.Locale)}
	for _, step := range []func() error{b.readme, b.profile, b.records, b.messages, b.forms, b.documents, b.activity} {
		if err := step(); err != nil {
			return err
		}
	}
	return b.zip.Close()
}

func (b *builder) create(name string) (io.Writer, error) {
	return b.zip.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: b.Clock.Now().UTC()})
}

func (b *builder) json(name string, v any) error {
	w, err := b.create(name)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", jsonIndent)
	return enc.Encode(v)
}

// copyObject puts the stored object key in the zip as name.
func (b *builder) copyObject(name, key string) error {
	r, _, err := b.Objects.Get(b.ctx, key)
	if err != nil {
		return fmt.Errorf("export: %s: %w", name, err)
	}
	defer r.Close()
	w, err := b.create(name)
	if err != nil {
		return err
	}
	_, err = io.Copy(w, r)
	return err
}

// readme explains each file, in the person's language.
func (b *builder) readme() error {
	w, err := b.create(fileReadme)
	if err != nil {
		return err
	}
	t := func(id string, args ...any) string { return b.loc.T(id, args...) }
	return readmeHTML.Execute(w, map[string]any{
		"Lang": b.loc.Lang, "Title": t("export.readme.title"), "Intro": t("export.readme.intro", "Date", web.ViewIn(b.loc).Date(b.Clock.Now())),
		"Files": []struct{ Name, About string }{
			{fileProfile, t("export.readme.profile")}, {fileRecords, t("export.readme.records")},
			{dirMessages, t("export.readme.messages")}, {dirForms, t("export.readme.forms")},
			{dirDocuments, t("export.readme.documents")}, {fileActivity, t("export.readme.activity")},
		},
		"Questions": t("export.readme.questions"),
	})
}

var readmeHTML = template.Must(template.New("readme").Parse(`<!DOCTYPE html>
<html lang="{{.Lang}}"><head><meta charset="utf-8"><title>{{.Title}}</title></head>
<body><h1>{{.Title}}</h1><p>{{.Intro}}</p>
<dl>{{range .Files}}<dt><code>{{.Name}}</code></dt><dd>{{.About}}</dd>{{end}}</dl>
<p>{{.Questions}}</p></body></html>
`))

// profile is what the portal holds about the person themselves.
func (b *builder) profile() error {
	p := b.person
	address, err := accounts.OpenAddress(b.Sealer, p)
	if err != nil {
		return err
	}
	phone := ""
	if p.PhoneSealed != "" {
		plain, err := b.Sealer.Open("person.phone", p.PhoneSealed)
		if err != nil {
			return err
		}
		phone = string(plain)
	}
	return b.json(fileProfile, map[string]any{
		"given_name": p.GivenName, "family_name": p.FamilyName, "email": p.Email, "phone": phone,
		"address": address, "language": p.Locale, "status": p.Status, "updates_opt_in": p.UpdatesOptIn,
		"terms_accepted_at": p.TermsAcceptedAt, "last_sign_in_at": p.LastSignInAt, "account_created_at": p.CreatedAt,
	})
}

// records are the records the person holds or held, and how.
func (b *builder) records() error {
	var rows []struct {
		RecordID     int64      `json:"record"`
		Name         string     `json:"name"`
		Relationship string     `json:"relationship"`
		StartsAt     time.Time  `json:"from"`
		EndsAt       *time.Time `json:"placement_access_ends,omitempty"`
		RevokedAt    *time.Time `json:"ended,omitempty"`
	}
	err := b.DB.WithContext(b.ctx).Raw(`SELECT g.record_id, r.given_name || ' ' || r.family_name AS name, g.relationship,
		g.starts_at, g.ends_at, g.revoked_at FROM grants g JOIN records r ON r.id = g.record_id
		WHERE g.person_id = ? ORDER BY g.id`, b.person.ID).Scan(&rows).Error
	if err != nil {
		return fmt.Errorf("export: records: %w", err)
	}
	return b.json(fileRecords, rows)
}

// message is one message as the export writes it.
type message struct {
	ID     int64          `json:"id"`
	From   string         `json:"from"`
	Staff  bool           `json:"from_council"`
	At     time.Time      `json:"sent_at"`
	Body   string         `json:"text,omitempty"`
	Answer *forms.Summary `json:"answers,omitempty"` // a recording's questions and answers
	Files  []string       `json:"files,omitempty"`
}

// messages are the threads where the person is the holder, with their
// files: never a co-holder's.
func (b *builder) messages() error {
	threads, err := b.Messages.HolderThreadsOf(b.ctx, b.person.ID)
	if err != nil {
		return err
	}
	for _, th := range threads {
		posted, err := b.Messages.MessagesAfter(b.ctx, &th, 0)
		if err != nil {
			return err
		}
		if err := b.Messages.Files(b.ctx, &th, posted); err != nil {
			return err
		}
		readable, err := messages.Readable(b.ctx, b.Forms, b.loc, posted)
		if err != nil {
			return err
		}
		dir := dirMessages + "thread-" + strconv.FormatInt(th.ID, 10) + "/"
		out := struct {
			Subject  string    `json:"subject"`
			Record   int64     `json:"record"`
			Started  time.Time `json:"started_at"`
			Messages []message `json:"messages"`
		}{Subject: th.Subject, Record: th.RecordID, Started: th.CreatedAt}
		for _, m := range posted {
			item := message{ID: m.ID, From: m.AuthorName, Staff: m.FromStaff, At: m.CreatedAt}
			if r, ok := readable[m.ID]; ok {
				item.Answer = &r
			} else {
				item.Body = m.Body
			}
			for _, a := range m.Attached {
				name := dir + "files/" + strconv.FormatInt(a.ID, 10) + "-" + a.Name
				if err := b.copyObject(name, a.ObjectKey); err != nil {
					return err
				}
				item.Files = append(item.Files, name)
			}
			out.Messages = append(out.Messages, item)
		}
		if err := b.json(dir+"messages.json", out); err != nil {
			return err
		}
	}
	return nil
}

// forms are the forms sent to the person (or started by them), with their
// answers, and the PDF of each one submitted.
func (b *builder) forms() error {
	var rows []forms.Form
	err := b.DB.WithContext(b.ctx).Where("person_id = ? AND withdrawn_at IS NULL", b.person.ID).Order("id").Find(&rows).Error
	if err != nil {
		return fmt.Errorf("export: forms: %w", err)
	}
	for i := range rows {
		f := &rows[i]
		t, err := b.Forms.TemplateByID(b.ctx, f.TemplateID)
		if err != nil {
			return err
		}
		a, err := b.Forms.AnswersOf(f)
		if err != nil {
			return err
		}
		name := dirForms + "form-" + strconv.FormatInt(f.ID, 10)
		if err := b.json(name+".json", map[string]any{"record": f.RecordID, "sent_at": f.CreatedAt,
			"submitted_at": f.SubmittedAt, "answers": forms.Summarise(t.Template, a, b.loc)}); err != nil {
			return err
		}
		if f.DocumentID != nil {
			var key string
			if err := b.DB.WithContext(b.ctx).Raw(`SELECT object_key FROM documents WHERE id = ?`, *f.DocumentID).
				Scan(&key).Error; err != nil {
				return err
			}
			if err := b.copyObject(name+".pdf", key); err != nil {
				return err
			}
		}
	}
	return nil
}

// documents are the documents sent to the person and not withdrawn.
func (b *builder) documents() error {
	var rows []struct {
		ID                               int64
		Title, Kind, ObjectKey, FileName string
		CreatedAt                        time.Time
		OpenedAt                         *time.Time
		RecordID                         int64
	}
	err := b.DB.WithContext(b.ctx).Raw(`SELECT d.id, d.title, d.kind, d.object_key, d.file_name, d.created_at,
		r.opened_at, r.record_id FROM document_recipients r JOIN documents d ON d.id = r.document_id
		WHERE r.person_id = ? AND NOT r.withdrawn AND d.withdrawn_at IS NULL ORDER BY d.id`, b.person.ID).Scan(&rows).Error
	if err != nil {
		return fmt.Errorf("export: documents: %w", err)
	}
	var list []map[string]any
	for _, d := range rows {
		// File names were made safe when the files came (uploads.SafeFileName).
		name := dirDocuments + strconv.FormatInt(d.ID, 10) + "-" + d.FileName
		if err := b.copyObject(name, d.ObjectKey); err != nil {
			return err
		}
		list = append(list, map[string]any{"file": name, "title": d.Title, "kind": d.Kind, "record": d.RecordID,
			"sent_at": d.CreatedAt, "opened_at": d.OpenedAt})
	}
	return b.json(dirDocuments+"documents.json", list)
}

// activity is the person's own events in the audit trail: sign-ins, what
// they opened and sent.
func (b *builder) activity() error {
	w, err := b.create(fileActivity)
	if err != nil {
		return err
	}
	out := csv.NewWriter(w)
	if err := out.Write([]string{"time", "action", "record", "target", "ip"}); err != nil {
		return err
	}
	rows, err := b.DB.WithContext(b.ctx).Raw(`SELECT at, action, record_id, target, ip FROM audit_events
		WHERE actor_id = ? ORDER BY id LIMIT ?`, b.person.ID, maxAuditLines).Rows()
	if err != nil {
		return fmt.Errorf("export: activity: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var at time.Time
		var action, target, ip string
		var record *int64
		if err := rows.Scan(&at, &action, &record, &target, &ip); err != nil {
			return err
		}
		rec := ""
		if record != nil {
			rec = strconv.FormatInt(*record, 10)
		}
		if err := out.Write([]string{at.UTC().Format(time.RFC3339), action, rec, target, ip}); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	out.Flush()
	return out.Error()
}
