package printout

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// words are what a family writes about a child, in English and Welsh.
var words = strings.Fields(`the school said she settles well after breakfast but mornings
are hard when her brother is away we visit nain on sundays and she
enjoys reading drawing swimming mae hi'n hoffi darllen gyda'i thad
appointments with the health visitor are every second tuesday Siân
helps with the bus and the after-school club ends at half past five
ŵyr ŷd ẃyn cwmwl`)

// prose is about n bytes of realistic text made of words, with a paragraph
// break every 60 words; the same n always gives the same text.
func prose(n int) string {
	var b strings.Builder
	seed := uint32(1)
	for i := 0; b.Len() < n; i++ {
		seed = seed*1664525 + 1013904223 // a fixed LCG: deterministic, no math/rand state
		w := words[int(seed>>8)%len(words)]
		switch {
		case i == 0:
		case i%60 == 0:
			b.WriteString("\n\n")
		default:
			b.WriteByte(' ')
		}
		b.WriteString(w)
	}
	return b.String()
}

func pageOf(page, total int) string { return fmt.Sprintf("Page %d of %d", page, total) }

// sampleDoc is a realistic submitted form.
func sampleDoc() Doc {
	return Doc{
		Title: "Family details and support needs",
		Lines: []string{
			"Submitted by Pat Example on 1 December 2026, 14:05",
			"Record: Mia Example",
		},
		Sections: []Section{
			{Heading: "About the child", Items: []Item{
				{Question: "Full name", Answer: "Mia Siân Example"},
				{Question: "Date of birth", Answer: "3 March 2019"},
				{Question: "Address", Answer: "Tŷ Gwyn\nFfordd yr Ŵyl\nLlanrwst"},
				{Question: "Languages spoken at home", Answer: "English and Welsh.\nMae'n braf gweld ŵyr ac ŷd."},
				{Question: "Allergies or medical conditions", Answer: ""},
			}},
			{Heading: "Support", Items: []Item{
				{Question: "Tell us about a usual week, including school, clubs and time with family", Answer: prose(2500)},
				{Question: "Anything else you would like us to know?", Answer: "No."},
			}},
		},
		Footer:      "Children's Services Online",
		PageOf:      pageOf,
		NotAnswered: "Not answered",
	}
}

func render(t *testing.T, d Doc) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Render(&b, d); err != nil {
		t.Fatalf("Render: %v", err)
	}
	return b.Bytes()
}

func TestRenderShowsEveryText(t *testing.T) {
	d := sampleDoc()
	got := extract(t, render(t, d)).text()
	want := []string{d.Title, d.Lines[0], d.Lines[1]}
	for _, s := range d.Sections {
		want = append(want, s.Heading)
		for _, it := range s.Items {
			want = append(want, it.Question)
		}
	}
	want = append(want,
		"Mia Siân Example", "3 March 2019", "Tŷ Gwyn", "Ffordd yr Ŵyl", "English and Welsh.", "Mae'n braf gweld ŵyr ac ŷd.", "No.",
		"Not answered", "Children's Services Online", "Page 1 of 2", "Page 2 of 2",
	)
	flat := strings.Join(strings.Fields(got), " ") // a long question wraps
	for _, w := range want {
		t.Run(w, func(t *testing.T) {
			if !strings.Contains(flat, w) {
				t.Errorf("the text does not show %q; it is:\n%s", w, got)
			}
		})
	}
}

func TestRenderKeepsEveryLetter(t *testing.T) {
	cases := []struct {
		name, answer, want string
	}{
		{"Welsh circumflexes print as themselves", "Mae'n braf gweld ŵyr ac ŷd", "Mae'n braf gweld ŵyr ac ŷd"},
		{"capital circumflexes print as themselves", "ŴYR ŶD ÂÊÎÔÛ", "ŴYR ŶD ÂÊÎÔÛ"},
		{"Welsh grave, acute and diaeresis on w and y print as themselves", "ẁ ẃ ẅ ỳ Ẁ Ẃ Ẅ Ỳ ÿ Ÿ", "ẁ ẃ ẅ ỳ Ẁ Ẃ Ẅ Ỳ ÿ Ÿ"},
		{"a name with an accent prints as itself", "Siân Example", "Siân Example"},
		{"a decomposed accent is composed", "Sia\u0302n and w\u0300", "Siân and ẁ"},
		{"punctuation from a word processor prints as itself", "“quoted” – ‘single’ … £5 €5", "“quoted” – ‘single’ … £5 €5"},
		{"a rune the fonts lack prints as a question mark", "tea 🍵 time 中文", "tea ? time ??"},
		{"invalid UTF-8 prints as a question mark", "bad \xff\xfe byte", "bad ? byte"},
		{"a replacement character prints as a question mark", "lost \ufffd here", "lost ? here"},
		{"control characters are dropped", "a\x00b\x07c\x1bd\x7fe", "abcde"},
		{"invisible format characters are dropped", "zero\u200bwidth \u202eevil\u202c \ufeffbom", "zerowidth evil bom"},
		{"a tab becomes spaces", "a\tb", "a    b"},
		{"a no-break space becomes a space", "10\u00a0mg", "10 mg"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := Doc{Title: "T", Sections: []Section{{Items: []Item{{Question: "Q", Answer: c.answer}}}}}
			got := extract(t, render(t, d)).pages[0]
			if !contains(got, c.want) {
				t.Errorf("want a line %q; the page reads %q", c.want, got)
			}
		})
	}
}

func contains(lines []string, s string) bool {
	for _, l := range lines {
		if l == s {
			return true
		}
	}
	return false
}

func TestRenderShowsPlaceholderForEmptyAnswer(t *testing.T) {
	cases := []struct {
		name, notAnswered, answer, want string
	}{
		{"an empty answer shows a dash by default", "", "", "—"},
		{"an empty answer shows the caller's text", "Not answered", "", "Not answered"},
		{"an answer of only spaces and newlines counts as empty", "Heb ei ateb", " \n\t\r\n ", "Heb ei ateb"},
		{"an answer of only control characters counts as empty", "", "\x00\x01", "—"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := Doc{NotAnswered: c.notAnswered, Sections: []Section{{Items: []Item{{Question: "Allergies", Answer: c.answer}}}}}
			got := extract(t, render(t, d)).pages[0]
			if len(got) < 2 || got[0] != "Allergies" || got[1] != c.want {
				t.Errorf("want %q under the question; the page reads %q", c.want, got)
			}
		})
	}
}

func TestRenderKeepsParagraphs(t *testing.T) {
	d := Doc{Sections: []Section{{Items: []Item{{Question: "Q", Answer: "\n\nfirst line\r\nsecond line\n\n\n\nafter a gap\n\n"}}}}}
	got := extract(t, render(t, d)).pages[0]
	want := []string{"Q", "first line", "second line", "after a gap", "1 / 1"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got lines %q, want %q", got, want)
	}
}

func TestRenderLongAnswerSpansPages(t *testing.T) {
	answer := prose(50000)
	d := Doc{
		Title:    "Support plan",
		Sections: []Section{{Heading: "Your week", Items: []Item{{Question: "Tell us about your week", Answer: answer}}}},
		Footer:   "Children's Services Online",
		PageOf:   pageOf,
	}
	// How long it takes is make bench's (BenchmarkRenderLongAnswer): a
	// test that timed itself failed on a loaded machine.
	b := render(t, d)
	e := extract(t, b)
	total := len(e.pages)
	if total < 5 {
		t.Fatalf("a 50,000-character answer printed on %d pages; want several", total)
	}
	var body []string
	for i, p := range e.pages {
		n := len(p)
		if n < 3 || p[n-2] != "Children's Services Online" || p[n-1] != pageOf(i+1, total) {
			t.Errorf("page %d ends %q; want the footer and %q", i+1, p[max(0, n-2):], pageOf(i+1, total))
			continue
		}
		body = append(body, p[:n-2]...)
	}
	got := strings.Fields(strings.Join(body, " "))
	want := append(strings.Fields("Support plan Your week Tell us about your week"), strings.Fields(answer)...)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		for i := range min(len(got), len(want)) {
			if got[i] != want[i] {
				t.Fatalf("word %d is %q, want %q (of %d words, got %d)", i, got[i], want[i], len(want), len(got))
			}
		}
		t.Fatalf("got %d words, want %d", len(got), len(want))
	}
}

func TestRenderKeepsQuestionWithAnswer(t *testing.T) {
	var items []Item
	for i := range 120 {
		items = append(items, Item{Question: fmt.Sprintf("Question %d", i), Answer: fmt.Sprintf("Answer %d", i)})
	}
	e := extract(t, render(t, Doc{Sections: []Section{{Heading: "Heading", Items: items}}}))
	if len(e.pages) < 3 {
		t.Fatalf("120 items printed on %d pages; want several", len(e.pages))
	}
	for i, p := range e.pages {
		body := p[:len(p)-1] // the page number
		if last := body[len(body)-1]; !strings.HasPrefix(last, "Answer ") {
			t.Errorf("page %d ends with %q; want an answer", i+1, last)
		}
	}
}

func TestRenderUsesItsFontSizes(t *testing.T) {
	// A slip here once drew the footer at the 1000 pt used for measuring.
	e := extract(t, render(t, sampleDoc()))
	for size := range e.sizes {
		if size != titleStyle.size && size != headingStyle.size && size != answerStyle.size && size != footerStyle.size {
			t.Errorf("text was drawn at %v pt", size)
		}
	}
	if len(e.sizes) != 4 {
		t.Errorf("text was drawn at %v; want the title, heading, body and footer sizes", e.sizes)
	}
}

func TestRenderBreaksOverlongWord(t *testing.T) {
	word := strings.Repeat("abcdefghij", 100)
	d := Doc{Sections: []Section{{Items: []Item{{Question: "Link", Answer: word}}}}}
	got := extract(t, render(t, d)).pages[0]
	lines := got[1 : len(got)-1]
	if len(lines) < 5 {
		t.Fatalf("a 1,000-letter word printed on %d lines; want it broken across several", len(lines))
	}
	if strings.Join(lines, "") != word {
		t.Errorf("the broken word does not read back whole: %q", lines)
	}
}

func TestRenderWritesAPDF(t *testing.T) {
	cases := []struct {
		name string
		doc  Doc
	}{
		{"an empty Doc", Doc{}},
		{"a realistic form", sampleDoc()},
		{"a Doc with a nil PageOf", Doc{Title: "T", Footer: "F"}},
		{"a very long footer and page text", Doc{Footer: strings.Repeat("footer ", 100), PageOf: func(int, int) string { return strings.Repeat("page\n", 200) }}},
		{"empty headings and questions", Doc{Sections: []Section{{Items: []Item{{Answer: "only an answer"}}}, {Heading: "no items"}}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := render(t, c.doc)
			if !bytes.HasPrefix(b, []byte("%PDF-")) {
				t.Fatalf("the output starts %q; want %%PDF-", b[:min(len(b), 8)])
			}
			if e := extract(t, b); len(e.pages) == 0 {
				t.Errorf("the PDF has no page")
			}
			if again := render(t, c.doc); !bytes.Equal(b, again) {
				t.Errorf("two renders of the same Doc differ")
			}
		})
	}
}

func TestRenderMetadataIsTitleOnly(t *testing.T) {
	d := sampleDoc()
	b := render(t, d)
	info := extract(t, b).info
	if got := info.Key("Title").Text(); got != d.Title {
		t.Errorf("Title is %q, want %q", got, d.Title)
	}
	if keys := info.Keys(); len(keys) != 1 {
		t.Errorf("the Info dictionary has %v; want the Title alone", keys)
	}
	for _, key := range []string{"/Author", "/Producer", "/Creator", "/Subject", "/CreationDate"} {
		if bytes.Contains(b, []byte(key)) {
			t.Errorf("the PDF names %s", key)
		}
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestRenderReportsWriteError(t *testing.T) {
	if err := Render(failingWriter{}, sampleDoc()); err == nil {
		t.Error("Render to a failing writer returned nil")
	}
}

// TestRenderSample writes the sample PDF to a file, and also to
// $PRINTOUT_SAMPLE when set, so that a person can look at it:
// PRINTOUT_SAMPLE=sample.pdf go test -run Sample ./app/printout
func TestRenderSample(t *testing.T) {
	path := os.Getenv("PRINTOUT_SAMPLE")
	if path == "" {
		path = filepath.Join(t.TempDir(), "sample.pdf")
	}
	if err := os.WriteFile(path, render(t, sampleDoc()), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(path); err != nil || !bytes.HasPrefix(b, []byte("%PDF-")) {
		t.Fatalf("the sample at %s is not a PDF: %v", path, err)
	}
	t.Logf("wrote %s", path)
}

// BenchmarkRenderLongAnswer is what TestRenderLongAnswerSpansPages once
// timed: a 50,000-character answer (the most a field takes) to a PDF.
func BenchmarkRenderLongAnswer(b *testing.B) {
	d := Doc{Sections: []Section{{Items: []Item{{Question: "Q", Answer: prose(50000)}}}}, PageOf: pageOf}
	for b.Loop() {
		var buf bytes.Buffer
		if err := Render(&buf, d); err != nil {
			b.Fatal(err)
		}
	}
}
