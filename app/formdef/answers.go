package formdef

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Answers are a form's answers by field name; checkboxes have several
// values, every other field one.
type Answers map[string][]string

// Get is the answer to a single-value field, or "".
func (a Answers) Get(name string) string {
	if v := a[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// maxNumberLength bounds a number as typed, so no answer is a long digit
// string no one means.
const maxNumberLength = 30

// dateLayout is how a date answer is stored, and what <input type="date">
// sends.
const dateLayout = "2006-01-02"

var (
	number = regexp.MustCompile(`^[+-]?(\d+(\.\d*)?|\.\d+)$`)
	// dmy is a date typed as day, month, year (a browser without a date
	// picker shows a plain text box): 1/12/2026, 1.12.2026, 1-12-2026, 1 12 2026.
	dmy = regexp.MustCompile(`^(\d{1,2})\s*[/.\- ]\s*(\d{1,2})\s*[/.\- ]\s*(\d{4})$`)
)

// Normalise cleans one page's answers as a browser posted them (page is
// an index of t.Pages; another index gives no answers):
//   - only this page's fields are kept, so a page cannot write another's;
//   - text is trimmed, made valid UTF-8 and rid of control characters; a
//     text field is one line, a textarea keeps its lines, with "\n" ends;
//   - empty values are dropped, and a single-value field keeps its first;
//   - a number loses spaces and thousands commas, and is written plainly
//     ("007" → "7", "1.50" → "1.5");
//   - a date is YYYY-MM-DD, what <input type="date"> sends; a date typed
//     as day/month/year (a browser without the date picker) is turned
//     into it. Something else is kept as typed, for Validate to refuse
//     and the page to show again;
//   - a choice keeps only values the field offers, checkboxes once each
//     and in the options' order.
func Normalise(t *Template, page int, in Answers) Answers {
	out := Answers{}
	if page < 0 || page >= len(t.Pages) {
		return out
	}
	for _, f := range t.Pages[page].Fields {
		if v := f.normalise(in[f.Name]); len(v) > 0 {
			out[f.Name] = v
		}
	}
	return out
}

// NormaliseAll is Normalise over every page, for answers gathered page by page.
func NormaliseAll(t *Template, in Answers) Answers {
	out := Answers{}
	for i := range t.Pages {
		for k, v := range Normalise(t, i, in) {
			out[k] = v
		}
	}
	return out
}

func (f Field) normalise(vals []string) []string {
	if f.Type == TypeCheckboxes {
		var out []string
		for _, o := range f.Options {
			if slices.ContainsFunc(vals, func(v string) bool { return strings.TrimSpace(v) == o.Value }) {
				out = append(out, o.Value)
			}
		}
		return out
	}
	if len(vals) == 0 {
		return nil
	}
	v := cleanText(vals[0], f.Type == TypeTextarea)
	switch f.Type {
	case TypeNumber:
		v = normaliseNumber(v)
	case TypeDate:
		v = normaliseDate(v)
	case TypeTime:
		v = normaliseTime(v)
	case TypeYesNo, TypeRadios, TypeSelect:
		// Security: only a value the template offers is ever stored.
		if !slices.ContainsFunc(f.Choices(), func(o Option) bool { return o.Value == v }) {
			v = ""
		}
	}
	if v == "" {
		return nil
	}
	return []string{v}
}

// cleanText trims s and makes it storable and showable.
func cleanText(s string, multiline bool) string {
	// Security: invalid UTF-8 and control characters (NUL above all, which
	// Postgres text refuses) never reach the database or a page.
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\r':
			if multiline {
				return '\n'
			}
			return ' '
		case r == '\t':
			return ' '
		case unicode.IsControl(r):
			return -1
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}

func normaliseNumber(s string) string {
	c := strings.NewReplacer(",", "", " ", "", "\u00a0", "").Replace(s)
	if len(c) > maxNumberLength || !number.MatchString(c) {
		return s
	}
	sign := ""
	if c[0] == '-' || c[0] == '+' {
		if c[0] == '-' {
			sign = "-"
		}
		c = c[1:]
	}
	whole, frac, _ := strings.Cut(c, ".")
	whole = strings.TrimLeft(whole, "0")
	frac = strings.TrimRight(frac, "0")
	if whole == "" {
		whole = "0"
	}
	if frac != "" {
		whole += "." + frac
	}
	if whole == "0" {
		sign = ""
	}
	return sign + whole
}

func normaliseDate(s string) string {
	if d, err := time.Parse(dateLayout, s); err == nil {
		return d.Format(dateLayout)
	}
	m := dmy.FindStringSubmatch(s)
	if m == nil {
		return s
	}
	day, _ := strconv.Atoi(m[1])
	month, _ := strconv.Atoi(m[2])
	year, _ := strconv.Atoi(m[3])
	if d, ok := realDate(year, month, day); ok {
		return d.Format(dateLayout)
	}
	return s
}

// clockTime is a time of day as stored: 00:00 to 23:59.
var clockTime = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)

// typedTime is a time as people type it: "9:05", "09.05", "9 05".
var typedTime = regexp.MustCompile(`^([0-9]{1,2})[:. ]([0-9]{2})$`)

// normaliseTime writes a typed time as HH:MM; anything else is kept as
// typed, for the check to refuse.
func normaliseTime(s string) string {
	m := typedTime.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return s
	}
	if len(m[1]) == 1 {
		m[1] = "0" + m[1]
	}
	return m[1] + ":" + m[2]
}

// realDate is the day year-month-day when there is one (no 31 April).
func realDate(year, month, day int) (time.Time, bool) {
	d := time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC)
	return d, d.Year() == year && int(d.Month()) == month && d.Day() == day
}

// parseDate reads a stored date answer.
func parseDate(s string) (time.Time, bool) {
	d, err := time.Parse(dateLayout, s)
	return d, err == nil && d.Year() >= 1000
}

// Validate checks one page's answers (page is an index of t.Pages; the
// caller has checked it) and returns the problems in field order, at most
// one per field, none when the page is fine. Answers are expected to come
// from Normalise; unknown choice values are refused all the same.
//
// today is the caller's clock; date rules compare calendar days, the day
// being read in today's own location (pass a time in Europe/London).
func (t *Template) Validate(page int, a Answers, today time.Time) []Error {
	if page < 0 || page >= len(t.Pages) {
		return nil
	}
	y, m, d := today.Date()
	day := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	var errs []Error
	for _, f := range t.Pages[page].Fields {
		if e, ok := f.validate(a[f.Name], day); ok {
			errs = append(errs, e)
		}
	}
	return errs
}

// ValidateAll checks every page, for the final submit: the first page with
// a problem and its errors, or -1 and none when the whole form is fine.
func (t *Template) ValidateAll(a Answers, today time.Time) (page int, errs []Error) {
	for i := range t.Pages {
		if errs := t.Validate(i, a, today); len(errs) > 0 {
			return i, errs
		}
	}
	return -1, nil
}

// fail builds f's error for rule, with the template's own text if it has one.
func (f Field) fail(rule, key string, args ...any) (Error, bool) {
	label := f.ErrorLabel
	if label.IsZero() {
		label = f.Label
	}
	return Error{Field: f.Name, Key: key, Args: args, Label: label, Text: f.Errors[rule]}, true
}

// validate checks one field's values against today's day (UTC midnight).
func (f Field) validate(vals []string, today time.Time) (Error, bool) {
	var present []string
	for _, v := range vals {
		if strings.TrimSpace(v) != "" {
			present = append(present, v)
		}
	}
	if len(present) == 0 {
		if !f.Required {
			return Error{}, false
		}
		if f.IsChoice() {
			return f.fail(RuleRequired, KeyRequiredChoice)
		}
		return f.fail(RuleRequired, KeyRequired)
	}
	switch f.Type {
	case TypeText, TypeTextarea:
		return f.validateText(present[0])
	case TypeNumber:
		return f.validateNumber(present[0])
	case TypeDate:
		return f.validateDate(present[0], today)
	case TypeTime:
		if !clockTime.MatchString(present[0]) {
			return f.fail(RuleTime, KeyTime)
		}
	case TypeYesNo, TypeRadios, TypeSelect, TypeCheckboxes:
		return f.validateChoices(present)
	}
	return Error{}, false
}

func (f Field) validateText(v string) (Error, bool) {
	n := utf8.RuneCountInString(v)
	if n > f.MaxLength {
		return f.fail(RuleTooLong, KeyTooLong, "Max", groupDigits(strconv.Itoa(f.MaxLength)))
	}
	if n < f.MinLength {
		return f.fail(RuleTooShort, KeyTooShort, "Min", groupDigits(strconv.Itoa(f.MinLength)))
	}
	return Error{}, false
}

func (f Field) validateNumber(v string) (Error, bool) {
	c := normaliseNumber(v)
	if len(c) > maxNumberLength || !number.MatchString(c) {
		return f.fail(RuleNumber, KeyNumber)
	}
	if f.Integer && strings.Contains(c, ".") {
		return f.fail(RuleInteger, KeyInteger)
	}
	n, err := strconv.ParseFloat(c, 64)
	if err != nil {
		return f.fail(RuleNumber, KeyNumber)
	}
	if f.Min != nil && n < *f.Min {
		return f.fail(RuleTooSmall, KeyTooSmall, "Min", formatNumber(*f.Min))
	}
	if f.Max != nil && n > *f.Max {
		return f.fail(RuleTooLarge, KeyTooLarge, "Max", formatNumber(*f.Max))
	}
	return Error{}, false
}

func (f Field) validateDate(v string, today time.Time) (Error, bool) {
	d, ok := parseDate(normaliseDate(v))
	if !ok {
		return f.fail(RuleDate, KeyDate)
	}
	switch {
	case f.Date == DatePast && !d.Before(today):
		return f.fail(RulePast, KeyPast)
	case f.Date == DateFuture && !d.After(today):
		return f.fail(RuleFuture, KeyFuture)
	case f.Date == DateNotFuture && d.After(today):
		return f.fail(RuleNotFuture, KeyNotFuture)
	}
	return Error{}, false
}

func (f Field) validateChoices(present []string) (Error, bool) {
	if f.Type != TypeCheckboxes {
		present = present[:1]
	}
	for _, p := range present {
		// Security: a value the template does not offer is refused,
		// not stored; only a changed request sends one.
		if !slices.ContainsFunc(f.Choices(), func(o Option) bool { return o.Value == p }) {
			return f.fail(RuleRequired, KeyRequiredChoice)
		}
	}
	if f.Type == TypeCheckboxes {
		n := len(slices.Compact(slices.Sorted(slices.Values(present))))
		if f.MinSelected > 0 && n < f.MinSelected {
			return f.fail(RuleMinSelected, KeyMinSelected, "Min", strconv.Itoa(f.MinSelected))
		}
		if f.MaxSelected > 0 && n > f.MaxSelected {
			return f.fail(RuleMaxSelected, KeyMaxSelected, "Max", strconv.Itoa(f.MaxSelected))
		}
	}
	return Error{}, false
}

// formatNumber writes a rule's bound as people read it: "10,000", "0.5".
func formatNumber(v float64) string {
	return groupDigits(strconv.FormatFloat(v, 'f', -1, 64))
}

// Display is f's answer in a as people read it, in lang: option labels
// instead of values (several joined by ", "), "Yes"/"Ie" and "No"/"Na",
// a date as "1 December 2026" with month(1…12) naming the month in lang,
// text as given; "" when unanswered. A value the field does not offer is
// shown as it is rather than hidden.
func (f Field) Display(a Answers, lang string, month func(int) string) string {
	vals := a[f.Name]
	if len(vals) == 0 {
		return ""
	}
	if !f.IsChoice() {
		v := vals[0]
		if f.Type == TypeDate {
			if d, ok := parseDate(v); ok {
				return fmt.Sprintf("%d %s %d", d.Day(), month(int(d.Month())), d.Year())
			}
		}
		return v
	}
	if f.Type != TypeCheckboxes {
		vals = vals[:1]
	}
	shown := make([]string, 0, len(vals))
	for _, v := range vals {
		label := v
		for _, o := range f.Choices() {
			if o.Value == v {
				label = o.Label.In(lang)
				break
			}
		}
		shown = append(shown, label)
	}
	return strings.Join(shown, ", ")
}
