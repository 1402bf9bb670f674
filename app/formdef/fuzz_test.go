package formdef_test

import (
	"io/fs"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"portal/app/formdef"
)

// Fuzz targets for templates (YAML a council writes) and for answers (what
// any browser posts against a template). Seeds are added below and kept in
// testdata/fuzz/<target>; make fuzz runs each target for longer.

// fuzzMax bounds a fuzz input, so each costs little and memory stays
// bounded.
const fuzzMax = 1 << 20

var snakeCase = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// FuzzParse: a template that parses has what Parse promises (snake_case
// unique names, both languages, text lengths within the ceiling, choices
// with options), parsing it again gives the same Digest, and every page
// takes an empty and a full answer without panicking.
func FuzzParse(f *testing.F) {
	f.Add([]byte(matrixYAML))
	files, _ := fs.Glob(formdef.Templates, "*.yaml")
	for _, name := range files {
		b, err := fs.ReadFile(formdef.Templates, name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("key: a\ntitle: {en: A, cy: A}\npages: [{title: {en: P, cy: P}, fields: [{name: n, type: number, min: .nan, label: {en: N, cy: N}}]}]"))
	f.Add([]byte("a: &a [*a, *a]\nb: &b [*a, *a, *a]\nkey: x"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > fuzzMax {
			t.Skip()
		}
		tpl, err := formdef.Parse(b)
		if err != nil {
			if tpl != nil {
				t.Fatal("an error with a template")
			}
			return
		}
		checkTemplate(t, tpl)
		again, err := formdef.Parse(b)
		if err != nil || again.Digest() != tpl.Digest() {
			t.Fatalf("parsing again: %v, or another digest", err)
		}
		full := formdef.Answers{}
		for _, p := range tpl.Pages {
			for _, fd := range p.Fields {
				full[fd.Name] = []string{"1", "yes", "2026-01-01"}
				for _, o := range fd.Choices() {
					full[fd.Name] = append(full[fd.Name], o.Value)
				}
			}
		}
		for i := range tpl.Pages {
			tpl.Validate(i, formdef.Normalise(tpl, i, full), today)
			tpl.Validate(i, formdef.Answers{}, today)
		}
	})
}

// checkTemplate fails unless tpl keeps Parse's promises.
func checkTemplate(t *testing.T, tpl *formdef.Template) {
	t.Helper()
	if !snakeCase.MatchString(tpl.Key) || len(tpl.Pages) == 0 || len(tpl.For) == 0 {
		t.Fatalf("template %q with %d pages for %v", tpl.Key, len(tpl.Pages), tpl.For)
	}
	if tpl.Submit != formdef.SubmitSubmit && tpl.Submit != formdef.SubmitContribution {
		t.Fatalf("submit %q", tpl.Submit)
	}
	bothLanguages(t, "title", tpl.Title)
	names := map[string]bool{}
	for _, p := range tpl.Pages {
		bothLanguages(t, "page title", p.Title)
		if len(p.Fields) == 0 {
			t.Fatal("a page without fields")
		}
		for _, fd := range p.Fields {
			if !snakeCase.MatchString(fd.Name) || len(fd.Name) > 64 || names[fd.Name] || !slices.Contains(formdef.Types, fd.Type) {
				t.Fatalf("field %q of type %q", fd.Name, fd.Type)
			}
			names[fd.Name] = true
			bothLanguages(t, "label", fd.Label)
			if (fd.Type == formdef.TypeText || fd.Type == formdef.TypeTextarea) &&
				(fd.MaxLength <= 0 || fd.MaxLength > formdef.MaxLengthCeiling || fd.MinLength > fd.MaxLength) {
				t.Fatalf("field %q: lengths %d to %d", fd.Name, fd.MinLength, fd.MaxLength)
			}
			if fd.IsChoice() && len(fd.Choices()) == 0 {
				t.Fatalf("choice field %q without options", fd.Name)
			}
		}
	}
}

func bothLanguages(t *testing.T, what string, x formdef.Text) {
	t.Helper()
	for _, s := range []string{x.EN, x.CY} {
		if strings.TrimSpace(s) == "" || !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return r != '\n' && unicode.IsControl(r) }) {
			t.Fatalf("%s %q", what, s)
		}
	}
}

// fuzzTemplates are the templates answers are fuzzed against: every type
// and rule (matrixYAML), and the built-in forms.
func fuzzTemplates(f *testing.F) []*formdef.Template {
	tpls, err := formdef.Builtin()
	if err != nil {
		f.Fatal(err)
	}
	m, err := formdef.Parse([]byte(matrixYAML))
	if err != nil {
		f.Fatal(err)
	}
	return append([]*formdef.Template{m}, tpls...)
}

// fuzzAnswers reads answers from raw: pairs "field=value" separated by
// "&", value taken as it is (no decoding, so any bytes reach Normalise);
// a field given as a number is the template's field of that index.
func fuzzAnswers(tpl *formdef.Template, raw string) formdef.Answers {
	var names []string
	for _, p := range tpl.Pages {
		for _, fd := range p.Fields {
			names = append(names, fd.Name)
		}
	}
	a := formdef.Answers{}
	for _, pair := range strings.Split(raw, "&") {
		k, v, _ := strings.Cut(pair, "=")
		if i, err := strconv.Atoi(k); err == nil && i >= 0 {
			k = names[i%len(names)]
		}
		a[k] = append(a[k], v)
	}
	return a
}

// FuzzNormaliseValidate: Normalise keeps only the page's fields, clean
// text, offered choices (checkboxes once each, in order); normalising
// again changes nothing; an answer Validate accepts is one a field of its
// type holds (a real date, a number within bounds, HH:MM, text within its
// length); ValidateAll agrees with Validate; and every error has a
// message.
func FuzzNormaliseValidate(f *testing.F) {
	for _, s := range []struct {
		tpl, page uint8
		raw       string
	}{
		{0, 0, "0=Ann&1=&4=007&5=1,500.50&7=1/12/2010&8=31/4/2027&11=9.05&12=yes&13=red&14=dog&14=cat&14=cat&15=cardiff"},
		{0, 0, "full_name=\x00\u202e\r\nA\tB&story=line\r\nline&children=-0&weight=.5&at=24:00&agree=maybe&pets=fish"},
		{0, 0, "birthday=2026-06-15&meeting=2026-06-15&happened=2026-06-16&any_date=0999-01-01&children=1e3&weight=1.50"},
		{1, 0, "your_name=Sam&relationship=mum&attending=no&taking_part=phone"},
		{2, 1, "0=\xff\xfe&1=2&2=3&3=4&4=5"},
	} {
		f.Add(s.tpl, s.page, s.raw)
	}
	tpls := fuzzTemplates(f)
	f.Fuzz(func(t *testing.T, ti, page uint8, raw string) {
		if len(raw) > fuzzMax {
			t.Skip()
		}
		tpl := tpls[int(ti)%len(tpls)]
		p := int(page) % (len(tpl.Pages) + 1) // one past the end: no page
		in := fuzzAnswers(tpl, raw)
		out := formdef.Normalise(tpl, p, in)
		if p == len(tpl.Pages) {
			if len(out) != 0 || tpl.Validate(p, in, today) != nil {
				t.Fatal("answers for a page that does not exist")
			}
			return
		}
		checkNormalised(t, tpl.Pages[p], out)
		if again := formdef.Normalise(tpl, p, out); !equalAnswers(again, out) {
			t.Fatalf("Normalise is not stable: %q, then %q", out, again)
		}
		errs := tpl.Validate(p, out, today)
		checkAccepted(t, tpl.Pages[p], out, errs)
		all := formdef.NormaliseAll(tpl, in)
		if first, allErrs := tpl.ValidateAll(all, today); first >= 0 && len(allErrs) == 0 || first < 0 && len(allErrs) > 0 {
			t.Fatalf("ValidateAll: page %d with %d errors", first, len(allErrs))
		}
		for _, e := range errs {
			msg, ok := formdef.Lookup(e.Key)
			if !ok || e.Message("en", func(id string, args ...any) string { return msg.In("en", args...) }) == "" {
				t.Fatalf("error %q has no message", e.Key)
			}
		}
		for _, fd := range tpl.Pages[p].Fields {
			fd.Display(out, "cy", month("cy"))
		}
	})
}

// checkNormalised fails unless out holds only page's fields, cleaned.
func checkNormalised(t *testing.T, page formdef.Page, out formdef.Answers) {
	t.Helper()
	fields := map[string]formdef.Field{}
	for _, fd := range page.Fields {
		fields[fd.Name] = fd
	}
	for name, vals := range out {
		fd, ok := fields[name]
		if !ok || len(vals) == 0 || fd.Type != formdef.TypeCheckboxes && len(vals) != 1 {
			t.Fatalf("Normalise kept %q = %q", name, vals)
		}
		for _, v := range vals {
			if v == "" || v != strings.TrimSpace(v) || !utf8.ValidString(v) ||
				strings.ContainsFunc(v, func(r rune) bool { return unicode.IsControl(r) && (r != '\n' || fd.Type != formdef.TypeTextarea) }) {
				t.Fatalf("Normalise kept %q = %q", name, v)
			}
		}
		if fd.IsChoice() {
			var offered []string
			for _, o := range fd.Choices() {
				if slices.Contains(vals, o.Value) {
					offered = append(offered, o.Value)
				}
			}
			if !slices.Equal(offered, vals) {
				t.Fatalf("Normalise kept %q = %q: not the options, once each, in order", name, vals)
			}
		}
	}
}

var (
	storedDate = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`)
	storedTime = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)
)

// checkAccepted fails if Validate accepted (no error on the field) a
// value its field cannot hold.
func checkAccepted(t *testing.T, page formdef.Page, out formdef.Answers, errs []formdef.Error) {
	t.Helper()
	for _, fd := range page.Fields {
		if slices.ContainsFunc(errs, func(e formdef.Error) bool { return e.Field == fd.Name }) {
			continue
		}
		v := out.Get(fd.Name)
		if v == "" {
			if fd.Required {
				t.Fatalf("required %q accepted empty", fd.Name)
			}
			continue
		}
		switch fd.Type {
		case formdef.TypeText, formdef.TypeTextarea:
			if n := utf8.RuneCountInString(v); n > fd.MaxLength || n < fd.MinLength {
				t.Fatalf("%q accepted with %d characters", fd.Name, n)
			}
		case formdef.TypeNumber:
			n, err := strconv.ParseFloat(v, 64)
			if err != nil || fd.Min != nil && n < *fd.Min || fd.Max != nil && n > *fd.Max || fd.Integer && strings.Contains(v, ".") {
				t.Fatalf("%q accepted %q", fd.Name, v)
			}
		case formdef.TypeDate:
			d, err := time.Parse("2006-01-02", v)
			if err != nil || !storedDate.MatchString(v) || d.Format("2006-01-02") != v {
				t.Fatalf("%q accepted %q", fd.Name, v)
			}
		case formdef.TypeTime:
			if !storedTime.MatchString(v) {
				t.Fatalf("%q accepted %q", fd.Name, v)
			}
		case formdef.TypeCheckboxes:
			n := len(out[fd.Name])
			if fd.MinSelected > 0 && n < fd.MinSelected || fd.MaxSelected > 0 && n > fd.MaxSelected {
				t.Fatalf("%q accepted %d ticked", fd.Name, n)
			}
		}
	}
}

func equalAnswers(a, b formdef.Answers) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}
