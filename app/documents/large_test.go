package documents_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"portal/app"
	"portal/app/apptest"
	"portal/app/documents"
	"portal/app/uploads/uploadtest"
	"portal/storage"
	"portal/storage/s3test"
)

// The buckets' name in these tests' S3 server.
const testBucket = "documents"

// newS3World is the world of documents_test.go on a real S3 server
// (versitygw) instead of the local directory NewApp gives by default.
func newS3World(t *testing.T) (*world, *s3test.Server) {
	t.Helper()
	srv := s3test.Start(t)
	s3, err := storage.NewS3(t.Context(), storage.S3Config{Endpoint: srv.Addr,
		AccessKey: srv.AccessKey, SecretKey: srv.SecretKey, Bucket: testBucket})
	if err != nil {
		t.Fatal(err)
	}
	w := newWorld(t, apptest.Options{Tune: func(d *app.Deps) { d.Store = s3 }})
	if _, ok := w.a.Store.(*storage.S3); !ok {
		t.Fatalf("the app's store is %T, not the S3 store", w.a.Store)
	}
	return w, srv
}

func TestUploadAndDownloadRoundTripOnS3(t *testing.T) {
	w, srv := newS3World(t)
	file := pdf(t, 3<<20)
	path := w.sent(t, w.ellie, "Child protection plan", file, w.mum)

	var doc struct {
		ObjectKey string
		SHA256    string `gorm:"column:sha256"`
	}
	w.a.DB.Gorm.Raw(`SELECT object_key, sha256 FROM documents`).Scan(&doc)
	sum := sha256.Sum256(file)
	if doc.SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("the recorded SHA-256 is %q, not the file's", doc.SHA256)
	}
	info, err := w.a.Store.Stat(t.Context(), doc.ObjectKey)
	if err != nil || info.Size != int64(len(file)) || info.ContentType != "application/pdf" {
		t.Fatalf("the object in S3: %+v, %v", info, err)
	}
	// The posix gateway keeps an object as a file under its bucket: proof
	// that the bytes went to the S3 server, not to a local directory.
	if fi, err := os.Stat(filepath.Join(srv.Dir, testBucket, filepath.FromSlash(doc.ObjectKey))); err != nil || fi.Size() != int64(len(file)) {
		t.Fatalf("the S3 server's file for %s: %v", doc.ObjectKey, err)
	}

	res := w.mumC.Get(path)
	if res.StatusCode != http.StatusOK || !bytes.Equal([]byte(res.Body), file) {
		t.Fatalf("download = %d, %d bytes of %d, same = %v", res.StatusCode, len(res.Body), len(file),
			bytes.Equal([]byte(res.Body), file))
	}
	if got := res.Header.Get("Content-Length"); got != strconv.Itoa(len(file)) {
		t.Errorf("Content-Length = %q, want %d", got, len(file))
	}
}

func TestALargeDownloadStreamsWithBoundedMemory(t *testing.T) {
	w := newWorld(t, apptest.Options{})
	if _, ok := w.a.Store.(*storage.Local); !ok {
		t.Fatalf("the app's store is %T, not the local store", w.a.Store)
	}
	// Security: a file held in memory per download lets a few holders
	// exhaust the server; the whole gibibyte must never be resident.
	streamsWithBoundedMemory(t, w, 1<<30, 64<<20)
}

func TestALargeS3DownloadStreamsWithBoundedMemory(t *testing.T) {
	w, _ := newS3World(t)
	// S3.Put spools to a temporary file; that happens before the baseline,
	// so only the download (minio-go's body → fasthttp) is measured.
	streamsWithBoundedMemory(t, w, 64<<20, 32<<20)
}

// streamsWithBoundedMemory stores a generated file of size bytes straight
// in w's object store, sends it to mum as a document, and has her download
// it through the real server: every byte arrives, and the process's heap
// grows by less than bound meanwhile. The server runs in this process, so a
// handler that buffered the file would show in the heap.
func streamsWithBoundedMemory(t *testing.T, w *world, size int64, bound uint64) {
	t.Helper()
	a, ctx := w.a, t.Context()
	key := storage.NewKey("documents/")
	gen := sha256.New()
	start := time.Now()
	if _, err := a.Store.Put(ctx, key, io.TeeReader(generated(size), gen), size,
		storage.Meta{ContentType: "application/pdf", FileName: "big.pdf"}); err != nil {
		t.Fatal(err)
	}
	t.Logf("put %d MiB in %v", size>>20, time.Since(start).Round(time.Millisecond))
	want := hex.EncodeToString(gen.Sum(nil))
	doc := &documents.Document{RecordID: w.ellie.ID, Kind: documents.KindReport, Title: "Big", ObjectKey: key,
		FileName: "big.pdf", ContentType: "application/pdf", Size: size, SHA256: want}
	if err := documents.NewStore(a.DB.Gorm, a.Clock).Create(ctx, nil, doc, []int64{w.mum.ID}); err != nil {
		t.Fatal(err)
	}

	d := measureDownload(t, a, w.mumC, holderRecord(w.ellie)+"/documents/"+strconv.FormatInt(doc.ID, 10))
	t.Logf("downloaded %d MiB in %v; heap in use peaked %.1f MiB over its baseline (%d samples)",
		d.n>>20, d.took.Round(time.Millisecond), float64(d.peak)/(1<<20), d.samples)
	if d.status != http.StatusOK || d.n != size || d.sha256 != want {
		t.Fatalf("download = %d, %d bytes of %d, SHA-256 %s, want %s", d.status, d.n, size, d.sha256, want)
	}
	if got := d.header.Get("Content-Length"); got != strconv.FormatInt(size, 10) {
		t.Errorf("Content-Length = %q, want %d", got, size)
	}
	if d.peak >= bound {
		t.Errorf("the heap grew by %.1f MiB during the download, want under %d MiB: the file is buffered",
			float64(d.peak)/(1<<20), bound>>20)
	}
}

// generated is size deterministic bytes that begin like a PDF, made as they
// are read, so a gibibyte costs no memory.
func generated(size int64) io.Reader {
	const sig = "%PDF-1.7\n"
	seed := [32]byte{}
	copy(seed[:], "portal large download")
	return io.LimitReader(io.MultiReader(strings.NewReader(sig), rand.NewChaCha8(seed)), size)
}

// download is what measureDownload saw.
type download struct {
	status  int
	header  http.Header
	n       int64  // body bytes
	sha256  string // hex of the body
	peak    uint64 // the most HeapInuse rose above its level before the request
	samples uint64
	took    time.Duration
}

// measureDownload fetches path as c's session with a plain net/http request
// (apptest.Client would hold the whole body in a string), hashing the body
// into nothing, while sampling the heap every 2 ms and every 4 MiB read.
func measureDownload(t *testing.T, a *apptest.TestApp, c *apptest.Client, path string) download {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, a.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	name := a.Sessions.CookieName
	if c.Cookie(name) == "" {
		t.Fatalf("the client has no %s cookie", name)
	}
	req.AddCookie(&http.Cookie{Name: name, Value: c.Cookie(name)})
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	m, stop := watchHeap()
	defer stop()

	start := time.Now()
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(h, m), res.Body)
	if err != nil {
		t.Fatalf("after %d bytes: %v", n, err)
	}
	took := time.Since(start)
	m.sample()
	return download{status: res.StatusCode, header: res.Header, n: n, sha256: hex.EncodeToString(h.Sum(nil)),
		peak: m.peak.Load(), samples: m.samples.Load(), took: took}
}

// watchHeap starts sampling the heap every 2 ms from a baseline taken
// after a collection; stop ends the sampling.
func watchHeap() (m *heapSampler, stop func()) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m = &heapSampler{base: ms.HeapInuse}
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				m.sample()
			}
		}
	}()
	return m, func() { close(done); <-stopped }
}

// heapSampler records the peak of HeapInuse above base. As an io.Writer it
// also samples every 4 MiB of the body, so the peak does not depend on the
// ticker being scheduled.
type heapSampler struct {
	base          uint64
	peak, samples atomic.Uint64
	written       int64 // only the copying goroutine touches it
}

func (m *heapSampler) sample() {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m.samples.Add(1)
	if ms.HeapInuse <= m.base {
		return
	}
	for grew := ms.HeapInuse - m.base; ; {
		old := m.peak.Load()
		if grew <= old || m.peak.CompareAndSwap(old, grew) {
			return
		}
	}
}

func (m *heapSampler) Write(p []byte) (int, error) {
	before := m.written
	m.written += int64(len(p))
	if before>>22 != m.written>>22 {
		m.sample()
	}
	return len(p), nil
}

func TestAnUploadStreamsWithBoundedMemory(t *testing.T) {
	w := newWorld(t, apptest.Options{})
	a := w.a
	const size = 24 << 20 // under the 25 MiB limit
	w.worker.Get(staffRecord(w.ellie) + "/documents/new")
	// The body is made as it is sent: its fields, a generated file, the
	// closing boundary, with a Content-Length as a browser gives.
	var head bytes.Buffer
	mw := multipart.NewWriter(&head)
	for _, f := range [][2]string{{"_csrf", w.worker.CSRF()}, {"title", "Big plan"}, {"kind", "plan"}, {"recipients", id(w.mum)}} {
		mw.WriteField(f[0], f[1])
	}
	if _, err := mw.CreateFormFile("file", "big.pdf"); err != nil {
		t.Fatal(err)
	}
	tail := "\r\n--" + mw.Boundary() + "--\r\n"
	hash := sha256.New()
	file := uploadtest.PDF(int(size), "") // made before the heap is watched
	body := io.MultiReader(bytes.NewReader(head.Bytes()), io.TeeReader(bytes.NewReader(file), hash), strings.NewReader(tail))
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, a.URL+staffRecord(w.ellie)+"/documents", body)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = int64(head.Len()) + size + int64(len(tail))
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.AddCookie(&http.Cookie{Name: a.Sessions.CookieName, Value: w.worker.Cookie(a.Sessions.CookieName)})
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	m, stop := watchHeap()
	res, err := client.Do(req)
	m.sample()
	stop()
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("upload = %d", res.StatusCode)
	}
	var stored struct {
		Size   int64
		SHA256 string `gorm:"column:sha256"`
	}
	a.DB.Gorm.Raw(`SELECT size, sha256 FROM documents`).Scan(&stored)
	if stored.Size != size || stored.SHA256 != hex.EncodeToString(hash.Sum(nil)) {
		t.Errorf("stored %d bytes, sha256 %s; sent %d", stored.Size, stored.SHA256, size)
	}
	t.Logf("a %d MiB upload: peak heap growth %.1f MiB over %d samples", size>>20, float64(m.peak.Load())/(1<<20), m.samples.Load())
	if peak := m.peak.Load(); peak > 16<<20 {
		t.Errorf("the heap grew by %.1f MiB during a %d MiB upload: the body is buffered", float64(peak)/(1<<20), size>>20)
	}
}
