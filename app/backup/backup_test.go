package backup_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"portal/app"
	"portal/app/access"
	"portal/app/accounts"
	"portal/app/apptest"
	"portal/app/backup"
	"portal/app/config"
	"portal/app/db"
	"portal/app/messages"
	"portal/app/records"
	"portal/app/seal"
	"portal/app/uploads/uploadtest"
	"portal/storage"
	"portal/storage/s3test"
)

func TestMain(m *testing.M) { apptest.Main(m) }

// family is a record, a parent who holds it (with a phone to sign in
// with), a document the worker sent her and a thread she started.
type family struct {
	a       *apptest.TestApp
	mum     *accounts.Person
	record  *records.Record
	doc     []byte
	docPath string // mum's download
	subject string
}

func newFamily(t *testing.T, store storage.Store) *family {
	t.Helper()
	a := apptest.NewApp(t, apptest.Options{Tune: func(d *app.Deps) {
		if store != nil {
			d.Store = store
		}
	}})
	team := a.NewTeam(t, "North Locality Team")
	f := &family{a: a, record: a.NewRecord(t, team, "Ellie", "Smith"), doc: uploadtest.PDF(300_000, ""),
		mum: a.NewPerson(t, "mum@example.net", accounts.RoleCitizen, ""), subject: "Contact at the weekend"}
	a.GivePhone(t, f.mum, "+447911123456", true)
	a.Grant(t, f.mum, f.record, access.Parent)
	worker := a.Client(t)
	a.SignIn(t, worker, a.NewWorker(t, "worker@example.org", team))
	staffRecord := "/staff/records/" + strconv.FormatInt(f.record.ID, 10)
	worker.Get(staffRecord + "/documents/new")
	res := worker.PostMultipart(staffRecord+"/documents", apptest.Part{Name: "title", Value: "Child and family assessment"},
		apptest.Part{Name: "kind", Value: "assessment"}, apptest.Part{Name: "recipients", Value: strconv.FormatInt(f.mum.ID, 10)},
		apptest.Part{Name: "file", FileName: "assessment.pdf", Body: f.doc})
	loc := res.Header.Get("Location")
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, staffRecord+"#document-") {
		t.Fatalf("sending the document = %d %q", res.StatusCode, loc)
	}
	f.docPath = "/records/" + strconv.FormatInt(f.record.ID, 10) + "/documents/" + strings.TrimPrefix(loc, staffRecord+"#document-")
	msgs := messages.NewStore(a.DB.Gorm, a.Clock, a.Sealer, nil, nil)
	ty := &messages.Type{NameEN: "Message your worker", NameCY: "Anfon neges", TeamID: team.ID, Active: true}
	if err := msgs.SaveType(context.Background(), ty); err != nil {
		t.Fatal(err)
	}
	th := &messages.Thread{RecordID: f.record.ID, HolderID: f.mum.ID, TypeID: ty.ID, TeamID: team.ID, StartedBy: f.mum.ID, Subject: f.subject}
	if err := msgs.Start(context.Background(), th, &messages.Message{AuthorID: f.mum.ID, Body: "Can we move contact to Sunday?"}); err != nil {
		t.Fatal(err)
	}
	return f
}

var databases atomic.Int64

// emptyDatabase is a new database with nothing in it (not even the
// portal's tables), as a fresh server would have.
func emptyDatabase(t *testing.T) string {
	t.Helper()
	name := fmt.Sprintf("restored_%d_%d", os.Getpid(), databases.Add(1))
	if err := db.CreateDatabase(context.Background(), apptest.AdminDSN("postgres"), name, ""); err != nil {
		t.Fatal(err)
	}
	return apptest.AdminDSN(name)
}

func localStore(t *testing.T) *storage.Local {
	t.Helper()
	s, err := storage.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// keyIDs are the ids of a's ENCRYPTION_KEYS.
func keyIDs(t *testing.T, a *apptest.TestApp) []string {
	t.Helper()
	s, err := seal.New(a.Config.EncryptionKey)
	if err != nil {
		t.Fatal(err)
	}
	return s.KeyIDs()
}

// objects are the keys a store holds.
func objects(t *testing.T, s storage.Store) []string {
	t.Helper()
	var keys []string
	if err := s.List(context.Background(), "", func(i storage.Info) error { keys = append(keys, i.Key); return nil }); err != nil {
		t.Fatal(err)
	}
	return keys
}

// TestBackUpWipeRestoreSignInAndDownload is the test, on a real S3
// server: back up, wipe (a new, empty database and an empty bucket; the
// old bucket emptied too), restore, sign in with the password and a code
// texted to the phone kept (sealed) in the backup, and download the
// document byte for byte.
func TestBackUpWipeRestoreSignInAndDownload(t *testing.T) {
	ctx := context.Background()
	gw := s3test.Start(t)
	bucket := func(name string) *storage.S3 {
		s, err := storage.NewS3(ctx, storage.S3Config{Endpoint: gw.Addr, AccessKey: gw.AccessKey, SecretKey: gw.SecretKey, Bucket: name})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	old := bucket("before")
	f := newFamily(t, old)
	a := f.a
	mumC := a.Client(t)
	a.SignIn(t, mumC, f.mum)
	if res := mumC.Get(f.docPath); res.StatusCode != http.StatusOK || !bytes.Equal([]byte(res.Body), f.doc) {
		t.Fatalf("the document before the backup = %d, %d bytes", res.StatusCode, len(res.Body))
	}

	dir := filepath.Join(t.TempDir(), "backup")
	var log bytes.Buffer
	m, err := backup.Backup(ctx, backup.Options{DSN: a.DSN, Store: old, Log: &log}, dir)
	if err != nil {
		t.Fatalf("backup: %v\n%s", err, &log)
	}
	if m.ObjectCount != 1 || m.Objects[0].Size != int64(len(f.doc)) || m.Tables["public.people"] != 2 || m.Keys[keyIDs(t, a)[0]] == 0 || m.Schema == 0 {
		t.Errorf("manifest: %d objects %+v, %d people, keys %v, schema %d", m.ObjectCount, m.Objects, m.Tables["public.people"], m.Keys, m.Schema)
	}
	for _, name := range []string{"manifest.json", "database.dump"} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, %v; want a private file", name, fi, err)
		}
	}

	// Wipe.
	for _, key := range objects(t, old) {
		if err := old.Delete(ctx, key); err != nil {
			t.Fatal(err)
		}
	}
	dsn, store := emptyDatabase(t), bucket("after")
	if _, err := backup.Restore(ctx, backup.Options{DSN: dsn, Store: store, KeyIDs: keyIDs(t, a), Log: &log}, dir); err != nil {
		t.Fatalf("restore: %v\n%s", err, &log)
	}

	b := apptest.NewApp(t, apptest.Options{DSN: dsn,
		Configure: func(c *config.Config) { c.EncryptionKey, c.SessionKey = a.Config.EncryptionKey, a.Config.SessionKey },
		Tune:      func(d *app.Deps) { d.Store = store }})
	c := b.Client(t)
	b.PasswordStep(t, c, f.mum)
	c.PostForm("/sign-in/confirm/send", nil)
	text := b.LastSent(t, "sms", "")
	if text.To != "+447911123456" {
		t.Fatalf("the code went to %q, not the phone kept in the backup", text.To)
	}
	if res := c.PostForm("/sign-in/confirm/verify", url.Values{"code": {text.Code()}}); res.Header.Get("Location") != "/account" {
		t.Fatalf("signing in after the restore = %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	res := c.Get(f.docPath)
	if res.StatusCode != http.StatusOK || !bytes.Equal([]byte(res.Body), f.doc) {
		t.Fatalf("the document after the restore = %d, %d bytes; want the %d bytes sent", res.StatusCode, len(res.Body), len(f.doc))
	}
	if page := c.Get("/records/" + strconv.FormatInt(f.record.ID, 10) + "/messages"); !strings.Contains(page.Body, f.subject) {
		t.Error("the thread's subject (sealed) is not on mum's messages after the restore")
	}
	var restored int64
	b.DB.Gorm.Raw(`SELECT count(*) FROM audit_events WHERE action = 'backup.restored'`).Scan(&restored)
	if restored != 1 {
		t.Error("the restore is not in the audit trail")
	}
}

// TestRestoreChecksBeforeItWritesAnything: a database or store that is
// not empty, a key ENCRYPTION_KEYS lacks, a changed file and a backup that
// did not finish are each refused, and nothing is written; --force
// restores over a database that is not empty.
func TestRestoreChecksBeforeItWritesAnything(t *testing.T) {
	ctx := context.Background()
	f := newFamily(t, nil)
	a := f.a
	dir := filepath.Join(t.TempDir(), "backup")
	if _, err := backup.Backup(ctx, backup.Options{DSN: a.DSN, Store: a.Store}, dir); err != nil {
		t.Fatal(err)
	}
	if _, err := backup.Backup(ctx, backup.Options{DSN: a.DSN, Store: a.Store}, dir); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("a second backup into the same directory = %v", err)
	}
	ids := keyIDs(t, a)
	tables := func(dsn string) int64 {
		var n int64
		conn, err := db.Connect(ctx, dsn, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.Gorm.Raw(`SELECT count(*) FROM pg_tables WHERE schemaname = 'public'`).Scan(&n)
		return n
	}
	// damaged copies dir, changing it with change.
	damaged := func(t *testing.T, change func(dir string)) string {
		t.Helper()
		copyDir := filepath.Join(t.TempDir(), "copy")
		if err := os.CopyFS(copyDir, os.DirFS(dir)); err != nil {
			t.Fatal(err)
		}
		change(copyDir)
		return copyDir
	}
	onlyObject := func(dir string) string {
		var path string
		filepath.WalkDir(filepath.Join(dir, "objects"), func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				path = p
			}
			return err
		})
		return path
	}

	for _, tc := range []struct {
		name  string
		dir   func(t *testing.T) string
		dsn   func(t *testing.T) string
		store func(t *testing.T) storage.Store
		keys  []string
		want  error
		says  string
	}{
		{name: "into a database that is not empty", dsn: func(t *testing.T) string { return apptest.NewDatabase(t) }, want: backup.ErrNotEmpty},
		{name: "into a store that is not empty", store: func(t *testing.T) storage.Store {
			s := localStore(t)
			if _, err := s.Put(ctx, "documents/there", strings.NewReader("x"), 1, storage.Meta{}); err != nil {
				t.Fatal(err)
			}
			return s
		}, want: backup.ErrNotEmpty},
		{name: "without a key its sealed values need", keys: []string{"other"}, says: "need key " + ids[0]},
		{name: "with an object changed", dir: func(t *testing.T) string {
			return damaged(t, func(d string) {
				p := onlyObject(d)
				b, _ := os.ReadFile(p)
				b[len(b)/2] ^= 1
				os.WriteFile(p, b, 0o600)
			})
		}, want: backup.ErrDamaged},
		{name: "with an object missing", dir: func(t *testing.T) string {
			return damaged(t, func(d string) { os.Remove(onlyObject(d)) })
		}, want: backup.ErrDamaged},
		{name: "with the dump cut short", dir: func(t *testing.T) string {
			return damaged(t, func(d string) { os.Truncate(filepath.Join(d, "database.dump"), 100) })
		}, want: backup.ErrDamaged},
		{name: "that did not finish", dir: func(t *testing.T) string {
			return damaged(t, func(d string) { os.Remove(filepath.Join(d, "manifest.json")) })
		}, says: "did not finish"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			from, dsn, keys := dir, emptyDatabase(t), ids
			var store storage.Store = localStore(t)
			if tc.dir != nil {
				from = tc.dir(t)
			}
			if tc.dsn != nil {
				dsn = tc.dsn(t)
			}
			if tc.store != nil {
				store = tc.store(t)
			}
			if tc.keys != nil {
				keys = tc.keys
			}
			before, objectsBefore := tables(dsn), len(objects(t, store))
			_, err := backup.Restore(ctx, backup.Options{DSN: dsn, Store: store, KeyIDs: keys}, from)
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("Restore = %v; want %v saying %q", err, tc.want, tc.says)
			}
			t.Log(err) // what the operator reads
			if tables(dsn) != before || len(objects(t, store)) != objectsBefore {
				t.Error("the refused restore wrote something")
			}
		})
	}

	t.Run("forced over a database that is not empty", func(t *testing.T) {
		dsn, store := apptest.NewDatabase(t), localStore(t)
		m, err := backup.Restore(ctx, backup.Options{DSN: dsn, Store: store, KeyIDs: ids, Force: true}, dir)
		if err != nil {
			t.Fatal(err)
		}
		var people int64
		conn, err := db.Connect(ctx, dsn, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.Gorm.Raw(`SELECT count(*) FROM people`).Scan(&people)
		if people != m.Tables["public.people"] || len(objects(t, store)) != 1 {
			t.Errorf("forced restore: %d people, %d objects", people, len(objects(t, store)))
		}
		rc, _, err := store.Get(ctx, m.Objects[0].Key)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(rc)
		rc.Close()
		if !bytes.Equal(got, f.doc) {
			t.Error("the restored object differs from the document")
		}
	})
}
