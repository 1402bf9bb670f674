package attachments_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	_ "image/jpeg"
	"io"
	"strconv"
	"strings"
	"testing"

	"gorm.io/gorm"

	"portal/app/access"
	"portal/app/accounts"
	"portal/app/apptest"
	"portal/app/attachments"
	"portal/app/messages"
	"portal/app/records"
	"portal/app/uploads"
	"portal/app/uploads/uploadtest"
)

func TestMain(m *testing.M) { apptest.Main(m) }

// thread is a parent's thread on a record, with one message.
type thread struct {
	a       *apptest.TestApp
	store   *attachments.Store
	th      *messages.Thread
	message *messages.Message
}

func newThread(t *testing.T, a *apptest.TestApp, subject string) *thread {
	t.Helper()
	team := a.NewTeam(t, "Team "+subject)
	record := a.NewRecord(t, team, "Ellie", subject)
	parent := a.NewPerson(t, strings.ToLower(subject)+"@example.net", accounts.RoleCitizen, "")
	a.Grant(t, parent, record, access.Parent)
	msgs := messages.NewStore(a.DB.Gorm, a.Clock, a.Sealer, nil, nil)
	ty := &messages.Type{NameEN: "Message " + subject, NameCY: "Neges " + subject, TeamID: team.ID, Active: true}
	if err := msgs.SaveType(context.Background(), ty); err != nil {
		t.Fatal(err)
	}
	th := &messages.Thread{RecordID: record.ID, HolderID: parent.ID, TypeID: ty.ID, TeamID: team.ID, Subject: subject, StartedBy: parent.ID}
	m := &messages.Message{AuthorID: parent.ID, Body: "See the photo"}
	if err := msgs.Start(context.Background(), th, m); err != nil {
		t.Fatal(err)
	}
	return &thread{a: a, store: attachments.NewStore(a.DB.Gorm, a.Store, a.Clock), th: th, message: m}
}

func (x *thread) save(t *testing.T, name string, content []byte) error {
	t.Helper()
	f, err := attachments.Prepare(context.Background(), bytes.NewReader(content), nil)
	if err != nil {
		return err
	}
	defer f.Close()
	return x.a.DB.Gorm.Transaction(func(tx *gorm.DB) error {
		return x.store.Save(context.Background(), tx, x.th.ID, x.message.ID, []attachments.Upload{{File: f, Name: name}})
	})
}

func read(t *testing.T, r io.ReadCloser, err error) []byte {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestAPhotoLosesItsLocationAndGetsAThumbnail: what is kept says nothing
// of where it was taken; lists show a small thumbnail made here.
func TestAPhotoLosesItsLocationAndGetsAThumbnail(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	x := newThread(t, a, "Smith")
	if err := x.save(t, `C:\Users\carer\IMG_0042.HEIC.jpg`, uploadtest.JPEGWithLocation(1200, 800)); err != nil {
		t.Fatal(err)
	}
	files, err := x.store.ForMessages(context.Background(), x.th.ID, x.message.ID, x.message.ID)
	if err != nil || len(files[x.message.ID]) != 1 {
		t.Fatalf("the thread's files = %v, %v", files, err)
	}
	f := files[x.message.ID][0]
	if f.Name != "IMG_0042.HEIC.jpg" || f.ContentType != "image/jpeg" || !f.IsImage() {
		t.Errorf("kept as %q %q (image %v)", f.Name, f.ContentType, f.IsImage())
	}
	r, _, err := x.store.Open(context.Background(), &f, false)
	kept := read(t, r, err)
	for _, leak := range []string{"GPS", "Acacia", uploadtest.Location} {
		if bytes.Contains(kept, []byte(leak)) {
			t.Errorf("the kept photo still says %q", leak)
		}
	}
	r, _, err = x.store.Open(context.Background(), &f, true)
	thumb := read(t, r, err)
	cfg, format, err := image.DecodeConfig(bytes.NewReader(thumb))
	if err != nil || format != "jpeg" || cfg.Width != attachments.ThumbWidth || cfg.Height != 213 {
		t.Errorf("the thumbnail = %s %dx%d (%v), want jpeg %dx213", format, cfg.Width, cfg.Height, err, attachments.ThumbWidth)
	}
}

// TestOnlyPhotosAndPDFsAreKept: a PDF is kept (no thumbnail); a HEIC
// photo, a file whose content is not its name's, and one over 10 MiB are
// refused, each for its own reason.
func TestOnlyPhotosAndPDFsAreKept(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	x := newThread(t, a, "Jones")
	if err := x.save(t, "letter.pdf", uploadtest.PDF(4000, "")); err != nil {
		t.Fatalf("a PDF: %v", err)
	}
	heic := append([]byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"), make([]byte, 64)...)
	for _, c := range []struct {
		name    string
		content []byte
		want    error
	}{
		{"IMG_0001.HEIC", heic, attachments.ErrHEIC},
		{"photo.jpg", []byte("#!/bin/sh\necho this is not a photo\n"), uploads.ErrNotAllowed},
		{"big.pdf", uploadtest.PDF(attachments.MaxSize+1, ""), uploads.ErrTooLarge},
	} {
		if err := x.save(t, c.name, c.content); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	files, _ := x.store.ForMessages(context.Background(), x.th.ID, x.message.ID, x.message.ID)
	if got := files[x.message.ID]; len(got) != 1 || got[0].IsImage() {
		t.Fatalf("kept %v, want the PDF alone, without a thumbnail", got)
	}
}

// TestAFileIsReachedOnlyThroughItsThread: another thread's id finds
// nothing, as a file that does not exist.
func TestAFileIsReachedOnlyThroughItsThread(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	mine, theirs := newThread(t, a, "Smith"), newThread(t, a, "Jones")
	if err := mine.save(t, "photo.jpg", uploadtest.JPEG(40, 30)); err != nil {
		t.Fatal(err)
	}
	files, _ := mine.store.ForMessages(context.Background(), mine.th.ID, mine.message.ID, mine.message.ID)
	id := files[mine.message.ID][0].ID
	if _, err := mine.store.Get(context.Background(), theirs.th.ID, id); !errors.Is(err, attachments.ErrNotFound) {
		t.Fatalf("another thread's file: %v, want ErrNotFound", err)
	}
	if _, err := mine.store.Get(context.Background(), mine.th.ID, id); err != nil {
		t.Fatalf("its own thread: %v", err)
	}
}

// TestTheTeamInboxMarksThreadsWithFiles: the worker sees which threads
// carry a file before opening them.
func TestTheTeamInboxMarksThreadsWithFiles(t *testing.T) {
	a := apptest.NewApp(t, apptest.Options{})
	with, without := newThread(t, a, "Smith"), newThread(t, a, "Jones")
	if err := with.save(t, "photo.jpg", uploadtest.JPEG(40, 30)); err != nil {
		t.Fatal(err)
	}
	for _, x := range []*thread{with, without} {
		team := &records.Team{ID: x.th.TeamID}
		worker := a.NewWorker(t, "worker"+strconv.FormatInt(x.th.ID, 10)+"@example.org", team)
		c := a.Client(t)
		a.SignIn(t, c, worker)
		marked := c.Get("/staff/inbox").Doc.Find("#attachments-"+strconv.FormatInt(x.th.ID, 10)).Length() == 1
		if marked != (x == with) {
			t.Errorf("thread %q marked as having files: %v", x.th.Subject, marked)
		}
	}
}
