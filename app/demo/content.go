package demo

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"portal/app/clock"
	"portal/app/documents"
	"portal/app/forms"
	"portal/app/messages"
	"portal/app/uploads/uploadtest"
	"portal/storage"
)

// demoDocuments are what the worker has sent the parent on Mia's record,
// so Items to view has something to open on the first visit.
var demoDocuments = []struct{ kind, title, file string }{
	{documents.KindPlan, "Care and support plan", "Care and support plan.pdf"},
	{documents.KindLetter, "Letter about the review meeting", "Review meeting letter.pdf"},
}

// SeedDocuments puts the demo documents in objects and sends them to the
// parent, unless Mia's record already has documents. Idempotent.
func SeedDocuments(ctx context.Context, db *gorm.DB, objects storage.Store) error {
	ids, err := demoIDs(ctx, db)
	if err != nil || ids.Record == 0 {
		return err
	}
	var n int64
	if err := db.WithContext(ctx).Model(&documents.Document{}).Where("record_id = ?", ids.Record).Count(&n).Error; err != nil || n > 0 {
		return err
	}
	store := documents.NewStore(db, clock.Real{})
	for _, d := range demoDocuments {
		body := demoPDF(d.title, "This is a demonstration document. It contains no real information.")
		key := storage.NewKey("documents/")
		info, err := objects.Put(ctx, key, bytes.NewReader(body), int64(len(body)),
			storage.Meta{ContentType: "application/pdf", FileName: d.file})
		if err != nil {
			return fmt.Errorf("demo: documents: %w", err)
		}
		sum := sha256.Sum256(body)
		doc := &documents.Document{RecordID: ids.Record, Kind: d.kind, Title: d.title, ObjectKey: key, FileName: d.file,
			ContentType: "application/pdf", Size: info.Size, SHA256: hex.EncodeToString(sum[:]), SentBy: &ids.Worker}
		if err := store.Create(ctx, nil, doc, []int64{ids.Parent}); err != nil {
			return fmt.Errorf("demo: documents: %w", err)
		}
	}
	return nil
}

// ids are Mia's record (DEMO-0001), the demo parent and the demo worker.
type ids struct{ Record, Parent, Worker int64 }

// demoIDs finds them; Record is 0 when the demo was not seeded.
func demoIDs(ctx context.Context, db *gorm.DB) (ids, error) {
	var out ids
	err := db.WithContext(ctx).Raw(`SELECT r.id AS record, p.id AS parent, w.id AS worker FROM records r, people p, people w
		WHERE r.case_reference = 'DEMO-0001' AND p.email = ? AND w.email = ?`, ParentEmail, WorkerEmail).Scan(&out).Error
	return out, err
}

// demoPDF is a one-page PDF with a title and a line of text, in the
// standard Helvetica font (ASCII text only).
func demoPDF(title, text string) []byte {
	esc := strings.NewReplacer(`\`, `\\`, "(", `\(`, ")", `\)`)
	content := fmt.Sprintf("BT /F1 20 Tf 72 760 Td (%s) Tj 0 -36 Td /F1 12 Tf (%s) Tj ET", esc.Replace(title), esc.Replace(text))
	objects := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content),
	}
	// uploadtest makes files that uploads accepts, as these must be.
	return uploadtest.Assemble("%PDF-1.4\n", objects, "")
}

// SeedForms sends the parent the review contribution form on Mia's record,
// due in two weeks, unless a form was sent there already, so Items to
// complete has something to fill in. The templates are stored (app.New)
// before this runs. Idempotent.
func SeedForms(ctx context.Context, db *gorm.DB, store *forms.Store) error {
	ids, err := demoIDs(ctx, db)
	if err != nil || ids.Record == 0 {
		return err
	}
	var n int64
	if err := db.WithContext(ctx).Table("forms").Where("record_id = ?", ids.Record).Count(&n).Error; err != nil || n > 0 {
		return err
	}
	latest, err := store.Latest(ctx)
	if err != nil {
		return err
	}
	for _, t := range latest {
		if t.Key == "review_contribution" {
			due := time.Now().AddDate(0, 0, 14)
			_, err := store.Send(ctx, db, t.ID, ids.Record, []int64{ids.Parent}, &due, ids.Worker)
			return err
		}
	}
	return nil
}

// SeedMessageTypes gives the demo service its message types, routed to
// the demo team, unless it has some already. Idempotent.
func SeedMessageTypes(ctx context.Context, db *gorm.DB, store *messages.Store) error {
	var n, team int64
	if err := db.WithContext(ctx).Table("message_types").Count(&n).Error; err != nil || n > 0 {
		return err
	}
	if err := db.WithContext(ctx).Raw(`SELECT team_id FROM people WHERE email = ?`, WorkerEmail).Scan(&team).Error; err != nil || team == 0 {
		return err
	}
	recording := "foster_carer_recording"
	for i, t := range []messages.Type{
		{NameEN: "Message your worker", NameCY: "Anfon neges at eich gweithiwr", NameWorker: true},
		{NameEN: "Tell us about a change", NameCY: "Rhoi gwybod i ni am newid"},
		{NameEN: "Foster carer recording", NameCY: "Cofnod gofalwr maeth", FormKey: &recording},
		{NameEN: "Something else", NameCY: "Rhywbeth arall"},
	} {
		t.TeamID, t.Active, t.Position = team, true, i
		if err := store.SaveType(ctx, &t); err != nil {
			return err
		}
	}
	return nil
}
