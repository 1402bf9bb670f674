package i18n

import (
	"os"
	"path/filepath"
	"testing"
)

// T's worked-out messages are what go-i18n gives, in each language, and a
// message with arguments still gets them.
func TestPlainMessagesAreGoI18nsOwn(t *testing.T) {
	fsys := os.DirFS(filepath.Join("..", "..", "locales"))
	b, err := Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range Languages {
		l := b.For(lang)
		if b.For(lang) != l {
			t.Fatalf("%s: a new localizer per call", lang)
		}
		keys, err := Keys(fsys, lang)
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) == 0 || len(l.plain) < len(keys) {
			t.Fatalf("%s: %d worked out of %d keys", lang, len(l.plain), len(keys))
		}
		for id := range keys {
			if got, want := l.T(id), l.localize(id); got != want {
				t.Errorf("%s %s: %q, go-i18n gives %q", lang, id, got, want)
			}
		}
	}
	cy := b.For("cy")
	if got := cy.T("auth.sign_in.error_locked", "Time", "14:05"); got == cy.T("auth.sign_in.error_locked") || got == "auth.sign_in.error_locked" {
		t.Fatalf("a message with arguments: %q", got)
	}
}
