package forms_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"portal/app/formdef"
)

// everyType is a template with one field of each type, each required.
const everyType = `key: every_type
title: {en: Every type, cy: Pob math}
pages:
  - title: {en: The page, cy: Y dudalen}
    fields:
      - {name: a_text, type: text, required: true, max_length: 10, label: {en: A text, cy: Testun}}
      - {name: a_textarea, type: textarea, required: true, max_length: 20, label: {en: A long text, cy: Testun hir}}
      - {name: a_number, type: number, required: true, integer: true, min: 1, max: 9, label: {en: A number, cy: Rhif}}
      - {name: a_date, type: date, required: true, date: not_future, label: {en: A date, cy: Dyddiad}}
      - {name: a_time, type: time, required: true, label: {en: A time, cy: Amser}}
      - {name: a_yesno, type: yesno, required: true, label: {en: Yes or no, cy: Ie neu na}}
      - name: a_radio
        type: radios
        required: true
        label: {en: A choice, cy: Dewis}
        options: [{value: first, label: {en: First, cy: Cyntaf}}, {value: second, label: {en: Second, cy: Ail}}]
      - name: a_box
        type: checkboxes
        required: true
        label: {en: Some choices, cy: Dewisiadau}
        options: [{value: red, label: {en: Red, cy: Coch}}, {value: blue, label: {en: Blue, cy: Glas}}]
      - name: a_select
        type: select
        required: true
        label: {en: A list, cy: Rhestr}
        options: [{value: cat, label: {en: Cat, cy: Cath}}, {value: dog, label: {en: Dog, cy: Ci}}]
`

func TestEveryFieldTypeRendersAndValidatesThroughThePage(t *testing.T) {
	w := newWorld(t)
	tpl, err := formdef.Parse([]byte(everyType))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.a.Forms.Sync(context.Background(), []*formdef.Template{tpl}); err != nil {
		t.Fatal(err)
	}
	path := w.send(t, "every_type", w.ellie, w.mum) + "/pages/1"
	valid := url.Values{"a_text": {"Hello"}, "a_textarea": {"Line one\nline two"}, "a_number": {"7"},
		"a_date": {"2026-11-01"}, "a_time": {"14:30"}, "a_yesno": {"no"}, "a_radio": {"second"}, "a_box": {"red", "blue"}, "a_select": {"dog"}}
	for _, tt := range []struct {
		field, element, invalid string
	}{
		{"a_text", `input#a_text[type="text"]`, "Hello world!"},
		{"a_textarea", `[data-module="govuk-character-count"][data-maxlength="20"] textarea#a_textarea`, strings.Repeat("x", 21)},
		{"a_number", `input#a_number[inputmode="decimal"]`, "7.5"},
		{"a_date", `input#a_date[type="date"]`, "2026-12-25"},
		{"a_time", `input#a_time[type="text"].govuk-input--width-5`, "no"},
		{"a_yesno", `input#a_yesno[type="radio"][value="yes"] ~ label`, ""},
		{"a_radio", `input#a_radio-second[type="radio"]`, "third"},
		{"a_box", `input#a_box-blue[type="checkbox"]`, "green"},
		{"a_select", `select#a_select option[value="dog"]`, "bird"},
	} {
		t.Run("type="+strings.TrimPrefix(tt.field, "a_"), func(t *testing.T) {
			page := w.mumC.Get(path)
			if page.Doc.Find(tt.element).Length() == 0 {
				t.Fatalf("the page lacks %s", tt.element)
			}
			answers := url.Values{}
			for k, v := range valid {
				answers[k] = v
			}
			answers[tt.field] = []string{tt.invalid}
			res := post(w.mumC, page, "continue", answers)
			link := res.Doc.Find(`.govuk-error-summary a[href="#` + tt.field + `"]`)
			if res.StatusCode != http.StatusUnprocessableEntity || link.Length() != 1 || res.Doc.Find(".govuk-error-summary li").Length() != 1 {
				t.Fatalf("%q = %d, summary %q; want 422 for %s only", tt.invalid, res.StatusCode, res.Text(".govuk-error-summary"), tt.field)
			}
			if res.Doc.Find("#"+tt.field+"-error").Length() != 1 {
				t.Error("no message beside the field")
			}
			if !strings.Contains(res.Text("#"+tt.field+"-error"), strings.TrimSpace(link.Text())) {
				t.Errorf("the message beside the field %q differs from the summary's %q", res.Text("#"+tt.field+"-error"), link.Text())
			}
		})
	}
	page := w.mumC.Get(path)
	if res := post(w.mumC, page, "continue", valid); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("every answer valid = %d: %q", res.StatusCode, res.Text(".govuk-error-summary"))
	}
	check := w.mumC.Get(strings.TrimSuffix(path, "/pages/1") + "/check")
	for _, want := range []string{"Hello", "Line one\nline two", "7", "1 November 2026", "No", "Second", "Red, Blue", "Dog"} {
		if !strings.Contains(check.Text(".govuk-summary-list")+check.Body, want) {
			t.Errorf("Check your answers lacks %q", want)
		}
	}
}
