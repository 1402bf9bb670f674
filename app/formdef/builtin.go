package formdef

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
)

//go:embed templates/*.yaml
var builtin embed.FS

// Templates is the folder of the built-in templates, one YAML file each,
// named after its key (review_contribution.yaml has key review_contribution).
var Templates fs.FS = mustSub(builtin, "templates")

func mustSub(fsys fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		panic(err) // the folder is embedded, so it is there
	}
	return sub
}

// Builtin parses every templates/*.yaml, sorted by key. A file whose key
// is not its name, or two files with one key, are errors.
func Builtin() ([]*Template, error) { return Load(Templates) }

// Load parses every *.yaml file of fsys, sorted by key, as Builtin does for
// the embedded folder.
func Load(fsys fs.FS) ([]*Template, error) {
	files, err := fs.Glob(fsys, "*.yaml")
	if err != nil {
		return nil, err
	}
	var out []*Template
	for _, name := range files {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("formdef: %s: %w", name, err)
		}
		t, err := Parse(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if want := strings.TrimSuffix(path.Base(name), ".yaml"); t.Key != want {
			return nil, fmt.Errorf("formdef: %s: key %q is not the file's name %q", name, t.Key, want)
		}
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b *Template) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

// digestVersion starts the canonical encoding; it changes only if the
// encoding itself does, which changes every digest.
const digestVersion = "formdef/1\n"

// Digest is the SHA-256, in hex, of a canonical encoding of t: JSON of the
// parsed template with its defaults filled in (map keys sorted). The same
// template always gives the same digest; any change to what it says or
// checks (a label, a rule, an option, their order) gives another, while
// comments and layout of the YAML do not count. Stored answers keep the
// digest of the template they answered.
func (t *Template) Digest() string {
	b, err := json.Marshal(t)
	if err != nil {
		panic(err) // a Template holds only strings, numbers, slices and maps
	}
	h := sha256.New()
	h.Write([]byte(digestVersion))
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}
