package web

import (
	"net/mail"
	"strings"
)

// Form carries a submitted form back to its page: the values as typed and a
// message id per field in error. Field order is kept for the error summary.
type Form struct {
	Values map[string]string
	Errors []FieldError
}

// FieldError is one field's problem.
type FieldError struct {
	Field string // the input's id, the summary links to it
	Key   string // message id
	Args  []any  // the message's data, as name, value pairs
	// Text is a message already in the page's language (a form template's
	// own error text); when set, Key is not looked up.
	Text string
}

// ValidEmail reports whether s looks like an email address, as typed in
// any email field of the portal.
func ValidEmail(s string) bool {
	_, err := mail.ParseAddress(s)
	return err == nil && strings.Contains(s, "@") && !strings.ContainsAny(s, "<> ")
}

// NewForm returns an empty form.
func NewForm() *Form { return &Form{Values: map[string]string{}} }

// Add records a field error.
func (f *Form) Add(field, key string) {
	f.Errors = append(f.Errors, FieldError{Field: field, Key: key})
}

// AddArgs records a field error whose message takes data (name, value
// pairs, as Localizer.T takes them).
func (f *Form) AddArgs(field, key string, args ...any) {
	f.Errors = append(f.Errors, FieldError{Field: field, Key: key, Args: args})
}

// Valid reports whether no field is in error.
func (f *Form) Valid() bool { return len(f.Errors) == 0 }

// Error is the message id of a field's first error, or "".
func (f *Form) Error(field string) string {
	for _, e := range f.Errors {
		if e.Field == field {
			return e.Key
		}
	}
	return ""
}

// FieldError is a field's first error, with its data, or the zero value.
func (f *Form) FieldError(field string) FieldError {
	for _, e := range f.Errors {
		if e.Field == field {
			return e
		}
	}
	return FieldError{}
}

// Value is what the person typed in a field.
func (f *Form) Value(field string) string { return f.Values[field] }
