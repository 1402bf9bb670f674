package messages

import (
	"context"
	"encoding/json"
	"net/url"

	"portal/app/formdef"
	"portal/app/forms"
	"portal/app/i18n"
	"portal/app/web"
)

// A message type may be a form (guide 001: "complete a foster carer
// recording" from New Message): the page asks the template's questions
// instead of a free message, the body is the answers (JSON, sealed like any
// body), and each reader sees them as questions and answers in their own
// language.

// formOf is the template of type t, or nil for a free message.
func (h *Handler) formOf(ctx context.Context, t *Type) (*formdef.Template, error) {
	if t == nil || t.FormKey == nil || h.Forms == nil {
		return nil, nil
	}
	tpl, err := h.Forms.ByKey(ctx, *t.FormKey)
	if err != nil {
		return nil, err
	}
	return tpl.Template, nil
}

// answersFrom reads the template's fields from the posted form.
func answersFrom(v url.Values, t *formdef.Template) formdef.Answers {
	a := formdef.Answers{}
	for _, p := range t.Pages {
		for _, f := range p.Fields {
			if vals := v[f.Name]; len(vals) > 0 {
				a[f.Name] = append(a[f.Name], vals...)
			}
		}
	}
	return formdef.NormaliseAll(t, a)
}

// FormFields are the chosen form type's questions, for the field partial.
func (v NewView) FormFields(view *web.View) []forms.FieldView {
	if v.Form == nil {
		return nil
	}
	return forms.FieldViews(view, v.Form, v.Draft.Answers, v.Errors, view.Lang)
}

// Readable turns the form messages of posted into questions and answers in
// loc's language, by message id.
func Readable(ctx context.Context, store *forms.Store, loc *i18n.Localizer, posted []Posted) (map[int64]forms.Summary, error) {
	out := map[int64]forms.Summary{}
	for _, m := range posted {
		if m.FormKey == nil || store == nil {
			continue
		}
		t, err := store.ByKey(ctx, *m.FormKey)
		if err != nil {
			return nil, err
		}
		var a formdef.Answers
		if err := json.Unmarshal([]byte(m.Body), &a); err != nil {
			return nil, err
		}
		out[m.ID] = forms.Summarise(t.Template, a, loc)
	}
	return out, nil
}
