package printout

import (
	"fmt"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/text/unicode/norm"
)

// family is the name the fonts are registered under in each PDF.
const family = "Go"

// tabWidth is how many spaces a tab becomes: a PDF has no tab stops, and a
// holder who indents with a tab means "indent".
const tabWidth = 4

// fontSet is the parsed Go fonts. They are constant data compiled into the
// binary, so they are parsed once and shared; sfnt.Font is safe for
// concurrent use as long as each caller brings its own sfnt.Buffer.
type fontSet struct {
	regularTTF, boldTTF []byte
	regular, bold       *sfnt.Font
}

var loadFonts = sync.OnceValues(func() (*fontSet, error) {
	regular, err := sfnt.Parse(goregular.TTF)
	if err != nil {
		return nil, fmt.Errorf("printout: parse Go Regular: %w", err)
	}
	bold, err := sfnt.Parse(gobold.TTF)
	if err != nil {
		return nil, fmt.Errorf("printout: parse Go Bold: %w", err)
	}
	return &fontSet{regularTTF: goregular.TTF, boldTTF: gobold.TTF, regular: regular, bold: bold}, nil
})

// has reports whether both fonts have a glyph for r: any text may be printed
// in either weight (a question in bold, an answer in regular).
func (f *fontSet) has(buf *sfnt.Buffer, r rune) bool {
	for _, font := range []*sfnt.Font{f.regular, f.bold} {
		if g, err := font.GlyphIndex(buf, r); err != nil || g == 0 {
			return false
		}
	}
	return true
}

// cleaner returns a clean function for one Render: it caches the fonts'
// answer for each rune it sees, because a long answer repeats few runes.
func (f *fontSet) cleaner() func(string) string {
	var buf sfnt.Buffer
	known := map[rune]bool{}
	return func(s string) string {
		return clean(s, func(r rune) bool {
			ok, seen := known[r]
			if !seen {
				ok = f.has(&buf, r)
				known[r] = ok
			}
			return ok
		})
	}
}

// clean makes s safe to lay out: valid UTF-8 in composed form (NFC), with
// "\n" for every line break, tabs as spaces, no control or invisible format
// characters, and "?" for invalid bytes and for every rune that has no glyph.
func clean(s string, has func(rune) bool) string {
	// A run of invalid bytes becomes one "?", like a missing glyph: both
	// mean "something here could not be printed".
	s = strings.ToValidUTF8(s, "?")
	// The fonts have ŵ and ẁ but no combining marks: composing first keeps
	// "w" + U+0300 readable.
	s = norm.NFC.String(s)
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == '\r':
			// CRLF and a lone CR (old Mac text, some pastes) are both one break.
			if i < len(s) && s[i] == '\n' {
				i++
			}
			b.WriteByte('\n')
		case r == '\n' || r == '\u2028' || r == '\u2029':
			b.WriteByte('\n')
		case r == '\t':
			b.WriteString(strings.Repeat(" ", tabWidth))
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r):
			// Control characters have no glyph, and format characters
			// (zero-width spaces, bidi overrides, soft hyphens) are invisible
			// by design; printing either as "?" would only add noise.
		case r == utf8.RuneError:
			// The fonts have U+FFFD, but "?" reads the same on paper as a
			// missing glyph and keeps one sign for "could not be printed".
			b.WriteByte('?')
		case unicode.IsSpace(r):
			// No-break and other spaces: the layout breaks lines at spaces.
			b.WriteByte(' ')
		case has(r):
			b.WriteRune(r)
		default:
			b.WriteByte('?')
		}
	}
	return b.String()
}

// oneLine joins the lines of s with spaces, for texts that have one line
// only: the PDF's Title, the footer and the page number.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
