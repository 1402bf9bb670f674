package i18n_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"portal/app/i18n"
)

func repo(t *testing.T) string {
	dir, _ := os.Getwd()
	for ; dir != "/"; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
	}
	t.Fatal("go.mod not found")
	return ""
}

func keys(t *testing.T, lang string) map[string]bool {
	k, err := i18n.Keys(os.DirFS(filepath.Join(repo(t), "locales")), lang)
	if err != nil {
		t.Fatal(err)
	}
	if len(k) == 0 {
		t.Fatalf("no messages for %s", lang)
	}
	return k
}

func TestEnglishAndWelshHaveTheSameKeys(t *testing.T) {
	en, cy := keys(t, "en"), keys(t, "cy")
	var missing []string
	for k := range en {
		if !cy[k] {
			missing = append(missing, "cy lacks "+k)
		}
	}
	for k := range cy {
		if !en[k] {
			missing = append(missing, "en lacks "+k)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Fatalf("%d keys differ:\n%s", len(missing), strings.Join(missing, "\n"))
	}
}

// usedKey finds message ids in templates (.T "x", .HTML "x") and in Go code
// (Title: "x", Key: "x", web.BadRequest("x"), …).
var (
	viewKey = regexp.MustCompile(`\.(?:T|HTML) "([a-z0-9_.]+)"`)
	goKey   = regexp.MustCompile(`(?:Title|Key|Data|Fragment_key):\s*"([a-z0-9_]+\.[a-z0-9_.]+)"|(?:BadRequest|Forbidden|AddFlash\([^,]+, "[a-z]+",)\s*\(?"([a-z0-9_]+\.[a-z0-9_.]+)"`)
)

func TestEveryKeyUsedExists(t *testing.T) {
	root := repo(t)
	en := keys(t, "en")
	var missing []string
	check := func(dir string, re *regexp.Regexp, ext string) {
		_ = filepath.WalkDir(filepath.Join(root, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ext) || strings.HasSuffix(path, "_test.go") {
				return err
			}
			b, _ := os.ReadFile(path)
			for _, m := range re.FindAllStringSubmatch(string(b), -1) {
				for _, id := range m[1:] {
					if id != "" && !en[id] && !strings.HasSuffix(id, ".") {
						missing = append(missing, id+" ("+strings.TrimPrefix(path, root+"/")+")")
					}
				}
			}
			return nil
		})
	}
	check("views", viewKey, ".html")
	check("app", goKey, ".go")
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Fatalf("%d message ids are used but not defined in English:\n%s", len(missing), strings.Join(missing, "\n"))
	}
}

func TestMatchPrefersTheChoiceThenTheBrowser(t *testing.T) {
	for _, tc := range []struct{ choice, accept, want string }{
		{"cy", "en-GB", "cy"},
		{"", "cy-GB,en;q=0.5", "cy"},
		{"", "fr-FR", "en"},
		{"xx", "cy", "cy"},
		{"", "", "en"},
	} {
		t.Run("choice="+tc.choice+" accept="+tc.accept, func(t *testing.T) {
			if got := i18n.Match(tc.choice, tc.accept); got != tc.want {
				t.Fatalf("Match = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestTheMessagesLoad loads locales/ as the app does: go-i18n refuses a
// table that mixes plural words (one, other, description, …) with keys.
func TestTheMessagesLoad(t *testing.T) {
	if _, err := i18n.Load(os.DirFS(filepath.Join(repo(t), "locales"))); err != nil {
		t.Fatal(err)
	}
}
