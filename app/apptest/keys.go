package apptest

import (
	"regexp"
	"slices"
	"sync"
	"testing"

	"portal/app/i18n"
)

// idLike is what a message id looks like: dotted lower-case words.
var idLike = regexp.MustCompile(`[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+`)

var (
	idsOnce sync.Once
	ids     map[string]bool
	idsErr  error
)

// MessageKeys returns the message ids of s: anything shown that is an id
// of locales/ itself, where its words should be (a translation that
// failed). It is empty for a page without one.
func MessageKeys(t testing.TB, s string) []string {
	t.Helper()
	idsOnce.Do(func() { ids, idsErr = i18n.Keys(RepoFS(t, "locales"), "en") })
	if idsErr != nil {
		t.Fatal(idsErr)
	}
	var found []string
	for _, w := range idLike.FindAllString(s, -1) {
		if ids[w] && !slices.Contains(found, w) {
			found = append(found, w)
		}
	}
	return found
}
