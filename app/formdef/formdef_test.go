package formdef_test

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"portal/app/formdef"
	"portal/app/i18n"
)

// matrixYAML has a field of every type with every rule.
const matrixYAML = `
key: matrix
title: {en: Matrix, cy: Matrics}
pages:
  - title: {en: Everything, cy: Popeth}
    fields:
      - {name: full_name, type: text, required: true, min_length: 2, max_length: 10, label: {en: Your name, cy: Eich enw}}
      - {name: nickname, type: text, label: {en: Nickname, cy: Llysenw}}
      - {name: story, type: textarea, max_length: 50000, label: {en: Story, cy: Stori}}
      - {name: notes, type: textarea, label: {en: Notes, cy: Nodiadau}}
      - {name: children, type: number, integer: true, min: 0, max: 12, label: {en: Number of children, cy: Nifer y plant}}
      - {name: weight, type: number, min: 0.5, label: {en: Weight, cy: Pwysau}}
      - {name: any_number, type: number, label: {en: Any number, cy: Unrhyw rif}}
      - {name: birthday, type: date, date: past, label: {en: Date of birth, cy: Dyddiad geni}}
      - {name: meeting, type: date, date: future, label: {en: Meeting date, cy: Dyddiad y cyfarfod}}
      - {name: happened, type: date, date: not_future, label: {en: Date it happened, cy: Dyddiad y digwyddiad}}
      - {name: any_date, type: date, label: {en: Any date, cy: Unrhyw ddyddiad}}
      - {name: at, type: time, label: {en: Time, cy: Amser}}
      - name: agree
        type: yesno
        required: true
        label: {en: "Do you agree?", cy: "Ydych chi'n cytuno?"}
        error_label: {en: whether you agree, cy: Cytuno}
      - name: colour
        type: radios
        required: true
        label: {en: Colour, cy: Lliw}
        options:
          - {value: red, label: {en: Red, cy: Coch}}
          - {value: blue, label: {en: Blue, cy: Glas}}
      - name: pets
        type: checkboxes
        min_selected: 2
        max_selected: 3
        label: {en: Pets, cy: Anifeiliaid anwes}
        options:
          - {value: cat, label: {en: Cat, cy: Cath}}
          - {value: dog, label: {en: Dog, cy: Ci}}
          - {value: fish, label: {en: Fish, cy: Pysgodyn}}
          - {value: bird, label: {en: Bird, cy: Aderyn}}
      - name: town
        type: select
        label: {en: Town, cy: Tref}
        options:
          - {value: norwich, label: {en: Norwich, cy: Norwich}}
          - {value: cardiff, label: {en: Cardiff, cy: Caerdydd}}
`

// today is the clock's time in the matrix: mid-afternoon, London.
var today = time.Date(2026, 6, 15, 15, 0, 0, 0, mustLondon())

func mustLondon() *time.Location {
	loc, err := time.LoadLocation("Europe/London")
	if err != nil {
		panic(err)
	}
	return loc
}

func mustParse(t *testing.T, y string) *formdef.Template {
	t.Helper()
	tpl, err := formdef.Parse([]byte(y))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return tpl
}

func month(lang string) func(int) string {
	en := []string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}
	cy := []string{"Ionawr", "Chwefror", "Mawrth", "Ebrill", "Mai", "Mehefin", "Gorffennaf", "Awst", "Medi", "Hydref", "Tachwedd", "Rhagfyr"}
	return func(m int) string {
		if lang == "cy" {
			return cy[m-1]
		}
		return en[m-1]
	}
}

// fieldError is the error Validate gives field, or the zero Error.
func fieldError(errs []formdef.Error, field string) formdef.Error {
	for _, e := range errs {
		if e.Field == field {
			return e
		}
	}
	return formdef.Error{}
}

func TestEveryTypeAndRuleThroughParseValidateDisplay(t *testing.T) {
	tpl := mustParse(t, matrixYAML)
	long := func(n int) string { return strings.Repeat("a", n) }
	cases := []struct {
		field   string
		rule    string
		value   []string
		label   string // names the value in the test name when it is long
		wantKey string // "" when valid
		wantEN  string // Display in English, for valid answers
	}{
		{"full_name", "required", nil, "", formdef.KeyRequired, ""},
		{"full_name", "required", []string{"Alex"}, "", "", "Alex"},
		{"full_name", "min_length", []string{"A"}, "", formdef.KeyTooShort, ""},
		{"full_name", "min_length", []string{"Al"}, "", "", "Al"},
		{"full_name", "max_length", []string{"Alexandrina"}, "", formdef.KeyTooLong, ""},
		{"full_name", "max_length", []string{"Llŷr Ædwin"}, "", "", "Llŷr Ædwin"}, // 10 characters, more bytes
		{"nickname", "optional", nil, "", "", ""},
		{"nickname", "default_max_length", []string{long(200)}, "200 characters", "", long(200)},
		{"nickname", "default_max_length", []string{long(201)}, "201 characters", formdef.KeyTooLong, ""},
		{"story", "max_length", []string{long(50000)}, "50,000 characters", "", long(50000)},
		{"story", "max_length", []string{long(50001)}, "50,001 characters", formdef.KeyTooLong, ""},
		{"notes", "default_max_length", []string{long(10000)}, "10,000 characters", "", long(10000)},
		{"notes", "default_max_length", []string{long(10001)}, "10,001 characters", formdef.KeyTooLong, ""},
		{"children", "number", []string{"3"}, "", "", "3"},
		{"children", "number", []string{"three"}, "", formdef.KeyNumber, ""},
		{"children", "number", []string{"NaN"}, "", formdef.KeyNumber, ""},
		{"children", "number", []string{"0x10"}, "", formdef.KeyNumber, ""},
		{"children", "integer", []string{"2.5"}, "", formdef.KeyInteger, ""},
		{"children", "integer", []string{"2.0"}, "", "", "2"},
		{"children", "min", []string{"-1"}, "", formdef.KeyTooSmall, ""},
		{"children", "min", []string{"0"}, "", "", "0"},
		{"children", "max", []string{"13"}, "", formdef.KeyTooLarge, ""},
		{"children", "max", []string{"12"}, "", "", "12"},
		{"weight", "min", []string{"0.4"}, "", formdef.KeyTooSmall, ""},
		{"weight", "min", []string{"0.5"}, "", "", "0.5"},
		{"any_number", "number", []string{"1e5"}, "", formdef.KeyNumber, ""},
		{"any_number", "number", []string{"-12.75"}, "", "", "-12.75"},
		{"birthday", "past", []string{"2026-06-14"}, "", "", "14 June 2026"},
		{"birthday", "past", []string{"2026-06-15"}, "today", formdef.KeyPast, ""},
		{"meeting", "future", []string{"2026-06-16"}, "", "", "16 June 2026"},
		{"meeting", "future", []string{"2026-06-15"}, "today", formdef.KeyFuture, ""},
		{"happened", "not_future", []string{"2026-06-15"}, "today", "", "15 June 2026"},
		{"happened", "not_future", []string{"2026-06-16"}, "tomorrow", formdef.KeyNotFuture, ""},
		{"any_date", "date", []string{"2026-02-30"}, "", formdef.KeyDate, ""},
		{"any_date", "date", []string{"30 February"}, "", formdef.KeyDate, ""},
		{"any_date", "date", []string{"1/12/2026"}, "", "", "1/12/2026"}, // Normalise turns it into 2026-12-01
		{"any_date", "date", []string{"2026-12-01"}, "", "", "1 December 2026"},
		{"at", "time", []string{"no"}, "", formdef.KeyTime, ""},
		{"at", "time", []string{"24:00"}, "", formdef.KeyTime, ""},
		{"at", "time", []string{"9:5"}, "", formdef.KeyTime, ""},
		{"at", "time", []string{"14:30"}, "", "", "14:30"},
		{"at", "time", []string{"00:00"}, "", "", "00:00"},
		{"agree", "required", nil, "", formdef.KeyRequiredChoice, ""},
		{"agree", "choice", []string{"maybe"}, "", formdef.KeyRequiredChoice, ""},
		{"agree", "choice", []string{"yes"}, "", "", "Yes"},
		{"agree", "choice", []string{"no"}, "", "", "No"},
		{"colour", "required", nil, "", formdef.KeyRequiredChoice, ""},
		{"colour", "choice", []string{"green"}, "", formdef.KeyRequiredChoice, ""},
		{"colour", "choice", []string{"blue"}, "", "", "Blue"},
		{"pets", "optional", nil, "", "", ""},
		{"pets", "min_selected", []string{"cat"}, "", formdef.KeyMinSelected, ""},
		{"pets", "min_selected", []string{"cat", "dog"}, "", "", "Cat, Dog"},
		{"pets", "max_selected", []string{"cat", "dog", "fish", "bird"}, "", formdef.KeyMaxSelected, ""},
		{"pets", "choice", []string{"cat", "dragon"}, "", formdef.KeyRequiredChoice, ""},
		{"town", "optional", nil, "", "", ""},
		{"town", "choice", []string{"cardiff"}, "", "", "Cardiff"},
		{"town", "choice", []string{"london"}, "", formdef.KeyRequiredChoice, ""},
	}
	for _, c := range cases {
		f, ok := tpl.Field(c.field)
		if !ok {
			t.Fatalf("no field %q", c.field)
		}
		value := c.label
		if value == "" {
			value = fmt.Sprintf("%q", c.value)
		}
		want := c.wantKey
		if want == "" {
			want = "none"
		}
		t.Run(fmt.Sprintf("type=%s rule=%s value=%s error=%s", f.Type, c.rule, value, want), func(t *testing.T) {
			a := formdef.Answers{c.field: c.value}
			e := fieldError(tpl.Validate(0, a, today), c.field)
			if e.Key != c.wantKey {
				t.Fatalf("error %q, want %q", e.Key, c.wantKey)
			}
			if c.wantKey != "" {
				m, ok := formdef.Lookup(e.Key)
				if !ok {
					t.Fatalf("%q is not in Messages", e.Key)
				}
				for _, lang := range []string{"en", "cy"} {
					if s := m.In(lang, e.Data(lang)...); s == "" || strings.Contains(s, "{{") {
						t.Errorf("%s message %q is not filled in", lang, s)
					}
				}
				return
			}
			// A valid answer survives Normalise unchanged in meaning and
			// still passes.
			clean := formdef.Normalise(tpl, 0, a)
			if e := fieldError(tpl.Validate(0, clean, today), c.field); e.Key != "" {
				t.Fatalf("normalised answer %q fails with %q", clean[c.field], e.Key)
			}
			wantEN := c.wantEN
			if c.value != nil && c.value[0] == "1/12/2026" {
				wantEN = "1 December 2026"
			}
			if got := f.Display(clean, "en", month("en")); got != wantEN {
				t.Fatalf("Display %q, want %q", got, wantEN)
			}
		})
	}
}

func TestValidateReturnsErrorsInFieldOrder(t *testing.T) {
	tpl := mustParse(t, matrixYAML)
	errs := tpl.Validate(0, formdef.Answers{"children": {"x"}}, today)
	var got []string
	for _, e := range errs {
		got = append(got, e.Field)
	}
	if want := []string{"full_name", "children", "agree", "colour"}; !slices.Equal(got, want) {
		t.Fatalf("fields in error %v, want %v", got, want)
	}
}

func TestErrorMessages(t *testing.T) {
	tpl := mustParse(t, `
key: messages
title: {en: Messages, cy: Negeseuon}
pages:
  - title: {en: One, cy: Un}
    fields:
      - {name: full_name, type: text, required: true, max_length: 10, label: {en: Your name, cy: Eich enw}}
      - {name: gp, type: text, required: true, label: {en: GP surgery, cy: Meddygfa}}
      - name: attending
        type: yesno
        required: true
        label: {en: "Will you come?", cy: "A fyddwch chi'n dod?"}
        error_label: {en: whether you will come, cy: Dod i'r cyfarfod}
        errors:
          required: {en: Select yes if you will come, cy: Dewiswch Ie os byddwch chi'n dod}
      - name: place
        type: radios
        required: true
        label: {en: "How will you take part?", cy: "Sut byddwch chi'n cymryd rhan?"}
        error_label: {en: how you will take part, cy: Sut byddwch chi'n cymryd rhan}
        options:
          - {value: in_person, label: {en: In person, cy: Wyneb yn wyneb}}
          - {value: phone, label: {en: By phone, cy: Dros y ffôn}}
`)
	errs := tpl.Validate(0, formdef.Answers{"full_name": {"Alexandrina Smith"}}, today)
	cases := []struct {
		name, field, lang, want string
	}{
		{"a too long text names its label at the start of the sentence", "full_name", "en", "Your name must be 10 characters or fewer"},
		{"a too long text in Welsh starts with the label", "full_name", "cy", "Eich enw: defnyddiwch 10 nod neu lai"},
		{"a label starting with capitals keeps them after Enter", "gp", "en", "Enter GP surgery"},
		{"a missing text in Welsh asks for an answer", "gp", "cy", "Meddygfa: rhowch ateb"},
		{"the template's own message wins in English", "attending", "en", "Select yes if you will come"},
		{"the template's own message wins in Welsh", "attending", "cy", "Dewiswch Ie os byddwch chi'n dod"},
		{"a question uses its error label after Select", "place", "en", "Select how you will take part"},
		{"a question uses its Welsh error label", "place", "cy", "Sut byddwch chi'n cymryd rhan: dewiswch ateb"},
	}
	tr := func(lang string) func(string, ...any) string {
		return func(id string, args ...any) string {
			m, _ := formdef.Lookup(id)
			return m.In(lang, args...)
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := fieldError(errs, c.field)
			if got := e.Message(c.lang, tr(c.lang)); got != c.want {
				t.Fatalf("got %q, want %q", got, c.want)
			}
		})
	}
}

func TestMessagesWorkInTheLocaleBundle(t *testing.T) {
	var en, cy strings.Builder
	for _, m := range formdef.Messages {
		fmt.Fprintf(&en, "%q = %q\n", m.ID, m.Text.EN)
		fmt.Fprintf(&cy, "%q = %q\n", m.ID, m.Text.CY)
	}
	b, err := i18n.Load(fstest.MapFS{
		"forms.en.toml": {Data: []byte(en.String())},
		"forms.cy.toml": {Data: []byte(cy.String())},
	})
	if err != nil {
		t.Fatal(err)
	}
	e := formdef.Error{Field: "notes", Key: formdef.KeyTooLong, Args: []any{"Max", "10,000"}, Label: formdef.Text{EN: "Notes", CY: "Nodiadau"}}
	cases := []struct{ name, lang, want string }{
		{"the English message takes the label and the limit", "en", "Notes must be 10,000 characters or fewer"},
		{"the Welsh message takes the label and the limit", "cy", "Nodiadau: defnyddiwch 10,000 nod neu lai"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := e.Message(c.lang, b.For(c.lang).T); got != c.want {
				t.Fatalf("got %q, want %q", got, c.want)
			}
		})
	}
}

func TestMessagesAreCompleteAndConsistent(t *testing.T) {
	keys := []string{formdef.KeyRequired, formdef.KeyRequiredChoice, formdef.KeyTooLong, formdef.KeyTooShort,
		formdef.KeyNumber, formdef.KeyInteger, formdef.KeyTooSmall, formdef.KeyTooLarge, formdef.KeyDate,
		formdef.KeyPast, formdef.KeyFuture, formdef.KeyNotFuture, formdef.KeyMinSelected, formdef.KeyMaxSelected,
		"forms.submit.submit", "forms.submit.contribution"}
	seen := map[string]bool{}
	for _, m := range formdef.Messages {
		t.Run("message "+m.ID+" is listed once with the same data in both languages", func(t *testing.T) {
			if seen[m.ID] {
				t.Fatal("listed twice")
			}
			seen[m.ID] = true
			if m.Text.EN == "" || m.Text.CY == "" {
				t.Fatal("a language is missing")
			}
			if a, b := placeholders(m.Text.EN), placeholders(m.Text.CY); !slices.Equal(a, b) && !(slices.Contains(b, "LabelStart") && len(a) == len(b)) {
				t.Fatalf("English uses %v, Welsh %v", a, b)
			}
		})
	}
	for _, k := range keys {
		if !seen[k] {
			t.Errorf("%q is handed out but not in Messages", k)
		}
	}
}

// placeholders lists the data a message uses, Label and LabelStart counted
// as one (a language may start its sentence with the label, another not).
func placeholders(s string) []string {
	var out []string
	for _, part := range strings.Split(s, "{{.")[1:] {
		name, _, _ := strings.Cut(part, "}}")
		if name == "LabelStart" {
			name = "Label"
		}
		out = append(out, name)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func TestParseRefusesBadTemplates(t *testing.T) {
	head := "key: bad\ntitle: {en: Bad, cy: Drwg}\npages:\n  - title: {en: One, cy: Un}\n    fields:\n"
	field := func(s string) string { return head + "      - " + s + "\n" }
	cases := []struct {
		name, yaml, want string
	}{
		{"an unknown key on a field is refused", field(`{name: a, type: text, colour: red, label: {en: A, cy: A}}`), "field colour not found"},
		{"an unknown key on the template is refused", "owner: me\n" + head + "      - {name: a, type: text, label: {en: A, cy: A}}\n", "field owner not found"},
		{"a field name used twice is refused", head + "      - {name: a, type: text, label: {en: A, cy: A}}\n      - {name: a, type: textarea, label: {en: B, cy: B}}\n", `field "a": the name is used twice`},
		{"a label without Welsh is refused", field(`{name: a, type: text, label: {en: A}}`), "label has no Welsh (cy) text"},
		{"a blank Welsh label is refused", field(`{name: a, type: text, label: {en: A, cy: "  "}}`), "label has no Welsh (cy) text"},
		{"a hint without English is refused", field(`{name: a, type: text, label: {en: A, cy: A}, hint: {cy: Help}}`), "hint has no English (en) text"},
		{"a title without Welsh is refused", "key: bad\ntitle: {en: Bad}\npages: []\n", "title has no Welsh (cy) text"},
		{"a text given as a plain string is refused", field(`{name: a, type: text, label: Name}`), "a text must be {en: ..., cy: ...}"},
		{"a third language is refused", field(`{name: a, type: text, label: {en: A, cy: A, fr: A}}`), `unknown language "fr"`},
		{"options on a text field are refused", field(`{name: a, type: text, label: {en: A, cy: A}, options: [{value: x, label: {en: X, cy: X}}]}`), "options applies to radios, checkboxes and select fields only, not to a text field"},
		{"radios without options are refused", field(`{name: a, type: radios, label: {en: A, cy: A}}`), "a radios field needs at least 2 options"},
		{"an unknown type is refused", field(`{name: a, type: signature, label: {en: A, cy: A}}`), `unknown type "signature"`},
		{"an option named other is refused", field(`{name: a, type: radios, label: {en: A, cy: A}, options: [{value: yes_please, label: {en: Y, cy: Y}}, {value: other, label: {en: O, cy: A}}]}`), `option value "other" is a word go-i18n reserves`},
		{"an option value used twice is refused", field(`{name: a, type: select, label: {en: A, cy: A}, options: [{value: x, label: {en: X, cy: X}}, {value: x, label: {en: Y, cy: Y}}]}`), `option value "x" is used twice`},
		{"an option value not in snake_case is refused", field(`{name: a, type: radios, label: {en: A, cy: A}, options: [{value: Yes Please, label: {en: Y, cy: Y}}, {value: no, label: {en: N, cy: N}}]}`), `option value "Yes Please" is not snake_case`},
		{"a max_length over 50000 is refused", field(`{name: a, type: textarea, max_length: 50001, label: {en: A, cy: A}}`), "max_length 50001 is over the ceiling of 50000"},
		{"a min_length over max_length is refused", field(`{name: a, type: text, min_length: 20, max_length: 10, label: {en: A, cy: A}}`), "min_length 20 is more than max_length 10"},
		{"a field name not in snake_case is refused", field(`{name: FullName, type: text, label: {en: A, cy: A}}`), `field name "FullName" is not snake_case`},
		{"a missing field name is refused", field(`{type: text, label: {en: A, cy: A}}`), "field name is missing"},
		{"a template key not in snake_case is refused", "key: Bad-Key\ntitle: {en: Bad, cy: Drwg}\npages: []\n", `key "Bad-Key" is not snake_case`},
		{"a template without pages is refused", "key: bad\ntitle: {en: Bad, cy: Drwg}\n", "the template has no pages"},
		{"a page without fields is refused", "key: bad\ntitle: {en: Bad, cy: Drwg}\npages:\n  - title: {en: One, cy: Un}\n", "page 1 has no fields"},
		{"an unknown submit button is refused", "submit: send\n" + field(`{name: a, type: text, label: {en: A, cy: A}}`), `submit "send" is neither`},
		{"an unknown relationship is refused", "for: [teacher]\n" + field(`{name: a, type: text, label: {en: A, cy: A}}`), `for: "teacher" is not one of`},
		{"min on a text field is refused", field(`{name: a, type: text, min: 1, label: {en: A, cy: A}}`), "min applies to number fields only"},
		{"min over max is refused", field(`{name: a, type: number, min: 5, max: 1, label: {en: A, cy: A}}`), "min 5 is more than max 1"},
		{"a min that is not a number is refused", field(`{name: a, type: number, min: .nan, label: {en: A, cy: A}}`), "min and max must be ordinary numbers"},
		{"an unknown date rule is refused", field(`{name: a, type: date, date: yesterday, label: {en: A, cy: A}}`), `date "yesterday" is not one of`},
		{"a date rule on a text field is refused", field(`{name: a, type: text, date: past, label: {en: A, cy: A}}`), "date applies to date fields only"},
		{"min_selected on radios is refused", field(`{name: a, type: radios, min_selected: 2, label: {en: A, cy: A}, options: [{value: x, label: {en: X, cy: X}}, {value: y, label: {en: Y, cy: Y}}]}`), "min_selected applies to checkboxes fields only"},
		{"max_selected over the number of options is refused", field(`{name: a, type: checkboxes, max_selected: 3, label: {en: A, cy: A}, options: [{value: x, label: {en: X, cy: X}}, {value: y, label: {en: Y, cy: Y}}]}`), "cannot be more than the 2 options"},
		{"options on a yesno field are refused", field(`{name: a, type: yesno, label: {en: A, cy: A}, options: [{value: x, label: {en: X, cy: X}}, {value: y, label: {en: Y, cy: Y}}]}`), "options applies to radios, checkboxes and select fields only, not to a yesno field"},
		{"a question label without an error label is refused", field(`{name: a, type: yesno, label: {en: "Will you come?", cy: "A fyddwch chi'n dod?"}}`), "the label is a question, so give error_label"},
		{"a custom error for a rule the field cannot break is refused", field(`{name: a, type: text, label: {en: A, cy: A}, errors: {required: {en: Enter A, cy: Rhowch A}}}`), `errors: "required" is not a rule this field can break`},
		{"a custom error without Welsh is refused", field(`{name: a, type: text, required: true, label: {en: A, cy: A}, errors: {required: {en: Enter A}}}`), "errors.required has no Welsh (cy) text"},
		{"a key given twice is refused", "key: bad\nkey: worse\ntitle: {en: Bad, cy: Drwg}\npages: []\n", `mapping key "key" already defined`},
		{"two YAML documents are refused", field(`{name: a, type: text, label: {en: A, cy: A}}`) + "---\nkey: two\n", "one YAML document only"},
		{"an empty file is refused", "", "the template is empty"},
		{"YAML that does not parse is refused", "key: [unclosed\n", "formdef: yaml:"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := formdef.Parse([]byte(c.yaml))
			if err == nil {
				t.Fatal("Parse accepted it")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not say %q", err, c.want)
			}
		})
	}
}

func TestParseErrorsNameTheFieldAndPage(t *testing.T) {
	_, err := formdef.Parse([]byte(`
key: named
title: {en: Named, cy: Enwog}
pages:
  - title: {en: One, cy: Un}
    fields:
      - {name: first, type: text, label: {en: A, cy: A}}
  - title: {en: Two, cy: Dau}
    fields:
      - {name: story, type: textarea, max_length: 60000, label: {en: Story, cy: Stori}}
`))
	want := `formdef: template "named": page 2, field "story": max_length 60000 is over the ceiling`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("error %v, want it to start %q", err, want)
	}
}

func TestParseFillsInDefaults(t *testing.T) {
	tpl := mustParse(t, `
key: defaults
title: {en: Defaults, cy: Rhagosodiadau}
pages:
  - title: {en: One, cy: Un}
    fields:
      - {name: short, type: text, label: {en: Short, cy: Byr}}
      - {name: long, type: textarea, label: {en: Long, cy: Hir}}
`)
	short, _ := tpl.Field("short")
	long, _ := tpl.Field("long")
	cases := []struct {
		name      string
		got, want any
	}{
		{"a text field allows 200 characters", short.MaxLength, formdef.DefaultTextMaxLength},
		{"a textarea allows 10,000 characters", long.MaxLength, formdef.DefaultTextareaMaxLength},
		{"the final page says Submit", tpl.SubmitKey(), "forms.submit.submit"},
		{"the form can be sent to every relationship", strings.Join(tpl.For, ","), strings.Join(formdef.Relationships, ",")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.got != c.want {
				t.Fatalf("got %v, want %v", c.got, c.want)
			}
		})
	}
}

// texts lists every text of a template, each named where it is.
func texts(tpl *formdef.Template) map[string]formdef.Text {
	out := map[string]formdef.Text{"title": tpl.Title, "intro": tpl.Intro}
	for i, p := range tpl.Pages {
		out[fmt.Sprintf("page %d title", i+1)] = p.Title
		for _, f := range p.Fields {
			out[f.Name+" label"] = f.Label
			if !f.Hint.IsZero() {
				out[f.Name+" hint"] = f.Hint
			}
			if !f.ErrorLabel.IsZero() {
				out[f.Name+" error_label"] = f.ErrorLabel
			}
			for _, o := range f.Choices() {
				out[f.Name+" option "+o.Value] = o.Label
			}
			for rule, e := range f.Errors {
				out[f.Name+" errors."+rule] = e
			}
		}
	}
	return out
}

func TestBuiltinTemplates(t *testing.T) {
	all, err := formdef.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, tpl := range all {
		keys = append(keys, tpl.Key)
	}
	if want := []string{"foster_carer_recording", "review_contribution"}; !slices.Equal(keys, want) {
		t.Fatalf("templates %v, want %v (sorted by key)", keys, want)
	}
	for _, tpl := range all {
		for where, text := range texts(tpl) {
			t.Run(tpl.Key+" has English and Welsh for "+where, func(t *testing.T) {
				if strings.TrimSpace(text.EN) == "" || strings.TrimSpace(text.CY) == "" || text.EN == text.CY && where != "intro" && !strings.Contains(where, "option") {
					t.Fatalf("en %q, cy %q", text.EN, text.CY)
				}
			})
		}
	}
	recording, review := all[0], all[1]
	narrative, _ := recording.Field("narrative")
	date, _ := recording.Field("event_date")
	timeOf, _ := recording.Field("event_time")
	category, _ := recording.Field("category")
	children, _ := recording.Field("children")
	next, _ := review.Field("next")
	var values []string
	for _, o := range category.Options {
		values = append(values, o.Value)
	}
	cases := []struct {
		name string
		ok   bool
	}{
		{"the recording can be sent to foster carers only", slices.Equal(recording.For, []string{"foster_carer"})},
		{"the recording's final page says Submit", recording.SubmitKey() == "forms.submit.submit"},
		{"the recording's narrative takes 50,000 characters", narrative.Required && narrative.MaxLength == formdef.MaxLengthCeiling},
		{"the recording's date cannot be in the future", date.Required && date.Date == formdef.DateNotFuture},
		{"the recording's time is a time of day, with an example", timeOf.Type == formdef.TypeTime && strings.Contains(timeOf.Hint.EN, "14:30")},
		{"the recording asks which child or children", children.Required && children.Label.EN == "Which child or children is this about?"},
		{"the recording's categories end with general, not other", category.Required && values[len(values)-1] == "general" && !slices.Contains(values, "other")},
		{"the review's final page says Submit contribution", review.SubmitKey() == "forms.submit.contribution"},
		{"the review cannot be sent to a foster carer's own record", !review.SendableTo("self") && review.SendableTo("parent")},
		{"the review asks what should happen next", next.Required && next.Type == formdef.TypeTextarea},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !c.ok {
				t.Fatal("it does not")
			}
		})
	}
}

func TestBuiltinTemplatesAcceptAFullAnswerAndRefuseAnEmptyOne(t *testing.T) {
	all, err := formdef.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	for _, tpl := range all {
		t.Run(tpl.Key+" refuses an empty answer on its first page", func(t *testing.T) {
			if page, errs := tpl.ValidateAll(formdef.Answers{}, today); page != 0 || len(errs) == 0 {
				t.Fatalf("page %d, errors %v", page, errs)
			}
		})
		t.Run(tpl.Key+" accepts every field answered", func(t *testing.T) {
			a := formdef.Answers{}
			for _, p := range tpl.Pages {
				for _, f := range p.Fields {
					switch {
					case f.IsChoice():
						a[f.Name] = []string{f.Choices()[0].Value}
					case f.Type == formdef.TypeDate:
						a[f.Name] = []string{"2026-06-01"}
					case f.Type == formdef.TypeNumber:
						a[f.Name] = []string{"1"}
					default:
						a[f.Name] = []string{"12:00"}
					}
				}
			}
			if page, errs := tpl.ValidateAll(formdef.NormaliseAll(tpl, a), today); page != -1 || errs != nil {
				t.Fatalf("page %d, errors %v", page, errs)
			}
		})
	}
}

func TestValidateAllFindsTheFirstPageInError(t *testing.T) {
	tpl := mustParse(t, `
key: pages
title: {en: Pages, cy: Tudalennau}
pages:
  - title: {en: One, cy: Un}
    fields:
      - {name: first, type: text, required: true, label: {en: First, cy: Cyntaf}}
  - title: {en: Two, cy: Dau}
    fields:
      - {name: second, type: text, required: true, label: {en: Second, cy: Ail}}
  - title: {en: Three, cy: Tri}
    fields:
      - {name: third, type: text, required: true, label: {en: Third, cy: Trydydd}}
`)
	cases := []struct {
		name     string
		answers  formdef.Answers
		wantPage int
		wantErr  string
	}{
		{"nothing answered stops on the first page", formdef.Answers{}, 0, "first"},
		{"the first page answered stops on the second", formdef.Answers{"first": {"a"}}, 1, "second"},
		{"a gap on the last page stops there", formdef.Answers{"first": {"a"}, "second": {"b"}}, 2, "third"},
		{"every page answered has no page in error", formdef.Answers{"first": {"a"}, "second": {"b"}, "third": {"c"}}, -1, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			page, errs := tpl.ValidateAll(c.answers, today)
			got := ""
			if len(errs) > 0 {
				got = errs[0].Field
			}
			if page != c.wantPage || got != c.wantErr {
				t.Fatalf("page %d field %q, want %d %q", page, got, c.wantPage, c.wantErr)
			}
		})
	}
}

func TestDigest(t *testing.T) {
	base := mustParse(t, matrixYAML)
	cases := []struct {
		name string
		yaml string
		same bool
	}{
		{"a second parse of the same template gives the same digest", matrixYAML, true},
		{"a comment and different layout give the same digest", "# a comment\n" + strings.Replace(matrixYAML, "title: {en: Matrix, cy: Matrics}", "title:\n  en: Matrix\n  cy: Matrics", 1), true},
		{"writing a default out gives the same digest", strings.Replace(matrixYAML, "{name: notes, type: textarea,", "{name: notes, type: textarea, max_length: 10000,", 1), true},
		{"a changed English label gives another digest", strings.Replace(matrixYAML, "label: {en: Pets,", "label: {en: Animals,", 1), false},
		{"a changed Welsh label gives another digest", strings.Replace(matrixYAML, "cy: Anifeiliaid anwes", "cy: Anifeiliaid", 1), false},
		{"a changed rule gives another digest", strings.Replace(matrixYAML, "max: 12", "max: 13", 1), false},
		{"a field made required gives another digest", strings.Replace(matrixYAML, "{name: nickname, type: text,", "{name: nickname, type: text, required: true,", 1), false},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if i > 0 && c.yaml == matrixYAML {
				t.Fatal("the case changes nothing in the YAML")
			}
			other := mustParse(t, c.yaml)
			if got := base.Digest() == other.Digest(); got != c.same {
				t.Fatalf("same digest %v, want %v", got, c.same)
			}
			if len(base.Digest()) != 64 {
				t.Fatalf("digest %q is not sha256 hex", base.Digest())
			}
		})
	}
}

func TestNormalise(t *testing.T) {
	tpl := mustParse(t, matrixYAML+`
  - title: {en: Second, cy: Ail}
    fields:
      - {name: later, type: text, label: {en: Later, cy: Hwyrach}}
`)
	cases := []struct {
		name string
		page int
		in   formdef.Answers
		want formdef.Answers
	}{
		{"a field of another page is dropped", 0, formdef.Answers{"full_name": {"Alex"}, "later": {"x"}}, formdef.Answers{"full_name": {"Alex"}}},
		{"a field the template does not have is dropped", 0, formdef.Answers{"is_admin": {"true"}}, formdef.Answers{}},
		{"the second page keeps only its own field", 1, formdef.Answers{"full_name": {"Alex"}, "later": {"x"}}, formdef.Answers{"later": {"x"}}},
		{"a page that does not exist keeps nothing", 2, formdef.Answers{"later": {"x"}}, formdef.Answers{}},
		{"unknown checkbox values are dropped", 0, formdef.Answers{"pets": {"dog", "dragon", "cat"}}, formdef.Answers{"pets": {"cat", "dog"}}},
		{"checkbox values are kept once, in the options' order", 0, formdef.Answers{"pets": {"fish", "cat", "fish"}}, formdef.Answers{"pets": {"cat", "fish"}}},
		{"only unknown checkbox values leave no answer", 0, formdef.Answers{"pets": {"dragon"}}, formdef.Answers{}},
		{"an unknown radio value is dropped", 0, formdef.Answers{"colour": {"green"}, "agree": {"maybe"}, "town": {"london"}}, formdef.Answers{}},
		{"a known radio value is kept", 0, formdef.Answers{"colour": {" blue "}}, formdef.Answers{"colour": {"blue"}}},
		{"text is trimmed and empty values dropped", 0, formdef.Answers{"full_name": {"  Alex  "}, "nickname": {"   "}, "notes": {""}}, formdef.Answers{"full_name": {"Alex"}}},
		{"a single-value field keeps its first value", 0, formdef.Answers{"full_name": {"Alex", "Sam"}}, formdef.Answers{"full_name": {"Alex"}}},
		{"a text field is one line", 0, formdef.Answers{"nickname": {"Al\r\nex\tB"}}, formdef.Answers{"nickname": {"Al ex B"}}},
		{"a textarea keeps its lines with plain newlines", 0, formdef.Answers{"notes": {"one\r\ntwo\rthree\n"}}, formdef.Answers{"notes": {"one\ntwo\nthree"}}},
		{"control characters and invalid UTF-8 are removed", 0, formdef.Answers{"notes": {"a\x00b\x07c\xffd"}}, formdef.Answers{"notes": {"abc\uFFFDd"}}},
		{"a number loses spaces, commas and extra zeros", 0, formdef.Answers{"any_number": {" 1,000.50 "}, "children": {"007"}, "weight": {"-0"}}, formdef.Answers{"any_number": {"1000.5"}, "children": {"7"}, "weight": {"0"}}},
		{"a number that is not one is kept as typed", 0, formdef.Answers{"any_number": {"ten"}}, formdef.Answers{"any_number": {"ten"}}},
		{"a date from the date picker is kept", 0, formdef.Answers{"any_date": {"2026-12-01"}}, formdef.Answers{"any_date": {"2026-12-01"}}},
		{"a date typed day/month/year becomes YYYY-MM-DD", 0, formdef.Answers{"any_date": {"1/12/2026"}, "birthday": {"09.03.1990"}, "meeting": {"31 12 2026"}}, formdef.Answers{"any_date": {"2026-12-01"}, "birthday": {"1990-03-09"}, "meeting": {"2026-12-31"}}},
		{"a date that is not real is kept as typed", 0, formdef.Answers{"any_date": {"31/4/2026"}}, formdef.Answers{"any_date": {"31/4/2026"}}},
		{"a time typed 9.05 becomes 09:05", 0, formdef.Answers{"at": {"9.05"}}, formdef.Answers{"at": {"09:05"}}},
		{"a time that is not one is kept as typed", 0, formdef.Answers{"at": {"no"}}, formdef.Answers{"at": {"no"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := formdef.Normalise(tpl, c.page, c.in)
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Fatalf("got %v, want %v", got, c.want)
			}
		})
	}
}

func TestDisplay(t *testing.T) {
	tpl := mustParse(t, matrixYAML)
	a := formdef.Answers{
		"full_name": {"Alex"}, "agree": {"yes"}, "colour": {"blue"}, "pets": {"cat", "fish"},
		"town": {"cardiff"}, "any_date": {"2026-12-01"}, "weight": {"2.5"},
	}
	cases := []struct {
		field, lang, want string
	}{
		{"full_name", "en", "Alex"},
		{"full_name", "cy", "Alex"},
		{"agree", "en", "Yes"},
		{"agree", "cy", "Ie"},
		{"colour", "en", "Blue"},
		{"colour", "cy", "Glas"},
		{"pets", "en", "Cat, Fish"},
		{"pets", "cy", "Cath, Pysgodyn"},
		{"town", "en", "Cardiff"},
		{"town", "cy", "Caerdydd"},
		{"any_date", "en", "1 December 2026"},
		{"any_date", "cy", "1 Rhagfyr 2026"},
		{"weight", "cy", "2.5"},
		{"nickname", "en", ""},
		{"meeting", "cy", ""},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("field=%s lang=%s shows %q", c.field, c.lang, c.want), func(t *testing.T) {
			f, _ := tpl.Field(c.field)
			if got := f.Display(a, c.lang, month(c.lang)); got != c.want {
				t.Fatalf("got %q", got)
			}
		})
	}
	t.Run("a no answer shows Na in Welsh", func(t *testing.T) {
		f, _ := tpl.Field("agree")
		if got := f.Display(formdef.Answers{"agree": {"no"}}, "cy", month("cy")); got != "Na" {
			t.Fatalf("got %q", got)
		}
	})
}

func TestTextIn(t *testing.T) {
	tx := formdef.Text{EN: "Yes", CY: "Ie"}
	cases := []struct{ lang, want string }{{"cy", "Ie"}, {"en", "Yes"}, {"", "Yes"}, {"fr", "Yes"}}
	for _, c := range cases {
		t.Run(fmt.Sprintf("lang=%q gives %q", c.lang, c.want), func(t *testing.T) {
			if got := tx.In(c.lang); got != c.want {
				t.Fatalf("got %q", got)
			}
		})
	}
}

func TestLoadNamesTheFile(t *testing.T) {
	good := "key: good\ntitle: {en: Good, cy: Da}\npages:\n  - title: {en: One, cy: Un}\n    fields:\n      - {name: a, type: text, label: {en: A, cy: A}}\n"
	cases := []struct {
		name string
		fsys fstest.MapFS
		want string
	}{
		{"a file whose key is not its name is refused", fstest.MapFS{"better.yaml": {Data: []byte(good)}}, `better.yaml: key "good" is not the file's name "better"`},
		{"a bad template's error starts with its file", fstest.MapFS{"good.yaml": {Data: []byte(strings.Replace(good, "cy: Da", "fr: Bon", 1))}}, "good.yaml: formdef: "},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := formdef.Load(c.fsys)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want %q", err, c.want)
			}
		})
	}
}

// TestTheLocalesHoldEveryMessage: the portal's locales have each message
// this package hands out, with the same words.
func TestTheLocalesHoldEveryMessage(t *testing.T) {
	b, err := i18n.Load(os.DirFS("../../locales"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range formdef.Messages {
		for lang, text := range map[string]string{"en": m.Text.EN, "cy": m.Text.CY} {
			want := strings.NewReplacer("{{.Label}}", "the time", "{{.LabelStart}}", "The time", "{{.Min}}", "1", "{{.Max}}", "2").Replace(text)
			if got := b.For(lang).T(m.ID, "Label", "the time", "LabelStart", "The time", "Min", "1", "Max", "2"); got != want {
				t.Errorf("%s %s = %q in locales/, want %q", lang, m.ID, got, want)
			}
		}
	}
}
