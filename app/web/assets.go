package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"mime"
	"path"
	"reflect"
	"sort"
	"strings"
	"sync"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"
)

// Assets are the files of static/, held in memory and served at /static.
//
// Invariants:
//   - Each file is also served under a name that carries the first 10 hex
//     digits of the SHA-256 of its content ("css/app.3f2a1b9c0d.css").
//     Pages link to that name (View.Asset), and browsers keep it for a
//     year without asking again (immutable): a changed file is a new name.
//     The plain name is still served, for an hour, with an ETag.
//   - A script or style sheet that names another file of static/
//     ("/static/govuk/govuk-frontend.min.js" in app.js) names it by its
//     fingerprint, so nothing a page loads is ever stale.
//   - Text files are compressed once, at start, with brotli and gzip, and
//     sent as the browser asks (Accept-Encoding); nothing is compressed
//     per request.
type Assets struct {
	byPath map[string]*asset // served path ("/static/…") → file
	named  map[string]string // plain name ("css/app.css") → fingerprinted served path
}

type asset struct {
	body, br, gz []byte
	ctype, etag  string
	immutable    bool
}

// compressible are the types worth compressing.
var compressible = map[string]bool{".css": true, ".js": true, ".svg": true, ".json": true, ".txt": true, ".md": true}

// loaded keeps what LoadAssets made, by file system: compressing takes
// about a second, once per process (tests start many apps on one static/).
var loaded sync.Map

// LoadAssets reads every file of fsys (static/).
func LoadAssets(fsys fs.FS) (*Assets, error) {
	comparable := reflect.TypeOf(fsys).Comparable()
	if comparable {
		if a, ok := loaded.Load(fsys); ok {
			return a.(*Assets), nil
		}
	}
	a, err := loadAssets(fsys)
	if err == nil && comparable {
		loaded.Store(fsys, a)
	}
	return a, err
}

func loadAssets(fsys fs.FS) (*Assets, error) {
	raw := map[string][]byte{}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		raw[p] = b
		return err
	})
	if err != nil {
		return nil, err
	}
	a := &Assets{byPath: map[string]*asset{}, named: map[string]string{}}
	// First every file's own fingerprint; then scripts and style sheets
	// name the files they load by theirs (and so get a fingerprint of
	// their own that follows).
	for name, b := range raw {
		a.named[name] = fingerprinted(name, b)
	}
	for name, b := range raw {
		if ext := path.Ext(name); ext == ".js" || ext == ".css" {
			b = a.rewrite(b)
			raw[name] = b
			a.named[name] = fingerprinted(name, b)
		}
	}
	for name, b := range raw {
		f := &asset{body: b, ctype: mime.TypeByExtension(path.Ext(name)), etag: `"` + a.named[name][len("/static/"):] + `"`}
		if f.ctype == "" {
			f.ctype = "application/octet-stream"
		}
		if compressible[path.Ext(name)] && len(b) > 512 {
			f.br = fasthttp.AppendBrotliBytesLevel(nil, b, 9)
			f.gz = fasthttp.AppendGzipBytesLevel(nil, b, fasthttp.CompressBestCompression)
		}
		a.byPath["/static/"+name] = f
		a.byPath[a.named[name]] = &asset{body: f.body, br: f.br, gz: f.gz, ctype: f.ctype, etag: f.etag, immutable: true}
	}
	return a, nil
}

// fingerprinted is name's served path with the hash of b before its
// extension.
func fingerprinted(name string, b []byte) string {
	sum := sha256.Sum256(b)
	ext := path.Ext(name)
	return "/static/" + strings.TrimSuffix(name, ext) + "." + hex.EncodeToString(sum[:5]) + ext
}

// rewrite replaces every "/static/<name>" of a known file in b with its
// fingerprinted path.
func (a *Assets) rewrite(b []byte) []byte {
	if !bytes.Contains(b, []byte("/static/")) {
		return b
	}
	for name, served := range a.named {
		b = bytes.ReplaceAll(b, []byte(`"/static/`+name+`"`), []byte(`"`+served+`"`))
		b = bytes.ReplaceAll(b, []byte(`'/static/`+name+`'`), []byte(`'`+served+`'`))
		b = bytes.ReplaceAll(b, []byte(`(/static/`+name+`)`), []byte(`(`+served+`)`))
	}
	return b
}

// Path is the served path of name (as under static/: "css/app.css"), by
// its fingerprint; a name that is not a file is returned as /static/name,
// which answers 404.
func (a *Assets) Path(name string) string {
	if p, ok := a.named[name]; ok {
		return p
	}
	return "/static/" + name
}

// Source is the content of static file name ("js/sw.js") as it is served
// (a script's links to other files by their fingerprints), for a route
// that must serve a file under a path of its own.
func (a *Assets) Source(name string) ([]byte, bool) {
	f, ok := a.byPath["/static/"+name]
	if !ok {
		return nil, false
	}
	return f.body, true
}

// Version is a digest of every file's fingerprint: it changes whenever any
// static file does. The service worker names its cache by it, so a deploy
// that changes what pages load starts a fresh cache and drops the old.
func (a *Assets) Version() string {
	served := make([]string, 0, len(a.named))
	for _, p := range a.named {
		served = append(served, p)
	}
	sort.Strings(served)
	sum := sha256.Sum256([]byte(strings.Join(served, "\n")))
	return hex.EncodeToString(sum[:5])
}

// Handler serves the files; anything else goes on (to a 404).
func (a *Assets) Handler() fiber.Handler {
	return func(c *fiber.Ctx) error {
		f, ok := a.byPath[c.Path()]
		if !ok || (c.Method() != fiber.MethodGet && c.Method() != fiber.MethodHead) {
			return c.Next()
		}
		c.Set(fiber.HeaderContentType, f.ctype)
		c.Set(fiber.HeaderVary, fiber.HeaderAcceptEncoding)
		c.Set(fiber.HeaderETag, f.etag)
		if f.immutable {
			c.Set(fiber.HeaderCacheControl, "public, max-age=31536000, immutable")
		} else {
			c.Set(fiber.HeaderCacheControl, "public, max-age=3600")
		}
		if c.Get(fiber.HeaderIfNoneMatch) == f.etag {
			return c.SendStatus(fiber.StatusNotModified)
		}
		body := f.body
		switch accepts := c.Get(fiber.HeaderAcceptEncoding); {
		case f.br != nil && strings.Contains(accepts, "br"):
			body = f.br
			c.Set(fiber.HeaderContentEncoding, "br")
		case f.gz != nil && strings.Contains(accepts, "gzip"):
			body = f.gz
			c.Set(fiber.HeaderContentEncoding, "gzip")
		}
		return c.Send(body)
	}
}
