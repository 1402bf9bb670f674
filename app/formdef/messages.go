package formdef

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Rules an answer can break. An Error's Key is "forms.error." followed by
// the rule, except that a missing choice is "forms.error.required_choice"
// ("Select …" rather than "Enter …"). A template's errors: are keyed by rule.
const (
	RuleRequired    = "required"
	RuleTooLong     = "too_long"
	RuleTooShort    = "too_short"
	RuleNumber      = "number"
	RuleInteger     = "integer"
	RuleTooSmall    = "too_small"
	RuleTooLarge    = "too_large"
	RuleDate        = "date"
	RuleTime        = "time"
	RulePast        = DatePast
	RuleFuture      = DateFuture
	RuleNotFuture   = DateNotFuture
	RuleMinSelected = "min_selected"
	RuleMaxSelected = "max_selected"
)

// Message ids of the errors Validate returns and of the submit buttons.
const (
	KeyRequired       = "forms.error.required"
	KeyRequiredChoice = "forms.error.required_choice"
	KeyTooLong        = "forms.error.too_long"
	KeyTooShort       = "forms.error.too_short"
	KeyNumber         = "forms.error.number"
	KeyInteger        = "forms.error.integer"
	KeyTooSmall       = "forms.error.too_small"
	KeyTooLarge       = "forms.error.too_large"
	KeyDate           = "forms.error.date"
	KeyTime           = "forms.error.time"
	KeyPast           = "forms.error.past"
	KeyFuture         = "forms.error.future"
	KeyNotFuture      = "forms.error.not_future"
	KeyMinSelected    = "forms.error.min_selected"
	KeyMaxSelected    = "forms.error.max_selected"
)

// Message is one message a caller adds to its locales.
type Message struct {
	ID   string
	Text Text
}

// Messages are every message id this package hands out, with their
// English and Welsh texts (go-i18n templates). Error messages take the data
// of Error.Data: {{.Label}} is the field's name in a sentence ("your
// name"), {{.LabelStart}} the same starting a sentence ("Your name"), and
// {{.Min}} / {{.Max}} the rule's bound, already formatted ("10,000").
// Welsh messages start with the field's name and a colon, so the name
// never has to mutate after "Rhowch" or "i".
var Messages = []Message{
	{KeyRequired, Text{EN: "Enter {{.Label}}", CY: "{{.LabelStart}}: rhowch ateb"}},
	{KeyRequiredChoice, Text{EN: "Select {{.Label}}", CY: "{{.LabelStart}}: dewiswch ateb"}},
	{KeyTooLong, Text{EN: "{{.LabelStart}} must be {{.Max}} characters or fewer", CY: "{{.LabelStart}}: defnyddiwch {{.Max}} nod neu lai"}},
	{KeyTooShort, Text{EN: "{{.LabelStart}} must be {{.Min}} characters or more", CY: "{{.LabelStart}}: defnyddiwch {{.Min}} nod neu fwy"}},
	{KeyNumber, Text{EN: "{{.LabelStart}} must be a number", CY: "{{.LabelStart}}: rhowch rif"}},
	{KeyInteger, Text{EN: "{{.LabelStart}} must be a whole number", CY: "{{.LabelStart}}: rhowch rif cyfan"}},
	{KeyTooSmall, Text{EN: "{{.LabelStart}} must be {{.Min}} or more", CY: "{{.LabelStart}}: rhowch {{.Min}} neu fwy"}},
	{KeyTooLarge, Text{EN: "{{.LabelStart}} must be {{.Max}} or less", CY: "{{.LabelStart}}: rhowch {{.Max}} neu lai"}},
	{KeyDate, Text{EN: "{{.LabelStart}} must be a real date", CY: "{{.LabelStart}}: rhowch ddyddiad go iawn"}},
	{KeyTime, Text{EN: "{{.LabelStart}} must be a real time, like 14:30", CY: "{{.LabelStart}}: rhowch amser go iawn, fel 14:30"}},
	{KeyPast, Text{EN: "{{.LabelStart}} must be in the past", CY: "{{.LabelStart}}: rhaid i'r dyddiad fod yn y gorffennol"}},
	{KeyFuture, Text{EN: "{{.LabelStart}} must be in the future", CY: "{{.LabelStart}}: rhaid i'r dyddiad fod yn y dyfodol"}},
	{KeyNotFuture, Text{EN: "{{.LabelStart}} must be today or in the past", CY: "{{.LabelStart}}: rhaid i'r dyddiad fod heddiw neu yn y gorffennol"}},
	{KeyMinSelected, Text{EN: "Select at least {{.Min}} options for {{.Label}}", CY: "{{.LabelStart}}: dewiswch o leiaf {{.Min}} ateb"}},
	{KeyMaxSelected, Text{EN: "Select no more than {{.Max}} options for {{.Label}}", CY: "{{.LabelStart}}: peidiwch â dewis mwy na {{.Max}} ateb"}},
	{"forms.submit.submit", Text{EN: "Submit", CY: "Cyflwyno"}},
	{"forms.submit.contribution", Text{EN: "Submit Contribution", CY: "Cyflwyno cyfraniad"}},
}

// Error is one field's problem with a page's answers.
//
// To show it, a caller either calls Message with its translator, or, to
// keep a message id (web.FieldError), uses Key with Data(lang) as the
// template data; in that case it must first check Text, the template's
// own message, which is shown as it is when set.
type Error struct {
	Field string // the field's name (the input's id, for the error summary's link)
	Key   string // message id in Messages; names the rule even when Text is set
	Args  []any  // the rule's data as name, value pairs ("Max", "10,000"); Data adds the label
	Label Text   // how the message names the field (ErrorLabel, or the label)
	Text  Text   // the template's own message for this rule (errors: in YAML), or zero
}

// Data is the template data of e's message in lang: Args, then "Label"
// (the field's name in a sentence, in English lower-cased unless the
// template gave error_label) and "LabelStart" (starting a sentence).
func (e Error) Data(lang string) []any {
	name := strings.TrimSpace(e.Label.In(lang))
	mid := name
	if lang != "cy" {
		mid = lowerFirst(name)
	}
	return append(append([]any{}, e.Args...), "Label", mid, "LabelStart", upperFirst(name))
}

// Message is e in lang: the template's own text when it has one, or else
// the message e.Key translated by t (i18n.Localizer.T fits: an id, then
// name, value pairs).
func (e Error) Message(lang string, t func(id string, args ...any) string) string {
	if !e.Text.IsZero() {
		return e.Text.In(lang)
	}
	return t(e.Key, e.Data(lang)...)
}

// In is m's text in lang with data (name, value pairs) filled in, for
// callers and tests without a bundle; it understands only the {{.Name}}
// fields Messages use.
func (m Message) In(lang string, args ...any) string {
	s := m.Text.In(lang)
	for i := 0; i+1 < len(args); i += 2 {
		if k, ok := args[i].(string); ok {
			s = strings.ReplaceAll(s, "{{."+k+"}}", toString(args[i+1]))
		}
	}
	return s
}

// Lookup finds a message of Messages by id.
func Lookup(id string) (Message, bool) {
	for _, m := range Messages {
		if m.ID == id {
			return m, true
		}
	}
	return Message{}, false
}

func toString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case int:
		return groupDigits(strconv.Itoa(v))
	}
	return ""
}

// groupDigits puts a comma between thousands of the whole part of a
// decimal number ("10000" → "10,000", "-1234.5" → "-1,234.5"), as English
// and Welsh both write them.
func groupDigits(s string) string {
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	whole, frac, hasFrac := strings.Cut(s, ".")
	if len(whole) <= 3 {
		return sign + s
	}
	var b strings.Builder
	for i, c := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if hasFrac {
		return sign + b.String() + "." + frac
	}
	return sign + b.String()
}

// lowerFirst lower-cases the first letter of s unless the second is upper
// case too, so "Your name" becomes "your name" but "GP surgery" stays.
func lowerFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	if r2, _ := utf8.DecodeRuneInString(s[n:]); unicode.IsUpper(r2) {
		return s
	}
	return string(unicode.ToLower(r)) + s[n:]
}

func upperFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}
