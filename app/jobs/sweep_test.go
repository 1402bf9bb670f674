package jobs_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"portal/app/access"
	"portal/app/accounts"
	"portal/app/apptest"
	"portal/app/documents"
	"portal/app/jobs"
	"portal/storage"
)

// TestTheSweepDeletesOnlyOldOrphans is issue 18's sweeper, on a real S3
// server: of the objects under the portal's prefixes, only those no row
// names and older than a day go; a document's object (old too), a young
// orphan (its row may be on its way) and an object under another prefix
// stay. The sweep audits its counts, and a second sweep finds nothing.
func TestTheSweepDeletesOnlyOldOrphans(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{S3: true})
	// The server stamps objects with the wall clock: the app's clock is
	// set to it, and "old" objects get a time two days back.
	a.Clock.Set(time.Now())
	put := func(key string, old bool) string {
		t.Helper()
		if _, err := a.Store.Put(ctx, key, bytes.NewReader([]byte("%PDF-1.7 x")), 100, storage.Meta{ContentType: "application/pdf"}); err != nil {
			t.Fatal(err)
		}
		if old {
			// versitygw's posix gateway keeps an object as a file under its
			// bucket, and gives its modification time as LastModified.
			then := time.Now().Add(-2 * jobs.SweepAfter)
			if err := os.Chtimes(filepath.Join(a.S3.Dir, "portal", filepath.FromSlash(key)), then, then); err != nil {
				t.Fatal(err)
			}
		}
		return key
	}
	named := put(storage.NewKey(documents.Prefix), true)
	orphans := []string{put(storage.NewKey(documents.Prefix), true), put(storage.NewKey("attachments/"), true),
		put(storage.NewKey("exports/"), true)}
	young := put(storage.NewKey(documents.Prefix), false)
	other := put(storage.NewKey("elsewhere/"), true)

	team := a.NewTeam(t, "North Locality Team")
	record := a.NewRecord(t, team, "Ellie", "Smith")
	mum := a.NewPerson(t, "mum@example.net", accounts.RoleCitizen, "")
	a.Grant(t, mum, record, access.Parent)
	doc := &documents.Document{RecordID: record.ID, Kind: documents.KindReport, Title: "Plan", ObjectKey: named,
		FileName: "plan.pdf", ContentType: "application/pdf", Size: 10, SHA256: strings.Repeat("0", 64)}
	if err := documents.NewStore(a.DB.Gorm, a.Clock).Create(ctx, nil, doc, []int64{mum.ID}); err != nil {
		t.Fatal(err)
	}

	res, err := a.Jobs.Sweep(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := res.String(), "attachments/=1 documents/=1 exports/=1"; got != want {
		t.Errorf("the sweep deleted %s, want %s", got, want)
	}
	for _, key := range orphans {
		if _, err := a.Store.Stat(ctx, key); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("the old orphan %s is still there (%v)", key, err)
		}
	}
	for what, key := range map[string]string{"the document's object": named, "the young orphan": young, "another prefix's object": other} {
		if _, err := a.Store.Stat(ctx, key); err != nil {
			t.Errorf("%s was deleted: %v", what, err)
		}
	}
	var targets []string
	a.DB.Gorm.Raw(`SELECT target FROM audit_events WHERE action = ?`, jobs.AuditStorageSwept).Scan(&targets)
	if len(targets) != 1 || targets[0] != res.String() {
		t.Fatalf("audit events %s = %q, want one with %q", jobs.AuditStorageSwept, targets, res.String())
	}

	// A day on, the young orphan is old: it goes, and nothing else.
	a.Clock.Advance(jobs.SweepAfter + time.Minute)
	res, err = a.Jobs.Sweep(ctx)
	if err != nil || res.Total() != 1 || res.Deleted[documents.Prefix] != 1 {
		t.Fatalf("the second sweep = %s, %v; want the young orphan alone", res, err)
	}
	if _, err := a.Store.Stat(ctx, named); err != nil {
		t.Errorf("the document's object was deleted: %v", err)
	}

	// Storage down: the sweep says so and deletes nothing; back up, it
	// finds nothing left to do, and audits nothing.
	a.S3.Stop()
	if _, err := a.Jobs.Sweep(ctx); !errors.Is(err, storage.ErrUnavailable) {
		t.Errorf("a sweep with storage down = %v, want storage.ErrUnavailable", err)
	}
	a.S3.Start()
	if res, err := a.Jobs.Sweep(ctx); err != nil || res.Total() != 0 {
		t.Errorf("a third sweep = %s, %v; want nothing", res, err)
	}
	var events int
	a.DB.Gorm.Raw(`SELECT count(*) FROM audit_events WHERE action = ?`, jobs.AuditStorageSwept).Scan(&events)
	if events != 2 {
		t.Errorf("%d sweep audit events, want 2 (a sweep that deletes nothing writes none)", events)
	}
}
