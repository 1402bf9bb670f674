// Package printout renders a submitted form as a PDF: the copy that the portal
// stores in "Items to view" and that a worker prints.
//
// Invariants:
//
//   - The PDF holds only what the caller put in the Doc. Its metadata is the
//     Title alone: no author, creator, producer, subject or creation date, so
//     nothing about the person who submitted the form or about this server
//     leaks into a file that is printed, forwarded and archived.
//   - Any input renders. Text is cleaned before layout: invalid UTF-8 is
//     replaced, control and invisible format characters are dropped (\n
//     keeps its meaning, a tab becomes spaces), and a character missing from
//     the embedded fonts prints as "?". Render fails only when the writer does
//     (or the fonts compiled into the binary are corrupt).
//   - Nothing is fetched or read at run time: the only fonts are the Go fonts
//     compiled into the binary (golang.org/x/image/font/gofont, BSD licence),
//     embedded in the PDF as TrueType subsets with a ToUnicode map so that the
//     text can be searched, copied and read aloud.
//   - Text never leaves the page: lines wrap by measured width, and a word
//     wider than the text column is broken.
//   - Work grows about linearly with the input (a 50,000-character answer,
//     15 pages, takes ~50 ms), and the output depends only on the Doc: the
//     same Doc gives the same bytes.
//
// The Go fonts cover WGL4 and more; every Welsh letter is there, including
// ŵ ŷ Ŵ Ŷ and the Latin Extended Additional ẁ ẃ ẅ ỳ Ẁ Ẃ Ẅ Ỳ (checked by
// TestFontsHaveWelsh). Decomposed input (w followed by U+0300) is composed
// first, because the fonts have no combining marks.
package printout

import (
	"bufio"
	"fmt"
	"io"
	"strconv"

	"github.com/signintech/gopdf"
)

// Doc is what a printout shows. Every text is already translated by the caller.
type Doc struct {
	// Title is the form's title, printed large on the first page and set as
	// the PDF's Title so that a viewer shows it instead of a file name.
	Title string
	// Lines are printed under the title, one a line, e.g.
	// "Submitted by Pat Example on 1 December 2026, 14:05", "Record: Mia Example".
	Lines []string
	// Sections are the form's pages, in order.
	Sections []Section
	// Footer is printed on every page with the page number,
	// e.g. "Children's Services Online".
	Footer string
	// PageOf gives the page number text, e.g. "Page 2 of 4" (translated by
	// the caller); nil prints "2 / 4".
	PageOf func(page, total int) string
	// NotAnswered is shown for an empty answer, e.g. "Not answered"; ""
	// prints a dash. An answer of only spaces and newlines counts as empty.
	NotAnswered string
}

// Section is one page of a form: an optional heading and its questions.
type Section struct {
	// Heading is the page's title; "" prints none.
	Heading string
	// Items are the page's questions with their answers, in order.
	Items []Item
}

// Item is one question with its answer.
type Item struct {
	// Question is the question as the holder saw it.
	Question string
	// Answer may span several lines (\n) and be long (50,000 characters).
	// "" is shown as Doc.NotAnswered.
	Answer string
}

// Render writes d as an A4 PDF to w.
//
// The whole document is laid out before anything is drawn, so that every
// page's footer knows the number of pages.
func Render(w io.Writer, d Doc) error {
	fonts, err := loadFonts()
	if err != nil {
		return err
	}
	pdf := &gopdf.GoPdf{}
	pdf.Start(gopdf.Config{PageSize: *gopdf.PageSizeA4, Unit: gopdf.UnitPT})
	for _, f := range []struct {
		style int
		ttf   []byte
	}{{gopdf.Regular, fonts.regularTTF}, {gopdf.Bold, fonts.boldTTF}} {
		err := pdf.AddTTFFontDataWithOption(family, f.ttf, gopdf.TtfOption{
			Style: f.style,
			// Clean already replaced every rune the fonts lack; this only
			// keeps a slip visible instead of printing a blank.
			OnGlyphNotFoundSubstitute: func(rune) rune { return '?' },
		})
		if err != nil {
			return fmt.Errorf("printout: add font: %w", err)
		}
	}
	clean := fonts.cleaner()
	// Security: the Title is the only metadata; see the package invariants.
	pdf.SetInfo(gopdf.PdfInfo{Title: oneLine(clean(d.Title))})

	ts := newTypesetter(pdf)
	pages := paginate(build(d, clean, ts.width), contentTop, contentBottom)
	pageOf := d.PageOf
	if pageOf == nil {
		pageOf = func(page, total int) string {
			return strconv.Itoa(page) + " / " + strconv.Itoa(total)
		}
	}
	footer := oneLine(clean(d.Footer))
	for i, p := range pages {
		pdf.AddPage()
		for _, r := range p {
			if err := ts.draw(r); err != nil {
				return fmt.Errorf("printout: draw: %w", err)
			}
		}
		num := oneLine(clean(pageOf(i+1, len(pages))))
		if err := ts.footer(footer, num); err != nil {
			return fmt.Errorf("printout: draw footer: %w", err)
		}
	}
	if ts.err != nil {
		return fmt.Errorf("printout: measure: %w", ts.err)
	}
	// gopdf writes in many small pieces.
	bw := bufio.NewWriter(w)
	if _, err := pdf.WriteTo(bw); err != nil {
		return fmt.Errorf("printout: write: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("printout: write: %w", err)
	}
	return nil
}
