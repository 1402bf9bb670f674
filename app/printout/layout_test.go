package printout

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/signintech/gopdf"
)

// runeWidth measures every rune as 1 wide, so that tests can count.
func runeWidth(s string) float64 { return float64(utf8.RuneCountInString(s)) }

func TestWrap(t *testing.T) {
	cases := []struct {
		name, text string
		max        float64
		want       []string
	}{
		{"a short line stays whole", "one two", 10, []string{"one two"}},
		{"a line exactly as wide as the column stays whole", "abc de", 6, []string{"abc de"}},
		{"a long line breaks at spaces", "one two three four", 9, []string{"one two", "three", "four"}},
		{"spaces at a break are dropped", "one     two", 5, []string{"one", "two"}},
		{"spaces inside a line are kept", "a  b", 10, []string{"a  b"}},
		{"leading spaces of a paragraph are kept as indentation", "  indented", 20, []string{"  indented"}},
		{"indentation wider than the column is dropped", "      word", 5, []string{"word"}},
		{"a word wider than the column is broken", "abcdefghij", 4, []string{"abcd", "efgh", "ij"}},
		{"a long word after a short one starts a new line", "ab abcdefgh", 4, []string{"ab", "abcd", "efgh"}},
		{"each newline starts a line", "one\ntwo", 20, []string{"one", "two"}},
		{"a blank line is kept", "one\n\ntwo", 20, []string{"one", "", "two"}},
		{"an empty text is one empty line", "", 20, []string{""}},
		{"trailing spaces are dropped", "end   ", 20, []string{"end"}},
		{"a multi-byte word is broken between runes", "ŵŷŵŷŵ", 2, []string{"ŵŷ", "ŵŷ", "ŵ"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := wrap(c.text, c.max, runeWidth)
			if strings.Join(got, "|") != strings.Join(c.want, "|") {
				t.Errorf("wrap(%q, %v) = %q, want %q", c.text, c.max, got, c.want)
			}
		})
	}
}

func TestSqueeze(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"a plain answer is unchanged", "yes", "yes"},
		{"blank lines at both ends are dropped", "\n \nyes\n\n", "yes"},
		{"a run of blank lines becomes one", "a\n\n\n\nb", "a\n\nb"},
		{"a line of spaces counts as blank", "a\n   \n  \nb", "a\n\nb"},
		{"leading spaces are kept", "  a", "  a"},
		{"only blank lines give an empty answer", "\n\n  \n", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := squeeze(c.in); got != c.want {
				t.Errorf("squeeze(%q) = %q, want %q", c.in, got, c.want)
			}
		})
	}
}

func TestPaginate(t *testing.T) {
	line := func(text string, keep bool) row { return row{text: text, height: 10, before: 5, keep: keep} }
	cases := []struct {
		name   string
		rows   []row
		bottom float64 // 40 unless set: room for three rows with their spaces (10+15+15)
		want   string  // pages separated by " / ", rows by ","
	}{
		{"rows that fit stay on one page", []row{line("a", false), line("b", false)}, 0, "a,b"},
		{"a row that does not fit starts a page", []row{line("a", false), line("b", false), line("c", false), line("d", false)}, 0, "a,b,c / d"},
		{"a question is not left alone at the foot of a page", []row{line("a", false), line("b", false), line("q", true), line("ans", false)}, 0, "a,b / q,ans"},
		{"a heading and question move together", []row{line("a", false), line("h", true), line("q", true), line("ans", false)}, 50, "a / h,q,ans"},
		{"a group taller than a page flows", []row{line("a", false), line("q1", true), line("q2", true), line("q3", true), line("q4", true), line("ans", false)}, 0, "a,q1,q2 / q3,q4,ans"},
		{"a blank line at the top of a page is dropped", []row{line("a", false), line("b", false), line("c", false), line("", false), line("d", false)}, 0, "a,b,c / d"},
		{"no rows give one empty page", nil, 0, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bottom := c.bottom
			if bottom == 0 {
				bottom = 40
			}
			pages := paginate(c.rows, 0, bottom)
			var got []string
			for _, p := range pages {
				var texts []string
				for _, r := range p {
					texts = append(texts, r.text)
					if r.y+r.height > bottom {
						t.Errorf("row %q ends at %v, below the page's %v", r.text, r.y+r.height, bottom)
					}
				}
				got = append(got, strings.Join(texts, ","))
			}
			if g := strings.Join(got, " / "); g != c.want {
				t.Errorf("got %q, want %q", g, c.want)
			}
		})
	}
}

// TestBuildNeverOverflows lays out hostile text with the real fonts and checks
// every line against the column, measured as gopdf measures what it draws.
func TestBuildNeverOverflows(t *testing.T) {
	fonts, err := loadFonts()
	if err != nil {
		t.Fatal(err)
	}
	pdf := &gopdf.GoPdf{}
	pdf.Start(gopdf.Config{PageSize: *gopdf.PageSizeA4, Unit: gopdf.UnitPT})
	for _, f := range []struct {
		style int
		ttf   []byte
	}{{gopdf.Regular, fonts.regularTTF}, {gopdf.Bold, fonts.boldTTF}} {
		if err := pdf.AddTTFFontDataWithOption(family, f.ttf, gopdf.TtfOption{Style: f.style}); err != nil {
			t.Fatal(err)
		}
	}
	ts := newTypesetter(pdf)
	long := strings.Repeat("W", 500) + " " + strings.Repeat("ŴŶ", 300) + " " + prose(3000) + strings.Repeat(" mmm", 200)
	d := Doc{Title: long, Lines: []string{long}, Sections: []Section{{Heading: long, Items: []Item{{Question: long, Answer: long}}}}}
	rows := build(d, fonts.cleaner(), ts.width)
	if ts.err != nil {
		t.Fatal(ts.err)
	}
	for _, r := range rows {
		if w := ts.width(r.st, r.text); w > columnWidth {
			t.Errorf("a line is %.1f pt wide, over the column's %.1f: %q", w, columnWidth, r.text)
		}
	}
	// The typesetter must agree with gopdf measuring a whole line at once.
	for _, r := range rows[:10] {
		if err := ts.use(r.st); err != nil {
			t.Fatal(err)
		}
		whole, err := pdf.MeasureTextWidth(r.text)
		if err != nil {
			t.Fatal(err)
		}
		if got := ts.width(r.st, r.text); got-whole > 0.001 || whole-got > 0.001 {
			t.Errorf("the typesetter gives %.3f pt, gopdf %.3f pt for %q", got, whole, r.text)
		}
	}
}

func TestFontsHaveWelsh(t *testing.T) {
	fonts, err := loadFonts()
	if err != nil {
		t.Fatal(err)
	}
	has := fonts.cleaner()
	for _, r := range "âêîôûŵŷÂÊÎÔÛŴŶáéíóúẃýÁÉÍÓÚẂÝàèìòùẁỳÀÈÌÒÙẀỲäëïöüẅÿÄËÏÖÜẄŸ" {
		t.Run(string(r), func(t *testing.T) {
			if got := has(string(r)); got != string(r) {
				t.Errorf("%q (U+%04X) is missing from Go Regular or Go Bold; it prints as %q", r, r, got)
			}
		})
	}
}
