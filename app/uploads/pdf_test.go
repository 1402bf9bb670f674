package uploads

import (
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"testing"

	"portal/app/uploads/uploadtest"
)

// flated is a stream object holding content compressed with Flate, as an
// object stream hides its objects.
func flated(content string) string {
	var b bytes.Buffer
	w := zlib.NewWriter(&b)
	w.Write([]byte(content))
	w.Close()
	return fmt.Sprintf("<< /Type /ObjStm /N 1 /First 4 /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream", b.Len(), b.String())
}

func TestAPDFMustBeOneAndHoldNothingActive(t *testing.T) {
	good := uploadtest.PDF(2000, "")
	wrongXref := bytes.Replace(good, []byte("startxref\n"), []byte("startxref\n1"), 1)
	for _, tt := range []struct {
		name string
		file []byte
		want error
	}{
		{"a well-formed PDF is accepted", good, nil},
		{"a large well-formed PDF is accepted", uploadtest.PDF(5<<20, ""), nil},
		{"a link is accepted", uploadtest.PDF(3000, "<< /Type /Annot /Subtype /Link /A << /S /URI /URI (https://example.org) >> >>"), nil},
		{"the signature and then junk is refused", append([]byte("%PDF-1.7\n"), bytes.Repeat([]byte("junk "), 200)...), ErrPDFDamaged},
		{"a PDF without its end is refused", good[:len(good)-20], ErrPDFDamaged},
		{"a cross-reference that is not where the end says is refused", wrongXref, ErrPDFDamaged},
		{"JavaScript is refused", uploadtest.PDF(2000, "<< /Type /Action /S /JavaScript /JS (app.alert(1)) >>"), ErrPDFActive},
		{"a Launch action is refused", uploadtest.PDF(2000, "<< /Type /Action /S /Launch /F (calc.exe) >>"), ErrPDFActive},
		{"an embedded file is refused", uploadtest.PDF(2000, "<< /Type /EmbeddedFile /Length 0 >>"), ErrPDFActive},
		{"an attachment list is refused", uploadtest.PDF(2000, "<< /EmbeddedFiles << /Names [] >> >>"), ErrPDFActive},
		{"rich media is refused", uploadtest.PDF(2000, "<< /Type /RichMedia >>"), ErrPDFActive},
		{"a name written with escapes is read as it means", uploadtest.PDF(2000, "<< /S /J#61va#53cript >>"), ErrPDFActive},
		{"JavaScript inside a compressed object stream is refused", uploadtest.PDF(4000, flated("5 0 << /S /JavaScript /JS (x) >>")), ErrPDFActive},
		{"a compressed stream without active content is accepted", uploadtest.PDF(4000, flated("5 0 << /Producer (Word) >>")), nil},
		{"an encrypted PDF is refused, since it cannot be checked", uploadtest.PDF(2000, "<< /Encrypt << /Filter /Standard >> >>"), ErrPDFEncrypted},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := prepare(t, tt.file, nil)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("Prepare = %v, want %v", err, tt.want)
			}
			if tt.want != nil && !errors.Is(err, ErrNotAllowed) {
				t.Errorf("%v does not wrap ErrNotAllowed", err)
			}
		})
	}
}
