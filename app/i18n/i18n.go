// Package i18n loads the portal's messages from locales/ and picks each
// request's language.
//
// Invariants:
//   - Every user-facing string is a message in locales/*.<lang>.toml; English
//     (en) is complete and the fallback, Welsh (cy) is complete too (a test
//     checks both against each other and against every key used in views/).
//   - The language comes from the person's explicit choice (?lang= or the
//     footer switcher, remembered in a cookie), then Accept-Language.
package i18n

import (
	"fmt"
	"html/template"
	"io/fs"
	"path"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
)

// Supported lists the languages the portal speaks, the default first.
var Supported = []language.Tag{language.English, language.MustParse("cy")}

// Languages are Supported as the codes stored with a person or an
// invitation.
var Languages = []string{"en", "cy"}

// Bundle holds every message of every language.
type Bundle struct {
	b          *i18n.Bundle
	localizers map[string]*Localizer // one per Supported language, made once
}

// Load reads every locales/*.toml file in fsys.
func Load(fsys fs.FS) (*Bundle, error) {
	b := i18n.NewBundle(language.English)
	b.RegisterUnmarshalFunc("toml", toml.Unmarshal)
	files, err := fs.Glob(fsys, "*.toml")
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("i18n: no message files")
	}
	for _, f := range files {
		data, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, err
		}
		if _, err := b.ParseMessageFileBytes(data, path.Base(f)); err != nil {
			return nil, fmt.Errorf("i18n: %s: %w", f, err)
		}
	}
	bundle := &Bundle{b: b, localizers: map[string]*Localizer{}}
	ids := map[string]bool{}
	for _, lang := range Languages {
		keys, err := Keys(fsys, lang)
		if err != nil {
			return nil, err
		}
		for id := range keys {
			ids[id] = true
		}
	}
	for _, lang := range Languages {
		bundle.localizers[lang] = newLocalizer(b, lang, ids)
	}
	return bundle, nil
}

// matcher is made once: making one is most of what matching costs.
var matcher = language.NewMatcher(Supported)

// Match picks the best supported language from an explicit choice and an
// Accept-Language header; the choice wins when it is supported.
func Match(choice, acceptLanguage string) string {
	for _, t := range Supported {
		if choice == t.String() {
			return choice
		}
	}
	if acceptLanguage == "" {
		return Supported[0].String()
	}
	tags, _, _ := language.ParseAcceptLanguage(acceptLanguage)
	_, idx, conf := matcher.Match(tags...)
	if conf == language.No {
		return Supported[0].String()
	}
	return Supported[idx].String()
}

// Localizer translates for one language. It is made once per language
// and shared by every request (it holds nothing of one).
type Localizer struct {
	Lang string
	l    *i18n.Localizer
	// plain is every message as T gives it without arguments, worked out
	// once: a page asks for a hundred, and go-i18n's Localize matches
	// languages and runs a template for each.
	plain map[string]string
}

func newLocalizer(b *i18n.Bundle, lang string, ids map[string]bool) *Localizer {
	l := &Localizer{Lang: lang, l: i18n.NewLocalizer(b, lang, "en")}
	l.plain = make(map[string]string, len(ids))
	for id := range ids {
		l.plain[id] = l.localize(id)
	}
	return l
}

// For returns the localizer of lang (falling back to English).
func (b *Bundle) For(lang string) *Localizer {
	if l, ok := b.localizers[lang]; ok {
		return l
	}
	return &Localizer{Lang: lang, l: i18n.NewLocalizer(b.b, lang, "en")}
}

// T translates id. Optional args are key, value pairs for the template
// data ("T "x" "Count" 3"); a "Count" key also picks the plural form. A
// missing message shows its id, so a gap is visible and never blank.
func (l *Localizer) T(id string, args ...any) string {
	if len(args) == 0 {
		if s, ok := l.plain[id]; ok {
			return s
		}
	}
	return l.localize(id, args...)
}

func (l *Localizer) localize(id string, args ...any) string {
	cfg := &i18n.LocalizeConfig{MessageID: id}
	if len(args) > 0 {
		data := map[string]any{}
		for i := 0; i+1 < len(args); i += 2 {
			k := fmt.Sprint(args[i])
			data[k] = args[i+1]
			if k == "Count" {
				cfg.PluralCount = args[i+1]
			}
		}
		cfg.TemplateData = data
	}
	s, err := l.l.Localize(cfg)
	if err != nil && cfg.PluralCount != nil {
		// "Count" is data here, not a plural: the message has one form
		// ("Page {{.Page}} of {{.Count}}"), which go-i18n will not pick
		// for a count that needs "one" or "two".
		cfg.PluralCount = nil
		s, err = l.l.Localize(cfg)
	}
	if err != nil || s == "" {
		return id
	}
	return s
}

// HTML translates id whose message holds trusted markup written by us in
// locales/ (links in help text). Template data is escaped before it is put in.
func (l *Localizer) HTML(id string, args ...any) template.HTML {
	for i := 1; i < len(args); i += 2 {
		if s, ok := args[i].(string); ok {
			args[i] = template.HTMLEscapeString(s)
		}
	}
	return template.HTML(l.T(id, args...)) // #nosec: messages are ours, data escaped above
}

// Has reports whether id exists in lang itself (no fallback), for tests.
func (b *Bundle) Has(lang, id string) bool {
	_, tag, err := i18n.NewLocalizer(b.b, lang).LocalizeWithTag(&i18n.LocalizeConfig{MessageID: id})
	return err == nil && strings.HasPrefix(tag.String(), lang)
}

// Keys lists every message id that the files of lang in fsys define, by
// flattening nested tables as go-i18n does. Tests compare languages with it.
func Keys(fsys fs.FS, lang string) (map[string]bool, error) {
	files, err := fs.Glob(fsys, "*."+lang+".toml")
	if err != nil {
		return nil, err
	}
	keys := map[string]bool{}
	for _, f := range files {
		var raw map[string]any
		data, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, err
		}
		if err := toml.Unmarshal(data, &raw); err != nil {
			return nil, fmt.Errorf("i18n: %s: %w", f, err)
		}
		flatten("", raw, keys)
	}
	return keys, nil
}

// pluralForms are the keys go-i18n reads as a message's forms, not as nesting.
var pluralForms = map[string]bool{"zero": true, "one": true, "two": true, "few": true, "many": true, "other": true, "description": true, "hash": true}

func flatten(prefix string, m map[string]any, out map[string]bool) {
	for k, v := range m {
		id := k
		if prefix != "" {
			id = prefix + "." + k
		}
		sub, ok := v.(map[string]any)
		if !ok {
			out[id] = true
			continue
		}
		isMessage := true
		for sk := range sub {
			if !pluralForms[sk] {
				isMessage = false
			}
		}
		if isMessage {
			out[id] = true
			continue
		}
		flatten(id, sub, out)
	}
}
