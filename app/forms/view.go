package forms

import (
	"strconv"
	"unicode/utf8"

	"portal/app/formdef"
	"portal/app/web"
)

// PageView is one page of a form being filled in.
type PageView struct {
	Form     *Form
	Template Template
	Page     int // index of Template.Pages
	Answers  formdef.Answers
	Revision int // the revision these answers are; the page posts it back
	Errors   []formdef.Error
	Conflict bool // saved meanwhile elsewhere: the page shows those answers
	Lang     string
}

// Number is the page's number, from 1.
func (v PageView) Number() int { return v.Page + 1 }

// Count is the number of pages.
func (v PageView) Count() int { return len(v.Template.Pages) }

// Last reports whether this is the final page.
func (v PageView) Last() bool { return v.Page == len(v.Template.Pages)-1 }

// Title is the form's title in the page's language.
func (v PageView) Title() string { return v.Template.Title.In(v.Lang) }

// PageTitle is this page's title in the page's language.
func (v PageView) PageTitle() string { return v.Template.Pages[v.Page].Title.In(v.Lang) }

// Fields are the page's fields, ready for the field partial.
func (v PageView) Fields(view *web.View) []FieldView {
	page := v.Template.Pages[v.Page]
	out := make([]FieldView, len(page.Fields))
	for i, f := range page.Fields {
		fv := FieldView{View: view, Field: f, Values: v.Answers[f.Name], Lang: v.Lang}
		for _, e := range v.Errors {
			if e.Field == f.Name {
				fv.Error = view.ErrorText(FieldError(e, v.Lang))
				break
			}
		}
		out[i] = fv
	}
	return out
}

// FieldError is a template's answer error as a page's form error, in lang.
func FieldError(e formdef.Error, lang string) web.FieldError {
	fe := web.FieldError{Field: e.Field, Key: e.Key, Args: e.Data(lang)}
	if !e.Text.IsZero() {
		fe.Text = e.Text.In(lang)
	}
	return fe
}

// FieldViews are every field of t, on all its pages, for a page that asks
// them all at once (a message that is a form: the foster carer recording).
func FieldViews(view *web.View, t *formdef.Template, a formdef.Answers, errs []formdef.Error, lang string) []FieldView {
	var out []FieldView
	for page := range t.Pages {
		out = append(out, PageView{Template: Template{Template: t}, Page: page, Answers: a, Errors: errs, Lang: lang}.Fields(view)...)
	}
	return out
}

// FieldView is one field of a page: the question, what is answered, and
// its error.
type FieldView struct {
	*web.View
	formdef.Field
	Values []string
	Error  string
	Lang   string
}

// LabelText and HintText are the question and its hint in the page's language.
func (f FieldView) LabelText() string { return f.Label.In(f.Lang) }

// HintText is the field's hint ("" when none).
func (f FieldView) HintText() string { return f.Hint.In(f.Lang) }

// Value is the field's (first) answer.
func (f FieldView) Value() string {
	if len(f.Values) == 0 {
		return ""
	}
	return f.Values[0]
}

// Checked reports whether option value is chosen.
func (f FieldView) Checked(value string) bool {
	for _, v := range f.Values {
		if v == value {
			return true
		}
	}
	return false
}

// Options are the field's choices with their labels in the page's language.
func (f FieldView) Options() []OptionView {
	var out []OptionView
	for i, o := range f.Choices() {
		id := f.Name
		if i > 0 {
			id += "-" + o.Value
		}
		out = append(out, OptionView{ID: id, Value: o.Value, Label: o.Label.In(f.Lang), Checked: f.Checked(o.Value)})
	}
	return out
}

// OptionView is one choice of a field.
type OptionView struct {
	ID, Value, Label string
	Checked          bool
}

// Limit is a text field's most characters.
func (f FieldView) Limit() string { return strconv.Itoa(f.MaxLength) }

// Length is how many characters the answer has.
func (f FieldView) Length() int { return utf8.RuneCountInString(f.Value()) }

// Describedby lists the ids that describe the field: hint, error.
func (f FieldView) Describedby() string {
	s := ""
	if f.HintText() != "" {
		s = f.Name + "-hint"
	}
	if f.Error != "" {
		if s != "" {
			s += " "
		}
		s += f.Name + "-error"
	}
	if f.Type == formdef.TypeTextarea {
		if s != "" {
			s += " "
		}
		s += f.Name + "-info"
	}
	return s
}
