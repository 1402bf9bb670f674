package forms

import (
	"fmt"

	"portal/app/formdef"
	"portal/app/i18n"
	"portal/app/printout"
)

// Summary is a form's answers as people read them, page by page: what
// "Check your answers", the worker's view and the PDF show.
type Summary struct {
	Title string
	Pages []SummaryPage
}

// SummaryPage is one page of a Summary.
type SummaryPage struct {
	Number int // from 1, for "Change" links
	Title  string
	Rows   []SummaryRow
}

// SummaryRow is one question and its answer ("" when not answered).
type SummaryRow struct {
	Name, Question, Answer string
}

// Summarise shows a's answers to t in loc's language.
func Summarise(t *formdef.Template, a formdef.Answers, loc *i18n.Localizer) Summary {
	month := func(m int) string { return loc.T(fmt.Sprintf("time.month_%d", m)) }
	s := Summary{Title: t.Title.In(loc.Lang)}
	for i, p := range t.Pages {
		sp := SummaryPage{Number: i + 1, Title: p.Title.In(loc.Lang)}
		for _, f := range p.Fields {
			sp.Rows = append(sp.Rows, SummaryRow{Name: f.Name, Question: f.Label.In(loc.Lang), Answer: f.Display(a, loc.Lang, month)})
		}
		s.Pages = append(s.Pages, sp)
	}
	return s
}

// Printout is the summary as a printout document, under lines such as who
// submitted it and when.
func (s Summary) Printout(loc *i18n.Localizer, lines ...string) printout.Doc {
	d := printout.Doc{Title: s.Title, Lines: lines, Footer: loc.T("service.name"),
		NotAnswered: loc.T("forms.check.not_answered"),
		PageOf:      func(page, total int) string { return loc.T("forms.pdf.page_of", "Page", page, "Count", total) }}
	for _, p := range s.Pages {
		sec := printout.Section{Heading: p.Title}
		for _, r := range p.Rows {
			sec.Items = append(sec.Items, printout.Item{Question: r.Question, Answer: r.Answer})
		}
		d.Sections = append(d.Sections, sec)
	}
	return d
}
