package bench

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"portal/app/clock"
	"portal/app/demo"
	"portal/app/documents"
	"portal/storage"
)

func base64Std(s string) ([]byte, error) { return base64.StdEncoding.DecodeString(s) }

var assetRE = regexp.MustCompile(`(?:href|src)="(/(?:static|assets)/[^"]+)"`)

// firstLoad is what a browser with an empty cache downloads for a page and
// the files it names (bodies as sent, compressed by Accept-Encoding).
func (r *run) firstLoad(b *testing.B) {
	for _, p := range []struct {
		name, path, cookie string
	}{{"sign-in page", "/sign-in", ""}, {"dashboard", "/records/" + strconv.FormatInt(r.record, 10), r.tokens[0]}} {
		page, wire := r.get(b, p.path, p.cookie, "br, gzip")
		total, files := wire, 1
		seen := map[string]bool{}
		for _, m := range assetRE.FindAllStringSubmatch(string(page), -1) {
			if seen[m[1]] {
				continue
			}
			seen[m[1]] = true
			_, n := r.get(b, m[1], "", "br, gzip")
			total += n
			files++
		}
		// app.js imports its modules by fingerprint: count those too.
		r.add("first load of the "+p.name+", bytes on the wire", "≤ 65 KB", "%.1f KB in %d requests", float64(total)/1024, files)
		if p.cookie != "" {
			plain, _ := r.get(b, p.path, p.cookie, "")
			r.dashboardBytes = len(plain)
			frag := r.getWith(b, p.path, p.cookie, map[string]string{"HX-Request": "true"})
			r.add("dashboard as an HTMX fragment ÷ as a page, bytes", "≤ 0.5", "%.2f", float64(len(frag))/float64(len(plain)))
		}
	}
}

// get fetches path and returns its body, decompressed when the server
// compressed it, and the bytes as sent.
func (r *run) get(b *testing.B, path, cookie, encoding string) ([]byte, int) {
	req, _ := http.NewRequest(http.MethodGet, r.portal.url+path, nil)
	if encoding != "" {
		req.Header.Set("Accept-Encoding", encoding)
	}
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: "portal_session", Value: cookie})
	}
	res, err := r.client.Do(req)
	must(b, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	must(b, err)
	if res.StatusCode != http.StatusOK {
		b.Fatalf("%s: status %d", path, res.StatusCode)
	}
	return decode(b, res.Header.Get("Content-Encoding"), raw), len(raw)
}

func (r *run) getWith(b *testing.B, path, cookie string, header map[string]string) []byte {
	req, _ := http.NewRequest(http.MethodGet, r.portal.url+path, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	req.AddCookie(&http.Cookie{Name: "portal_session", Value: cookie})
	res, err := r.client.Do(req)
	must(b, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	must(b, err)
	return body
}

// writesPerGet counts the statements that wrote (pg_stat_statements),
// River's own aside, over a run of GETs: signed in, then anonymous
// without a cookie (a crawler).
func (r *run) writesPerGet(b *testing.B) {
	const n = 200
	count := func(reqs []request) float64 {
		must(b, r.db.Gorm.Exec(`SELECT pg_stat_statements_reset()`).Error)
		for i := 0; i < n; i++ {
			if _, err := reqs[i%len(reqs)].do(r.client); err != nil {
				b.Fatal(err)
			}
		}
		var writes float64
		must(b, r.db.Gorm.Raw(`SELECT coalesce(sum(calls), 0) FROM pg_stat_statements
			WHERE query ~* '^\s*(with\M.*)?\m(insert|update|delete)\M' AND query !~* 'river_'
			AND query !~* 'pg_stat_statements'`).Scan(&writes).Error)
		return writes / n
	}
	signed := count(r.signedIn(r.portal.url, "/records/"+strconv.FormatInt(r.record, 10), sessions))
	anon := count([]request{{url: r.portal.url + "/sign-in", want: http.StatusOK}})
	r.add("write statements per signed-in GET (dashboard, audited)", "≤ 1", "%.2f", signed)
	r.add("write statements per anonymous GET (sign-in page, no cookie)", "0", "%.2f", anon)
}

var csrfRE = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// storm: 20 password sign-ins a second (argon2id) while others browse;
// the browsing p99 against the same browsing without the storm.
func (r *run) storm(b *testing.B) {
	browse := r.signedIn(r.portal.url, "/records/"+strconv.FormatInt(r.record, 10), clients)
	quiet := drive(r.portal, r.client, clients, 2*slice, browse)
	check(b, quiet)

	before := r.portal.rss()
	stopRSS := make(chan struct{})
	peak := r.portal.peakRSS(stopRSS)
	var mu sync.Mutex
	outcomes := map[int]int{}
	var signInLat []time.Duration
	var wg sync.WaitGroup
	stormEnds := time.Now().Add(4 * slice)
	go func() {
		tick := time.NewTicker(50 * time.Millisecond) // 20 a second
		defer tick.Stop()
		for time.Now().Before(stormEnds) {
			<-tick.C
			wg.Add(1)
			go func() {
				defer wg.Done()
				status, took := r.signIn(b)
				mu.Lock()
				outcomes[status]++
				if status == http.StatusSeeOther {
					signInLat = append(signInLat, took)
				}
				mu.Unlock()
			}()
		}
	}()
	busy := drive(r.portal, r.client, clients, 4*slice, browse)
	wg.Wait()
	close(stopRSS)
	check(b, busy)
	r.add("browsing p99 during 20 sign-ins/s ÷ without", "≤ 3", "%.2f (%s → %s)", float64(busy.pct(99))/float64(quiet.pct(99)),
		quiet.pct(99).Round(time.Millisecond), busy.pct(99).Round(time.Millisecond))
	var parts []string
	for _, s := range sortedKeys(outcomes) {
		parts = append(parts, fmt.Sprintf("%d×%d", outcomes[s], s))
	}
	sort.Slice(signInLat, func(i, j int) bool { return signInLat[i] < signInLat[j] })
	p50 := time.Duration(0)
	if len(signInLat) > 0 {
		p50 = signInLat[len(signInLat)/2]
	}
	r.add("sign-ins during the storm (status × count), p50 of those let in", "beyond capacity: 503 at once",
		"%s; p50 %s", strings.Join(parts, ", "), p50.Round(time.Millisecond))
	r.add("portal's peak memory during the storm", "≤ 150 MB", "%.0f MB (%.0f MB before)", <-peak, before)
}

func sortedKeys(m map[int]int) []int {
	var ks []int
	for k := range m {
		ks = append(ks, k)
	}
	sort.Ints(ks)
	return ks
}

// signIn is one person signing in with a password from their own address:
// the page (for its CSRF token), then the form. It returns the form's
// status and how long it took.
func (r *run) signIn(b *testing.B) (int, time.Duration) {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Transport: r.client.Transport, CheckRedirect: r.client.CheckRedirect, Timeout: time.Minute}
	ip := fmt.Sprintf("10.%d.%d.%d", rnd(250), rnd(250), rnd(250))
	req, _ := http.NewRequest(http.MethodGet, r.portal.url+"/sign-in", nil)
	req.Header.Set("Fly-Client-IP", ip)
	res, err := c.Do(req)
	if err != nil {
		return 0, 0
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	m := csrfRE.FindSubmatch(page)
	if m == nil {
		return res.StatusCode, 0
	}
	form := url.Values{"email": {demo.ParentEmail}, "password": {r.password}, "_csrf": {string(m[1])}}
	req, _ = http.NewRequest(http.MethodPost, r.portal.url+"/sign-in", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Fly-Client-IP", ip)
	t := time.Now()
	res, err = c.Do(req)
	if err != nil {
		return 0, 0
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode, time.Since(t)
}

func rnd(n int) int {
	var x [1]byte
	_, _ = rand.Read(x[:])
	return int(x[0]) % n
}

// liveDelivery opens a live stream of the long thread for every minted
// session, posts replies, and times each reply's arrival on each stream.
func (r *run) liveDelivery(b *testing.B) {
	const replies = 5
	thread := fmt.Sprintf("/records/%d/messages/%d", r.record, r.thread)
	var mu sync.Mutex
	sent := map[string]time.Time{}
	var lat []time.Duration
	ready := make(chan struct{}, sessions)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	for _, token := range r.tokens {
		wg.Add(1)
		go func(token string) {
			defer wg.Done()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, r.portal.url+thread+"/stream", nil)
			req.AddCookie(&http.Cookie{Name: "portal_session", Value: token})
			res, err := r.client.Do(req)
			if err != nil || res.StatusCode != http.StatusOK {
				b.Errorf("stream: %v", err)
				ready <- struct{}{}
				return
			}
			defer res.Body.Close()
			sc := bufio.NewScanner(res.Body)
			sc.Buffer(make([]byte, 1<<16), 1<<20)
			opened := false
			for sc.Scan() {
				line := sc.Text()
				if !opened && strings.HasPrefix(line, "id:") {
					// The stream's opening frame: it is subscribed.
					opened = true
					ready <- struct{}{}
				}
				if i := strings.Index(line, "bench-reply-"); i >= 0 {
					mark := line[i : i+len("bench-reply-")+1]
					now := time.Now()
					mu.Lock()
					if t, ok := sent[mark]; ok {
						lat = append(lat, now.Sub(t))
					}
					mu.Unlock()
				}
			}
		}(token)
	}
	for range r.tokens {
		<-ready
	}
	poster := r.tokens[0]
	for i := 0; i < replies; i++ {
		mark := fmt.Sprintf("bench-reply-%d", i)
		token := r.csrfOf(b, thread, poster)
		form := url.Values{"body": {"Reply " + mark + " from the load run."}, "_csrf": {token}}
		req, _ := http.NewRequest(http.MethodPost, r.portal.url+thread, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(&http.Cookie{Name: "portal_session", Value: poster})
		mu.Lock()
		sent[mark] = time.Now()
		mu.Unlock()
		res, err := r.client.Do(req)
		must(b, err)
		res.Body.Close()
		if res.StatusCode != http.StatusSeeOther {
			b.Fatalf("reply: status %d", res.StatusCode)
		}
		time.Sleep(500 * time.Millisecond) // replies apart, as people send them
	}
	for wait := time.Now().Add(10 * time.Second); time.Now().Before(wait); time.Sleep(50 * time.Millisecond) {
		mu.Lock()
		all := len(lat) == replies*len(r.tokens)
		mu.Unlock()
		if all {
			break
		}
	}
	cancel()
	wg.Wait()
	mu.Lock()
	res := result{lat: lat}
	mu.Unlock()
	r.add("a reply reaching 200 open thread pages, p50 / p95", "p95 ≤ 100 ms", "%s / %s (%d of %d delivered)",
		res.pct(50).Round(time.Millisecond), res.pct(95).Round(time.Millisecond), len(lat), replies*len(r.tokens))
}

// csrfOf reads a page's CSRF token.
func (r *run) csrfOf(b *testing.B, path, cookie string) string {
	m := csrfRE.FindSubmatch(r.getWith(b, path, cookie, nil))
	if m == nil {
		b.Fatalf("%s: no CSRF token", path)
	}
	return string(m[1])
}

// download: a 20 MiB document through the portal against a direct read
// of the same object from the same store.
func (r *run) download(b *testing.B) {
	ctx := context.Background()
	objects, err := storage.NewLocal(filepath.Join(r.dir, "data", "objects"))
	must(b, err)
	body := bytes.Repeat([]byte("0123456789abcdef"), 20<<20/16)
	key := storage.NewKey("documents/")
	info, err := objects.Put(ctx, key, bytes.NewReader(body), int64(len(body)),
		storage.Meta{ContentType: "application/pdf", FileName: "large.pdf"})
	must(b, err)
	var worker int64
	must(b, r.db.Gorm.Raw(`SELECT id FROM people WHERE email = ?`, demo.WorkerEmail).Scan(&worker).Error)
	doc := &documents.Document{RecordID: r.record, Kind: "plan", Title: "Large", ObjectKey: key, FileName: "large.pdf",
		ContentType: "application/pdf", Size: info.Size, SHA256: "bench", SentBy: &worker}
	must(b, documents.NewStore(r.db.Gorm, clock.Real{}).Create(ctx, nil, doc, []int64{r.parent}))
	path := fmt.Sprintf("/records/%d/documents/%d", r.record, doc.ID)
	const times = 5
	before := r.portal.rss()
	stop := make(chan struct{})
	peak := r.portal.peakRSS(stop)
	var viaPortal, direct time.Duration
	for i := 0; i < times; i++ {
		t := time.Now()
		n, err := (request{url: r.portal.url + path, cookie: r.tokens[0], want: http.StatusOK}).do(r.client)
		must(b, err)
		viaPortal += time.Since(t)
		if n != len(body) {
			b.Fatalf("download: %d bytes, want %d", n, len(body))
		}
		t = time.Now()
		rc, _, err := objects.Get(ctx, key)
		must(b, err)
		_, _ = io.Copy(io.Discard, rc)
		rc.Close()
		direct += time.Since(t)
	}
	close(stop)
	r.add("a 20 MiB download: throughput ÷ a direct read of the file; portal's peak memory", "", "%.2f (%.0f MB/s); %.0f MB (%.0f MB before)",
		float64(direct)/float64(viaPortal), float64(times*len(body))/(1<<20)/viaPortal.Seconds(), <-peak, before)
}

// decode undoes Content-Encoding for the figures that need the page.
func decode(b *testing.B, encoding string, raw []byte) []byte {
	switch encoding {
	case "":
		return raw
	case "gzip":
		return gunzip(b, raw)
	case "br":
		return unbrotli(b, raw)
	}
	b.Fatalf("unknown encoding %q", encoding)
	return nil
}
