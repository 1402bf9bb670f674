package printout

import (
	"bytes"
	"strings"
	"testing"

	"github.com/ledongthuc/pdf"
)

// extracted is a PDF read back as text: for each page, its lines in the
// order they were drawn (top to bottom, then the footer).
type extracted struct {
	pages [][]string
	sizes map[float64]bool // every font size text was drawn at
	info  pdf.Value        // the trailer's /Info dictionary
}

// extract reads b with github.com/ledongthuc/pdf, which maps glyphs back to
// text through each font's ToUnicode CMap, the way a viewer's search does.
func extract(t *testing.T, b []byte) extracted {
	t.Helper()
	r, err := pdf.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("the PDF does not parse: %v", err)
	}
	var e extracted
	e.info = r.Trailer().Key("Info")
	e.sizes = map[float64]bool{}
	for i := 1; i <= r.NumPage(); i++ {
		var lines []string
		var line strings.Builder
		// Content, unlike GetTextByRow, follows gopdf's TD moves. It ends
		// every TJ (one drawn text) with a "\n" that the font's CMap cannot
		// map, so it arrives as U+FFFD; Render never draws U+FFFD itself
		// (clean prints it as "?"), so it marks the end of a text.
		for _, txt := range r.Page(i).Content().Text {
			if txt.S == "\uFFFD" {
				lines = append(lines, line.String())
				line.Reset()
				continue
			}
			line.WriteString(txt.S)
			e.sizes[txt.FontSize] = true
		}
		if line.Len() > 0 {
			lines = append(lines, line.String())
		}
		e.pages = append(e.pages, lines)
	}
	return e
}

// text is every line of every page, one a line.
func (e extracted) text() string {
	var b strings.Builder
	for _, p := range e.pages {
		for _, l := range p {
			b.WriteString(l)
			b.WriteByte('\n')
		}
	}
	return b.String()
}
