package documents_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"portal/app/apptest"
	"portal/app/documents"
)

// history gives holder person `opened` documents already opened and
// `unopened` not yet, on record recordID, straight in SQL (the upload path
// is tested elsewhere; this is about the count's cost).
func history(t testing.TB, a *apptest.TestApp, personID, recordID int64, opened, unopened int) {
	t.Helper()
	now := a.Clock.Now()
	err := a.DB.Gorm.Exec(`WITH d AS (
		INSERT INTO documents (record_id, kind, title, object_key, file_name, content_type, size, sha256, created_at)
		SELECT ?, 'letter', 'Letter', 'documents/bench-' || ? || '-' || g, 'letter.pdf', 'application/pdf', 1, '', ?
		FROM generate_series(1, ?) g RETURNING id)
		INSERT INTO document_recipients (document_id, person_id, record_id, created_at, opened_at)
		SELECT id, ?, ?, ?, CASE WHEN row_number() OVER (ORDER BY id) > ? THEN ?::timestamptz END FROM d`,
		recordID, fmt.Sprint(personID, "-", recordID, "-", opened), now, opened+unopened,
		personID, recordID, now, unopened, now).Error
	if err != nil {
		t.Fatal(err)
	}
	if err := a.DB.Gorm.Exec(`ANALYZE documents; ANALYZE document_recipients`).Error; err != nil {
		t.Fatal(err)
	}
}

func TestTheUnopenedCountReadsOnlyUnopenedRows(t *testing.T) {
	w := newWorld(t, apptest.Options{})
	a := w.a
	history(t, a, w.mum.ID, w.ellie.ID, 20_000, 3)
	n, err := documents.NewStore(a.DB.Gorm, a.Clock).Unopened(context.Background(), w.mum.ID, w.ellie.ID)
	if err != nil || n != 3 {
		t.Fatalf("Unopened = %d, %v; want 3", n, err)
	}
	var plan []string
	err = a.DB.Gorm.Raw(`EXPLAIN SELECT count(*) FROM document_recipients
		WHERE person_id = ? AND record_id = ? AND opened_at IS NULL AND NOT withdrawn`, w.mum.ID, w.ellie.ID).Scan(&plan).Error
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(plan, "\n")
	// The query must match Store.Unopened's; the partial index holds the
	// unopened rows only, so 20,000 opened ones are never read.
	if !strings.Contains(text, "document_recipients_unopened_idx") || strings.Contains(text, "Seq Scan") {
		t.Errorf("the count does not use the index of unopened rows:\n%s", text)
	}
}

// BenchmarkUnopenedCount prints what the dashboard's count costs for a
// holder with 10,000 opened documents, as a ratio to one with 10: near 1
// means the count does not grow with old documents. Run with `make bench`.
func BenchmarkUnopenedCount(b *testing.B) {
	a := apptest.NewApp(b, apptest.Options{})
	team := a.NewTeam(b, "Bench Team")
	store := documents.NewStore(a.DB.Gorm, a.Clock)
	nsPerOp := map[int]float64{}
	for _, old := range []int{10, 10_000} {
		r := a.NewRecord(b, team, "Bench", fmt.Sprint(old))
		p := a.NewPerson(b, fmt.Sprintf("bench%d@example.net", old), "citizen", "")
		history(b, a, p.ID, r.ID, old, 2)
		b.Run(fmt.Sprintf("%d opened", old), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if n, err := store.Unopened(context.Background(), p.ID, r.ID); err != nil || n != 2 {
					b.Fatalf("Unopened = %d, %v", n, err)
				}
			}
			nsPerOp[old] = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
		})
	}
	fmt.Printf("\nunopened count: %.0f ns with 10 opened, %.0f ns with 10,000: × %.2f\n",
		nsPerOp[10], nsPerOp[10_000], nsPerOp[10_000]/nsPerOp[10])
}
