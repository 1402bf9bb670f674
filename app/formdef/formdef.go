// Package formdef holds form templates as data: a council adds a form by
// adding a YAML file under templates/, without a code change. A template
// has a title, pages and fields, every text in English and Welsh; this
// package parses templates, cleans and checks a page's answers, and shows
// answers as people read them. It knows nothing of HTTP or HTML.
//
// Invariants:
//   - Parse is strict: an unknown key, a rule on a field type it does not
//     apply to, a missing language or a bad name is an error naming the
//     page and field, so a template that loads is a template that works.
//   - Every text is plain text in both English and Welsh; pages show it
//     through html/template, which escapes it, never as markup.
//   - A text answer is at most 50,000 characters (MaxLengthCeiling), whatever
//     a template says; a choice answer is only ever a value the template
//     offers (Normalise drops the rest, Validate refuses them).
//   - Validate returns a message id listed in Messages and the data the
//     message needs, never a message in one language: the caller picks
//     the page's language.
//   - The same template always has the same Digest and any change to its
//     meaning gives another, so a stored answer is tied to the exact
//     version of the form it answered.
//   - Dates are calendar days, "today" comes from the caller's clock.
//
// A template, in short (see Template and Field for every key):
//
//	key: example_form              # snake_case, the file's name
//	title: {en: An example, cy: Enghraifft}
//	submit: contribution           # or submit, the default
//	for: [parent, guardian]        # default: every relationship
//	pages:
//	  - title: {en: About you, cy: Amdanoch chi}
//	    fields:
//	      - name: your_name
//	        type: text
//	        required: true
//	        label: {en: Your name, cy: Eich enw}
//	      - name: taking_part
//	        type: radios
//	        required: true
//	        label: {en: "How would you like to take part?", cy: "Sut hoffech chi gymryd rhan?"}
//	        error_label: {en: how you would like to take part, cy: Sut hoffech chi gymryd rhan}
//	        options:
//	          - {value: in_person, label: {en: In person, cy: Wyneb yn wyneb}}
//	          - {value: phone, label: {en: By phone, cy: Dros y ffôn}}
//
// A caller shows a page from its fields, then on POST runs Normalise,
// Validate (422 with the errors, each shown with Error.Message) and stores
// the normalised answers with the template's Digest; the final submit runs
// ValidateAll over every page's answers.
package formdef

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Field types.
const (
	TypeText       = "text"       // one line
	TypeTextarea   = "textarea"   // long text; the page shows a character count
	TypeNumber     = "number"     // a decimal number, optionally whole
	TypeDate       = "date"       // a calendar day, YYYY-MM-DD
	TypeTime       = "time"       // a time of day, HH:MM (24-hour)
	TypeYesNo      = "yesno"      // "yes" or "no"
	TypeRadios     = "radios"     // one of the options
	TypeCheckboxes = "checkboxes" // any number of the options
	TypeSelect     = "select"     // one of the options, as a drop-down
)

// Types lists the field types, in the order this documentation gives them.
var Types = []string{TypeText, TypeTextarea, TypeNumber, TypeDate, TypeTime, TypeYesNo, TypeRadios, TypeCheckboxes, TypeSelect}

// Date rules of a date field (Field.Date).
const (
	DatePast      = "past"       // before today
	DateFuture    = "future"     // after today
	DateNotFuture = "not_future" // today or before
)

// Submit buttons a template's final page can show (Template.Submit).
const (
	SubmitSubmit       = "submit"       // "Submit"
	SubmitContribution = "contribution" // "Submit Contribution" (guide 000)
)

// Relationships a template can be sent to (Template.For). They are the
// relationships a holder has to a record (access.Relationships); formdef
// repeats them to stay free of the database.
var Relationships = []string{"parent", "guardian", "foster_carer", "self", "network"}

// Length limits of text answers, in characters (Unicode code points).
const (
	DefaultTextMaxLength     = 200
	DefaultTextareaMaxLength = 10000
	MaxLengthCeiling         = 50000
)

// YesNo values of a yesno field.
const (
	Yes = "yes"
	No  = "no"
)

// YesNoOptions are the options of every yesno field, in the order a page
// offers them.
var YesNoOptions = []Option{
	{Value: Yes, Label: Text{EN: "Yes", CY: "Ie"}},
	{Value: No, Label: Text{EN: "No", CY: "Na"}},
}

// Text is a text in English and Welsh; in YAML {en: ..., cy: ...}.
type Text struct {
	EN string `json:"en,omitempty"`
	CY string `json:"cy,omitempty"`
}

// In is the text in lang: Welsh for "cy" (English if the Welsh is
// missing, which Parse does not allow), English for any other language.
func (t Text) In(lang string) string {
	if lang == "cy" && t.CY != "" {
		return t.CY
	}
	return t.EN
}

// IsZero reports whether neither language is given.
func (t Text) IsZero() bool { return t.EN == "" && t.CY == "" }

// UnmarshalYAML reads {en: ..., cy: ...}, refusing any other key and a
// text given as a plain string (a Welsh reader would be left without it).
func (t *Text) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: a text must be {en: ..., cy: ...}", n.Line)
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
			return fmt.Errorf("line %d: the %q text must be a string", v.Line, k.Value)
		}
		if seen[k.Value] {
			return fmt.Errorf("line %d: %q is given twice", k.Line, k.Value)
		}
		seen[k.Value] = true
		switch k.Value {
		case "en":
			t.EN = v.Value
		case "cy":
			t.CY = v.Value
		default:
			return fmt.Errorf("line %d: unknown language %q in a text (only en and cy)", k.Line, k.Value)
		}
	}
	return nil
}

// Template is one form: what it is called, who it can be sent to, and its
// pages in order.
type Template struct {
	Key    string   `yaml:"key" json:"key"`       // snake_case, unique among templates
	Title  Text     `yaml:"title" json:"title"`   // the form's name
	Intro  Text     `yaml:"intro" json:"intro"`   // optional, shown above the first page
	Submit string   `yaml:"submit" json:"submit"` // SubmitSubmit (the default) or SubmitContribution
	For    []string `yaml:"for" json:"for"`       // relationships it can be sent to; Parse fills in all when absent
	Pages  []Page   `yaml:"pages" json:"pages"`
}

// Page is one page of a form: a heading and its fields.
type Page struct {
	Title  Text    `yaml:"title" json:"title"`
	Fields []Field `yaml:"fields" json:"fields"`
}

// Field is one question. Which rules apply depends on Type; Parse refuses
// a rule on a type it does not apply to.
type Field struct {
	Name     string `yaml:"name" json:"name"` // snake_case, unique in the template; the answer's key
	Type     string `yaml:"type" json:"type"` // one of Types
	Label    Text   `yaml:"label" json:"label"`
	Hint     Text   `yaml:"hint" json:"hint,omitzero"`
	Required bool   `yaml:"required" json:"required,omitempty"`

	// ErrorLabel names the field inside error messages: in English lower
	// case to follow "Enter" or "Select" ("your name", "how you would like
	// to take part"), in Welsh the plain form that starts a message
	// ("Eich enw"; Welsh messages put it first, so it never mutates).
	// Optional, the label is used when absent; required when the label
	// is a question ("…?"), which reads badly after "Enter".
	ErrorLabel Text `yaml:"error_label" json:"error_label,omitzero"`

	// MinLength and MaxLength (text, textarea) count characters. Parse
	// sets MaxLength to the type's default when absent.
	MinLength int `yaml:"min_length" json:"min_length,omitempty"`
	MaxLength int `yaml:"max_length" json:"max_length,omitempty"`

	// Min, Max and Integer (number) bound the value and ask for a whole number.
	Min     *float64 `yaml:"min" json:"min,omitempty"`
	Max     *float64 `yaml:"max" json:"max,omitempty"`
	Integer bool     `yaml:"integer" json:"integer,omitempty"`

	// Date (date) is "", DatePast, DateFuture or DateNotFuture.
	Date string `yaml:"date" json:"date,omitempty"`

	// MinSelected and MaxSelected (checkboxes) bound how many options are
	// ticked when any is; 0 means no bound.
	MinSelected int `yaml:"min_selected" json:"min_selected,omitempty"`
	MaxSelected int `yaml:"max_selected" json:"max_selected,omitempty"`

	// Options (radios, checkboxes, select) are the choices, in order.
	Options []Option `yaml:"options" json:"options,omitempty"`

	// Errors are the template's own messages, by rule (see Rules): a
	// GOV.UK-style specific message such as "Select yes if you will come
	// to the meeting". Keys must be rules this field can break.
	Errors map[string]Text `yaml:"errors" json:"errors,omitempty"`
}

// Option is one choice of a radios, checkboxes or select field.
type Option struct {
	Value string `yaml:"value" json:"value"` // snake_case, unique in the field; what is stored
	Label Text   `yaml:"label" json:"label"`
}

// Choices are the options a page offers for f: YesNoOptions for a yesno
// field, the template's options for radios, checkboxes and select, none
// for other types.
func (f Field) Choices() []Option {
	if f.Type == TypeYesNo {
		return slices.Clone(YesNoOptions)
	}
	return f.Options
}

// IsChoice reports whether f's answer is picked from Choices rather than typed.
func (f Field) IsChoice() bool {
	switch f.Type {
	case TypeYesNo, TypeRadios, TypeCheckboxes, TypeSelect:
		return true
	}
	return false
}

// Field finds a field of t by name.
func (t *Template) Field(name string) (Field, bool) {
	for _, p := range t.Pages {
		for _, f := range p.Fields {
			if f.Name == name {
				return f, true
			}
		}
	}
	return Field{}, false
}

// SendableTo reports whether t can be sent to a holder with relationship rel.
func (t *Template) SendableTo(rel string) bool { return slices.Contains(t.For, rel) }

// SubmitKey is the message id (in Messages) of the final page's button.
func (t *Template) SubmitKey() string { return "forms.submit." + t.Submit }

var snake = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// maxName bounds names and values; they become keys in stored answers.
const maxName = 64

// reserved are the words go-i18n reads as plural forms or message
// metadata when they are table keys ("other" = …). An option value that is
// one of them would break a message a caller keys by it (a locale table of
// a field's options), so none may be.
var reserved = []string{"zero", "one", "two", "few", "many", "other", "description", "hash", "id", "leftdelim", "rightdelim"}

func checkName(kind, s string) error {
	switch {
	case s == "":
		return fmt.Errorf("%s is missing", kind)
	case len(s) > maxName:
		return fmt.Errorf("%s %q is longer than %d characters", kind, s, maxName)
	case !snake.MatchString(s):
		return fmt.Errorf("%s %q is not snake_case (lower-case letters, digits and single underscores, starting with a letter)", kind, s)
	}
	return nil
}

// checkText requires both languages of a text, and no control characters
// but the newline.
func checkText(what string, t Text, optional bool) error {
	if optional && t.IsZero() {
		return nil
	}
	for _, l := range []struct{ name, s string }{{"English (en)", t.EN}, {"Welsh (cy)", t.CY}} {
		if strings.TrimSpace(l.s) == "" {
			return fmt.Errorf("%s has no %s text", what, l.name)
		}
		if !utf8.ValidString(l.s) || strings.ContainsFunc(l.s, func(r rune) bool { return r != '\n' && unicode.IsControl(r) }) {
			return fmt.Errorf("%s: the %s text holds a control character or invalid UTF-8", what, l.name)
		}
	}
	return nil
}

// Parse reads one template from YAML and checks it: unknown keys are
// refused, every rule is checked against its field's type, every text
// must have both languages, and defaults are filled in (Submit, For,
// MaxLength). An error names the page and field at fault; Builtin adds
// the file name.
func Parse(data []byte) (*Template, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var t Template
	if err := dec.Decode(&t); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("formdef: the template is empty")
		}
		return nil, fmt.Errorf("formdef: %w", err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("formdef: a template file holds one YAML document only")
	}
	if err := t.check(); err != nil {
		if t.Key != "" {
			return nil, fmt.Errorf("formdef: template %q: %w", t.Key, err)
		}
		return nil, fmt.Errorf("formdef: %w", err)
	}
	return &t, nil
}

// check validates t and fills in its defaults.
func (t *Template) check() error {
	if err := checkName("key", t.Key); err != nil {
		return err
	}
	if err := checkText("title", t.Title, false); err != nil {
		return err
	}
	if err := checkText("intro", t.Intro, true); err != nil {
		return err
	}
	switch t.Submit {
	case "":
		t.Submit = SubmitSubmit
	case SubmitSubmit, SubmitContribution:
	default:
		return fmt.Errorf("submit %q is neither %q nor %q", t.Submit, SubmitSubmit, SubmitContribution)
	}
	if len(t.For) == 0 {
		t.For = slices.Clone(Relationships)
	}
	for i, r := range t.For {
		if !slices.Contains(Relationships, r) {
			return fmt.Errorf("for: %q is not one of %s", r, strings.Join(Relationships, ", "))
		}
		if slices.Contains(t.For[:i], r) {
			return fmt.Errorf("for: %q is given twice", r)
		}
	}
	if len(t.Pages) == 0 {
		return errors.New("the template has no pages")
	}
	names := map[string]string{}
	for i := range t.Pages {
		p := &t.Pages[i]
		where := fmt.Sprintf("page %d", i+1)
		if err := checkText(where+" title", p.Title, false); err != nil {
			return err
		}
		if len(p.Fields) == 0 {
			return fmt.Errorf("%s has no fields", where)
		}
		for j := range p.Fields {
			f := &p.Fields[j]
			if err := checkName(where+": field name", f.Name); err != nil {
				return err
			}
			at := fmt.Sprintf("%s, field %q", where, f.Name)
			if prev, ok := names[f.Name]; ok {
				return fmt.Errorf("%s: the name is used twice (also on %s)", at, prev)
			}
			names[f.Name] = where
			if err := f.check(); err != nil {
				return fmt.Errorf("%s: %w", at, err)
			}
		}
	}
	return nil
}

// check validates one field and fills in its defaults.
func (f *Field) check() error {
	for _, step := range []func() error{f.checkWords, f.checkRulesApply, f.checkBounds, f.checkErrors} {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

// checkWords checks the type and the field's own words.
func (f *Field) checkWords() error {
	if !slices.Contains(Types, f.Type) {
		return fmt.Errorf("unknown type %q (use one of %s)", f.Type, strings.Join(Types, ", "))
	}
	if err := checkText("label", f.Label, false); err != nil {
		return err
	}
	if err := checkText("hint", f.Hint, true); err != nil {
		return err
	}
	if err := checkText("error_label", f.ErrorLabel, true); err != nil {
		return err
	}
	if f.ErrorLabel.IsZero() && (strings.HasSuffix(strings.TrimSpace(f.Label.EN), "?") || strings.HasSuffix(strings.TrimSpace(f.Label.CY), "?")) {
		return errors.New("the label is a question, so give error_label: how messages name the field (\"Enter …\", \"Select …\")")
	}
	return nil
}

// checkRulesApply refuses a rule set on a type it does not apply to.
func (f *Field) checkRulesApply() error {
	text := f.Type == TypeText || f.Type == TypeTextarea
	only := func(rule string, set bool, ok bool, types string) error {
		if set && !ok {
			return fmt.Errorf("%s applies to %s fields only, not to a %s field", rule, types, f.Type)
		}
		return nil
	}
	for _, err := range []error{
		only("max_length", f.MaxLength != 0, text, "text and textarea"),
		only("min_length", f.MinLength != 0, text, "text and textarea"),
		only("min", f.Min != nil, f.Type == TypeNumber, "number"),
		only("max", f.Max != nil, f.Type == TypeNumber, "number"),
		only("integer", f.Integer, f.Type == TypeNumber, "number"),
		only("date", f.Date != "", f.Type == TypeDate, "date"),
		only("min_selected", f.MinSelected != 0, f.Type == TypeCheckboxes, "checkboxes"),
		only("max_selected", f.MaxSelected != 0, f.Type == TypeCheckboxes, "checkboxes"),
		only("options", f.Options != nil, f.Type == TypeRadios || f.Type == TypeCheckboxes || f.Type == TypeSelect, "radios, checkboxes and select"),
	} {
		if err != nil {
			return err
		}
	}
	return nil
}

// checkBounds checks the rules of the field's type, and sets a text
// field's default length.
func (f *Field) checkBounds() error {
	switch f.Type {
	case TypeText, TypeTextarea:
		return f.checkLength()
	case TypeNumber:
		for _, b := range []*float64{f.Min, f.Max} {
			if b != nil && (math.IsNaN(*b) || math.IsInf(*b, 0)) {
				return errors.New("min and max must be ordinary numbers")
			}
		}
		if f.Min != nil && f.Max != nil && *f.Min > *f.Max {
			return fmt.Errorf("min %v is more than max %v", *f.Min, *f.Max)
		}
	case TypeDate:
		switch f.Date {
		case "", DatePast, DateFuture, DateNotFuture:
		default:
			return fmt.Errorf("date %q is not one of %s, %s, %s", f.Date, DatePast, DateFuture, DateNotFuture)
		}
	case TypeRadios, TypeCheckboxes, TypeSelect:
		if err := f.checkOptions(); err != nil {
			return err
		}
		if f.Type == TypeCheckboxes {
			return f.checkSelected()
		}
	}
	return nil
}

func (f *Field) checkLength() error {
	if f.MaxLength < 0 || f.MinLength < 0 {
		return errors.New("min_length and max_length cannot be negative")
	}
	if f.MaxLength == 0 {
		f.MaxLength = DefaultTextMaxLength
		if f.Type == TypeTextarea {
			f.MaxLength = DefaultTextareaMaxLength
		}
	}
	if f.MaxLength > MaxLengthCeiling {
		return fmt.Errorf("max_length %d is over the ceiling of %d characters", f.MaxLength, MaxLengthCeiling)
	}
	if f.MinLength > f.MaxLength {
		return fmt.Errorf("min_length %d is more than max_length %d", f.MinLength, f.MaxLength)
	}
	return nil
}

func (f *Field) checkOptions() error {
	least := 2
	if f.Type == TypeCheckboxes {
		least = 1 // a single "I agree" box is a real question
	}
	if len(f.Options) < least {
		return fmt.Errorf("a %s field needs at least %d options", f.Type, least)
	}
	for i, o := range f.Options {
		if err := checkName("option value", o.Value); err != nil {
			return err
		}
		if slices.Contains(reserved, o.Value) {
			return fmt.Errorf("option value %q is a word go-i18n reserves; choose another (for example \"general\" instead of \"other\")", o.Value)
		}
		if slices.ContainsFunc(f.Options[:i], func(p Option) bool { return p.Value == o.Value }) {
			return fmt.Errorf("option value %q is used twice", o.Value)
		}
		if err := checkText(fmt.Sprintf("option %q label", o.Value), o.Label, false); err != nil {
			return err
		}
	}
	return nil
}

func (f *Field) checkSelected() error {
	n := len(f.Options)
	switch {
	case f.MinSelected < 0 || f.MaxSelected < 0:
		return errors.New("min_selected and max_selected cannot be negative")
	case f.MinSelected == 1:
		return errors.New("min_selected 1 is what required: true means; use that")
	case f.MaxSelected == 1:
		return errors.New("max_selected 1 is a radios field; use that")
	case f.MinSelected > n || f.MaxSelected > n:
		return fmt.Errorf("min_selected and max_selected cannot be more than the %d options", n)
	case f.MaxSelected != 0 && f.MinSelected > f.MaxSelected:
		return fmt.Errorf("min_selected %d is more than max_selected %d", f.MinSelected, f.MaxSelected)
	}
	return nil
}

// checkErrors checks the field's own error messages: each for a rule it
// can break.
func (f *Field) checkErrors() error {
	can := f.Rules()
	for rule, msg := range f.Errors {
		if !slices.Contains(can, rule) {
			return fmt.Errorf("errors: %q is not a rule this field can break (it can break: %s)", rule, strings.Join(can, ", "))
		}
		if err := checkText("errors."+rule, msg, false); err != nil {
			return err
		}
	}
	return nil
}

// Rules lists the rules f's answer can break, as named in a template's
// errors: and as the last part of Error.Key ("required" is also
// "required_choice" for a choice field).
func (f Field) Rules() []string {
	var r []string
	if f.Required {
		r = append(r, RuleRequired)
	}
	switch f.Type {
	case TypeText, TypeTextarea:
		r = append(r, RuleTooLong)
		if f.MinLength > 0 {
			r = append(r, RuleTooShort)
		}
	case TypeNumber:
		r = append(r, RuleNumber)
		if f.Integer {
			r = append(r, RuleInteger)
		}
		if f.Min != nil {
			r = append(r, RuleTooSmall)
		}
		if f.Max != nil {
			r = append(r, RuleTooLarge)
		}
	case TypeDate:
		r = append(r, RuleDate)
		if f.Date != "" {
			r = append(r, f.Date)
		}
	case TypeTime:
		r = append(r, RuleTime)
	case TypeCheckboxes:
		if f.MinSelected > 0 {
			r = append(r, RuleMinSelected)
		}
		if f.MaxSelected > 0 {
			r = append(r, RuleMaxSelected)
		}
	}
	return r
}
