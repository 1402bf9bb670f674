package printout

import (
	"cmp"
	"strings"

	"github.com/signintech/gopdf"
)

// Geometry, in points (1/72 inch). A4 is 210 × 297 mm.
const (
	mm         = 72 / 25.4
	pageWidth  = 210 * mm
	pageHeight = 297 * mm
	// margin is generous on purpose: printers clip up to ~5 mm, and a
	// worker punches holes and files the copy.
	margin        = 20 * mm
	columnWidth   = pageWidth - 2*margin
	contentTop    = margin
	contentBottom = pageHeight - 26*mm
	// footerBaseline sits in the bottom margin, below contentBottom.
	footerBaseline = pageHeight - 13*mm
	footerGap      = 6 * mm
)

// style is how a row's text is set.
type style struct {
	bold bool
	size float64 // points
	gray uint8   // 0 is black
}

var (
	titleStyle    = style{bold: true, size: 18}
	lineStyle     = style{size: 11, gray: 0x33}
	headingStyle  = style{bold: true, size: 14}
	questionStyle = style{bold: true, size: 11}
	answerStyle   = style{size: 11}
	emptyStyle    = style{size: 11, gray: 0x55}
	footerStyle   = style{size: 9, gray: 0x44}
)

// leading is the line height as a multiple of the font size: 1.35 reads
// comfortably on paper at 11 pt.
const leading = 1.35

// row is one line of the laid-out document, before it has a page.
type row struct {
	text   string
	st     style
	height float64 // the line's advance
	before float64 // space above it, dropped at the top of a page
	keep   bool    // keep on the same page as the next row
	rule   bool    // a thin horizontal line instead of text
}

// placed is a row on a page; y is the top of its line box.
type placed struct {
	row
	y float64
}

// widthFunc gives the width in points of s set in st.
type widthFunc func(st style, s string) float64

// build turns d into rows, cleaning every text with clean and wrapping it to
// the column width measured by width.
func build(d Doc, clean func(string) string, width widthFunc) []row {
	var rows []row
	add := func(text string, st style, before float64, keep bool) {
		lines := wrap(squeeze(text), columnWidth, func(s string) float64 { return width(st, s) })
		for i, l := range lines {
			r := row{text: l, st: st, height: st.size * leading, keep: keep}
			if l == "" {
				// A blank line between paragraphs: a smaller gap than the
				// one above a question, so that questions stand out.
				r.height *= 0.6
			}
			if i == 0 {
				r.before = before
			}
			rows = append(rows, r)
		}
	}
	if t := squeeze(clean(d.Title)); t != "" {
		add(t, titleStyle, 0, true)
	}
	for i, l := range d.Lines {
		before := 0.0
		if i == 0 {
			before = 4
		}
		add(clean(l), lineStyle, before, true)
	}
	if len(rows) > 0 {
		rows = append(rows, row{rule: true, height: 1, before: 8})
	}
	notAnswered := squeeze(clean(d.NotAnswered))
	if notAnswered == "" {
		notAnswered = "—"
	}
	for _, s := range d.Sections {
		if h := squeeze(clean(s.Heading)); h != "" {
			// Keep: a heading is never left alone at the foot of a page.
			add(h, headingStyle, 18, true)
		}
		for _, it := range s.Items {
			if q := squeeze(clean(it.Question)); q != "" {
				// Keep: the question stays with its first answer line.
				add(q, questionStyle, 12, true)
			}
			if a := squeeze(clean(it.Answer)); a != "" {
				add(a, answerStyle, 2, false)
			} else {
				add(notAnswered, emptyStyle, 2, false)
			}
		}
	}
	return rows
}

// squeeze trims blank lines from both ends of a text, trailing spaces from
// every line, and squeezes runs of blank lines to one: whitespace carries no
// meaning on paper, and an answer of 50,000 newlines should not print a
// thousand empty pages. Leading spaces stay: they are indentation.
func squeeze(s string) string {
	lines := strings.Split(s, "\n")
	out := lines[:0]
	blank := true // no blank line at the start
	for _, l := range lines {
		l = strings.TrimRight(l, " ")
		if l == "" {
			if blank {
				continue
			}
			blank = true
		} else {
			blank = false
		}
		out = append(out, l)
	}
	for len(out) > 0 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	return strings.Join(out, "\n")
}

// paginate places rows on pages whose text runs from top to bottom. A row
// that would leave the rows it keeps with alone moves to a new page, unless
// the group is taller than a page anyway (then it simply flows).
func paginate(rows []row, top, bottom float64) [][]placed {
	pages := [][]placed{nil}
	y := top
	for i := 0; i < len(rows); i++ {
		r := rows[i]
		atTop := len(pages[len(pages)-1]) == 0
		if atTop && !r.rule && r.text == "" {
			continue // a blank line at the top of a page only wastes it
		}
		need := r.height
		if !atTop {
			need += r.before
		}
		// The group is this row and every following row it keeps with;
		// summing stops once it is taller than a page, which bounds the work.
		group := need
		for j := i; rows[j].keep && j+1 < len(rows) && group <= bottom-top; j++ {
			group += rows[j+1].before + rows[j+1].height
		}
		if !atTop && (y+need > bottom || (y+group > bottom && group <= bottom-top)) {
			pages = append(pages, nil)
			y, need = top, r.height
			if r.rule || r.text == "" {
				continue
			}
		}
		pages[len(pages)-1] = append(pages[len(pages)-1], placed{row: r, y: y + need - r.height})
		y += need
	}
	return pages
}

// wrap breaks text into lines no wider than max, as measured by width: at
// spaces where it can, inside a word wider than a whole line where it must.
// Each "\n" starts a new line; leading spaces of a paragraph are kept (they
// are indentation), spaces at a break are dropped. Every rune is measured once
// per line it lands on, so the work is linear in len(text).
func wrap(text string, max float64, width func(string) float64) []string {
	var lines []string
	for _, p := range strings.Split(text, "\n") {
		lines = wrapParagraph(lines, p, max, width)
	}
	return lines
}

func wrapParagraph(lines []string, p string, max float64, width func(string) float64) []string {
	var line strings.Builder
	lineW := 0.0
	spaces := 0 // spaces waiting between the line so far and the next word
	first := true
	flush := func() {
		lines = append(lines, line.String())
		line.Reset()
		lineW, spaces, first = 0, 0, false
	}
	space := width(" ")
	for i := 0; i < len(p); {
		if p[i] == ' ' {
			spaces++
			i++
			continue
		}
		j := strings.IndexByte(p[i:], ' ')
		if j < 0 {
			j = len(p)
		} else {
			j += i
		}
		word := p[i:j]
		i = j
		ww := width(word)
		gap := float64(spaces) * space
		if line.Len() == 0 && !first {
			gap, spaces = 0, 0 // no spaces at the start of a wrapped line
		}
		if lineW+gap+ww <= max {
			line.WriteString(strings.Repeat(" ", spaces))
			line.WriteString(word)
			lineW += gap + ww
			spaces = 0
			continue
		}
		if line.Len() > 0 {
			flush()
		}
		spaces = 0 // indentation wider than the column is dropped
		if ww <= max {
			line.WriteString(word)
			lineW = ww
			first = false
			continue
		}
		// A word wider than the column: break it where it reaches the margin.
		for _, r := range word {
			rw := width(string(r))
			if lineW+rw > max && line.Len() > 0 {
				flush()
			}
			line.WriteRune(r)
			lineW += rw
		}
		first = false
	}
	flush()
	return lines
}

// widthKey names one rune in one weight.
type widthKey struct {
	bold bool
	r    rune
}

// typesetter measures and draws text on one gopdf document.
//
// It measures with gopdf's own glyph widths, so that the layout agrees
// exactly with what is drawn. gopdf sums whole glyph widths (no kerning is
// used), so a string's width is the sum of its runes' widths, and each rune
// is asked of gopdf once.
//
// It remembers the style it last set, because gopdf's SetFont scans every
// object in the document: setting it for every line would make a long
// document quadratic. Measuring a new rune changes gopdf's font, so it
// forgets the style then.
type typesetter struct {
	pdf    *gopdf.GoPdf
	widths map[widthKey]float64 // in thousandths of the font size
	cur    style
	hasCur bool
	err    error // the first error from measuring; width cannot return one
}

func newTypesetter(pdf *gopdf.GoPdf) *typesetter {
	return &typesetter{pdf: pdf, widths: map[widthKey]float64{}}
}

// width gives the width of s in points when set in st.
func (ts *typesetter) width(st style, s string) float64 {
	total := 0.0
	for _, r := range s {
		k := widthKey{st.bold, r}
		w, ok := ts.widths[k]
		if !ok {
			w = ts.measure(st.bold, r)
			ts.widths[k] = w
		}
		total += w
	}
	return total * st.size / 1000
}

func (ts *typesetter) measure(bold bool, r rune) float64 {
	ts.hasCur = false
	// At 1000 pt, gopdf's width in points is the glyph's width in
	// thousandths of an em.
	if err := ts.pdf.SetFontWithStyle(family, weight(bold), 1000); err != nil {
		ts.err = cmp.Or(ts.err, err)
		return 0
	}
	w, err := ts.pdf.MeasureTextWidth(string(r))
	if err != nil {
		ts.err = cmp.Or(ts.err, err)
		return 0
	}
	return w
}

func weight(bold bool) int {
	if bold {
		return gopdf.Bold
	}
	return gopdf.Regular
}

// use makes st the style of the text drawn next.
func (ts *typesetter) use(st style) error {
	if ts.hasCur && ts.cur == st {
		return nil
	}
	if err := ts.pdf.SetFontWithStyle(family, weight(st.bold), st.size); err != nil {
		return err
	}
	ts.pdf.SetTextColor(st.gray, st.gray, st.gray)
	ts.cur, ts.hasCur = st, true
	return nil
}

// draw puts one placed row on the current page.
func (ts *typesetter) draw(p placed) error {
	if p.rule {
		ts.pdf.SetStrokeColor(0x99, 0x99, 0x99)
		ts.pdf.SetLineWidth(0.5)
		y := p.y + p.height/2
		ts.pdf.Line(margin, y, pageWidth-margin, y)
		return nil
	}
	if p.text == "" {
		return nil
	}
	if err := ts.use(p.st); err != nil {
		return err
	}
	// The line box is centred on the text; the baseline sits at about 78%
	// of the font size below the top of the glyphs (the Go fonts' ascent).
	ts.pdf.SetXY(margin, p.y+(p.height-p.st.size)/2+0.78*p.st.size)
	return ts.pdf.Text(p.text)
}

// footer prints text on the left and num on the right of the bottom margin.
// A text too long for the space left by num is cut with "…".
func (ts *typesetter) footer(text, num string) error {
	numW := ts.width(footerStyle, num)
	if numW > columnWidth {
		num = ts.fit(num, columnWidth, footerStyle)
		numW = ts.width(footerStyle, num)
	}
	if room := columnWidth - numW - footerGap; ts.width(footerStyle, text) > room {
		text = ts.fit(text, room, footerStyle)
	}
	if err := ts.use(footerStyle); err != nil {
		return err
	}
	if text != "" {
		ts.pdf.SetXY(margin, footerBaseline)
		if err := ts.pdf.Text(text); err != nil {
			return err
		}
	}
	if num == "" {
		return nil
	}
	ts.pdf.SetXY(pageWidth-margin-numW, footerBaseline)
	return ts.pdf.Text(num)
}

// fit cuts s to the longest prefix that, followed by "…", is no wider than max.
func (ts *typesetter) fit(s string, max float64, st style) string {
	w := ts.width(st, "…")
	var b strings.Builder
	for _, r := range s {
		w += ts.width(st, string(r))
		if w > max {
			break
		}
		b.WriteRune(r)
	}
	if b.Len() == 0 {
		return ""
	}
	return b.String() + "…"
}
