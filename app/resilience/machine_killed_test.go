package resilience_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"portal/app"
	"portal/app/apptest"
	"portal/app/config"
	"portal/app/export"
	"portal/app/messages"
	"portal/app/uploads/uploadtest"
	"portal/storage"
)

// machine is the built portal running as another app machine of a
// TestApp: its database, its keys and its object store (a directory both
// use), its own process to kill.
type machine struct {
	cmd    *exec.Cmd
	URL    string
	out    *apptest.Output
	killed bool
}

// startMachine runs the portal's binary bin beside a, on a's database
// and keys and the object store in objects (DATA_DIR/objects), and waits
// until it is ready. It is killed when the test ends, if not before.
func startMachine(t *testing.T, bin string, a *apptest.TestApp, dataDir string) *machine {
	t.Helper()
	port := apptest.FreePort(t)
	m := &machine{URL: "http://127.0.0.1:" + port, out: &apptest.Output{}}
	m.cmd = exec.Command(bin)
	m.cmd.Env = append(os.Environ(), "APP_ENV=development", "PORT="+port, "DATA_DIR="+dataDir,
		"DATABASE_URL="+a.DSN, "SESSION_KEY="+a.Config.SessionKey, "ENCRYPTION_KEYS="+a.Config.EncryptionKey,
		"BASE_URL="+a.URL, "S3_ENDPOINT=", "DEMO_PASSWORD="+apptest.Password, "LOG_LEVEL=info")
	pr, pw := io.Pipe()
	m.cmd.Stdout, m.cmd.Stderr = pw, pw
	go func() {
		s := bufio.NewScanner(pr)
		for s.Scan() {
			fmt.Fprintln(m.out, s.Text())
		}
	}()
	if err := m.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.kill(); pw.Close() })
	if !apptest.WaitReady(m.URL, time.Minute) {
		t.Fatalf("the second machine did not become ready:\n%s", m.out)
	}
	return m
}

// kill stops the machine as a power cut would (SIGKILL) and waits for it.
func (m *machine) kill() {
	if m.killed {
		return
	}
	m.killed = true
	_ = m.cmd.Process.Kill()
	_, _ = m.cmd.Process.Wait()
}

// lockRow holds a row lock on one row of table (FOR UPDATE) until the
// returned release: a statement of the app's that updates the row waits
// for it, so a machine can be killed in the middle of its transaction.
func lockRow(t *testing.T, a *apptest.TestApp, table string, id int64) (release func()) {
	t.Helper()
	tx, err := a.DB.Pool.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	release = func() { _ = tx.Rollback(context.Background()) } // a second time does nothing
	t.Cleanup(release)
	if _, err := tx.Exec(t.Context(), `SELECT 1 FROM `+table+` WHERE id = $1 FOR UPDATE`, id); err != nil {
		t.Fatal(err)
	}
	return release
}

// waitingOnALock reports whether a statement of this database's waits on
// a lock (the locked row's machine has got there).
func waitingOnALock(t *testing.T, a *apptest.TestApp) func() bool {
	return func() bool {
		var n int
		a.DB.Gorm.Raw(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&n)
		return n > 0
	}
}

// objectsUnder lists the object keys under prefix.
func objectsUnder(t *testing.T, store storage.Store, prefix string) []string {
	t.Helper()
	var keys []string
	err := store.List(t.Context(), prefix, func(o storage.Info) error {
		keys = append(keys, o.Key)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// TestAMachineKilled is issue 18's fourth point: two app machines on one
// database and object store, the one in this process and the built
// portal in another, which the test kills (SIGKILL) in the middle of an
// upload, of a form's submission (held inside its transaction by a row
// lock) and of a job (an export, held the same way). Each time the other
// machine serves the same session at once; nothing is half-done in the
// database; the objects the dead machine stored without a row are what
// the storage sweep deletes a day later; and the dead machine's job is
// taken up again by the other's River (its rescuer, JOB_RESCUE_AFTER).
func TestAMachineKilled(t *testing.T) {
	bin, dataDir := apptest.BuildPortal(t), t.TempDir()
	store, err := storage.NewLocal(filepath.Join(dataDir, "objects"))
	if err != nil {
		t.Fatal(err)
	}
	f := newFamilyOn(t, apptest.Options{Clock: time.Now(), Tune: func(d *app.Deps) { d.Store = store },
		Configure: func(c *config.Config) { c.JobRescueAfter = 10 * time.Second }})
	a := f.a

	t.Run("mid-upload: the message is sent from the other machine, once", func(t *testing.T) {
		m := startMachine(t, bin, a, dataDir)
		onM := f.mumC.On(m.URL)
		onM.Get(f.record() + "/messages/new")
		msgs, files := f.count(t, "messages"), f.count(t, "attachments")
		body, contentType := onM.Multipart(apptest.Part{Name: "type", Value: itoa(f.toWorker.ID)},
			apptest.Part{Name: "subject", Value: "Photos"}, apptest.Part{Name: "body", Value: "Her school photos."},
			apptest.Part{Name: "action", Value: "send"},
			apptest.Part{Name: messages.FilesField, FileName: "IMG_0042.jpg", Body: uploadtest.JPEGWithLocation(1600, 1200)})
		pr, pw := io.Pipe()
		answered := make(chan error, 1)
		go func() {
			_, _, err := onM.TryDo(http.MethodPost, f.record()+"/messages/new", pr, contentType)
			answered <- err
		}()
		if _, err := pw.Write(body[:len(body)/2]); err != nil { // the machine has read half of it
			t.Fatal(err)
		}
		m.kill()
		pw.CloseWithError(io.ErrUnexpectedEOF)
		if err := <-answered; err == nil {
			t.Fatal("the upload to the killed machine was answered")
		}
		if n, k := f.count(t, "messages"), f.count(t, "attachments"); n != msgs || k != files {
			t.Fatalf("after the kill: %d messages and %d files, want %d and %d", n, k, msgs, files)
		}
		res := f.sendMessage("Photos", "Her school photos.")
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("the same message on the other machine = %d", res.StatusCode)
		}
		if n, k := f.count(t, "messages"), f.count(t, "attachments"); n != msgs+1 || k != files+1 {
			t.Errorf("%d messages and %d files, want %d and %d", n, k, msgs+1, files+1)
		}
	})

	t.Run("mid-submit: the form is not half-submitted, and is submitted on the other machine", func(t *testing.T) {
		confirm := f.answeredForm(t)
		id := strings.Split(confirm, "/")[4]
		var formID int64
		fmt.Sscan(id, &formID)
		m := startMachine(t, bin, a, dataDir)
		onM := f.mumC.On(m.URL)
		onM.Get(confirm)
		pdfs := len(objectsUnder(t, store, "documents/"))
		release := lockRow(t, a, "forms", formID)
		answered := make(chan error, 1)
		go func() {
			_, _, err := onM.TryPostForm(confirm, map[string][]string{})
			answered <- err
		}()
		waitFor(t, "the submission waiting inside its transaction", waitingOnALock(t, a))
		m.kill()
		release()
		if err := <-answered; err == nil {
			t.Fatal("the killed machine answered")
		}
		waitFor(t, "the dead machine's connection gone", func() bool { return !waitingOnALock(t, a)() })
		var submitted, copies int
		a.DB.Gorm.Raw(`SELECT count(*) FROM forms WHERE id = ? AND submitted_at IS NOT NULL`, formID).Scan(&submitted)
		a.DB.Gorm.Raw(`SELECT count(*) FROM documents WHERE kind = 'completed_form'`).Scan(&copies)
		if submitted != 0 || copies != 0 {
			t.Fatalf("after the kill: submitted %d, %d copies", submitted, copies)
		}
		if n := len(objectsUnder(t, store, "documents/")); n != pdfs+1 {
			t.Errorf("%d PDFs stored, want %d: the dead machine's, stored before its transaction", n, pdfs+1)
		}
		f.mumC.Get(confirm)
		if res := f.mumC.PostForm(confirm, nil); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("Confirm on the other machine = %d", res.StatusCode)
		}
		a.DB.Gorm.Raw(`SELECT count(*) FROM documents WHERE kind = 'completed_form'`).Scan(&copies)
		if copies != 1 {
			t.Errorf("%d copies of the form, want 1", copies)
		}
	})

	t.Run("mid-job: the export is made by the other machine", func(t *testing.T) {
		m := startMachine(t, bin, a, dataDir)
		f.mumC.Get("/account/data")
		if res := f.mumC.PostForm("/account/data", nil); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("asking for my data = %d", res.StatusCode)
		}
		var exportID int64
		a.DB.Gorm.Raw(`SELECT id FROM data_exports ORDER BY id DESC LIMIT 1`).Scan(&exportID)
		release := lockRow(t, a, "data_exports", exportID)
		waitFor(t, "the other machine's export waiting inside its transaction", waitingOnALock(t, a))
		m.kill()
		release()
		waitFor(t, "the dead machine's connection gone", func() bool { return !waitingOnALock(t, a)() })
		var status string
		a.DB.Gorm.Raw(`SELECT status FROM data_exports WHERE id = ?`, exportID).Scan(&status)
		if status != export.Pending {
			t.Fatalf("after the kill the export is %q", status)
		}
		// This machine's River takes the job up once it leads (the dead
		// machine led) and the job has run longer than JOB_RESCUE_AFTER.
		if err := a.Queue.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		waitForWithin(t, 2*time.Minute, "the export made again", func() bool {
			a.DB.Gorm.Raw(`SELECT status FROM data_exports WHERE id = ?`, exportID).Scan(&status)
			return status == export.Ready
		})
		href, _ := f.mumC.Get("/account/data").Doc.Find(`a[href$="/download"]`).Attr("href")
		if res := f.mumC.Get(href); res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "application/zip" {
			t.Errorf("the export = %d %s", res.StatusCode, res.Header.Get("Content-Type"))
		}
		var made, machines int
		a.DB.Gorm.Raw(`SELECT count(*) FROM audit_events WHERE action = 'export.made'`).Scan(&made)
		a.DB.Gorm.Raw(`SELECT count(DISTINCT c) FROM river_job, unnest(attempted_by) c WHERE kind = 'data_export'`).Scan(&machines)
		if made != 1 || machines != 2 {
			t.Errorf("%d export.made events and the job tried by %d machines, want 1 and 2", made, machines)
		}
	})

	t.Run("the sweep deletes what the dead machine left, a day later", func(t *testing.T) {
		before := map[string]int{}
		for _, p := range []string{"documents/", "attachments/", "exports/"} {
			before[p] = len(objectsUnder(t, store, p))
		}
		a.Clock.Advance(25 * time.Hour)
		res, err := a.Jobs.Sweep(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("swept %v of %v", res.Deleted, before)
		if res.Deleted["documents/"] != 1 || res.Deleted["exports/"] != 1 {
			t.Errorf("swept %v, want the dead machine's PDF and export", res.Deleted)
		}
		var rows int
		a.DB.Gorm.Raw(`SELECT count(*) FROM documents`).Scan(&rows)
		if n := len(objectsUnder(t, store, "documents/")); n != rows {
			t.Errorf("%d document objects for %d rows", n, rows)
		}
	})
}

// waitForWithin is waitFor with its own bound.
func waitForWithin(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %v", what, d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
