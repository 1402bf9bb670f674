package uploads

import (
	"mime"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSafeFileName(t *testing.T) {
	long := strings.Repeat("ŵ", 150)
	tests := []struct {
		name, in, fallback string
		typ                Type
		want               string
	}{
		{"a path up the tree keeps only the base name", "../../etc/passwd", "document", PDF, "passwd.pdf"},
		{"a Windows path keeps only the base name", `C:\Users\x\report.pdf`, "document", PDF, "report.pdf"},
		{"a NUL byte is removed", "report\x00.exe.pdf", "document", PDF, "report.exe.pdf"},
		{"control characters are removed", "care\r\nplan\t\x7f.pdf", "document", PDF, "careplan.pdf"},
		{"a right-to-left override cannot disguise the extension", "invoice\u202efdp.exe", "document", PDF, "invoicefdp.exe.pdf"},
		{"zero-width and bidi isolate characters are removed", "re\u200bport\u2066\u200d\ufeff.pdf", "document", PDF, "report.pdf"},
		{"a Welsh name is kept intact", "Asesiad ŵyr ŷd.pdf", "document", PDF, "Asesiad ŵyr ŷd.pdf"},
		{"an upper-case extension is made the detected one", "report.PDF", "document", PDF, "report.pdf"},
		{"jpeg counts as jpg", "photo.jpeg", "photo", JPEG, "photo.jpg"},
		{"JPEG in capitals counts as jpg", "IMG_0042.JPEG", "photo", JPEG, "IMG_0042.jpg"},
		{"a wrong extension stays in the name and the right one is added", "notes.txt", "document", PDF, "notes.txt.pdf"},
		{"an extension that lies about the content is added to", "letter.pdf", "document", DOCX, "letter.pdf.docx"},
		{"a dot in the name is not taken for an extension", "Plan v2.1", "document", DOCX, "Plan v2.1.docx"},
		{"a missing extension is added", "minutes", "document", DOCX, "minutes.docx"},
		{"characters Windows reserves become underscores", `a<b>c:d"e|f?g*h.pdf`, "document", PDF, "a_b_c_d_e_f_g_h.pdf"},
		{"invalid UTF-8 bytes are dropped", "caf\xe9 menu.pdf", "document", PDF, "caf menu.pdf"},
		{"a long name is cut at 100 runes without splitting one", long + ".pdf", "document", PDF, strings.Repeat("ŵ", 100) + ".pdf"},
		{"trailing spaces after a cut are trimmed", strings.Repeat("a", 99) + " b.pdf", "document", PDF, strings.Repeat("a", 99) + ".pdf"},
		{"an empty name is the fallback", "", "document", PDF, "document.pdf"},
		{"only dots is the fallback", "...", "document", PDF, "document.pdf"},
		{"only an extension is the fallback", ".pdf", "document", PDF, "document.pdf"},
		{"a path ending in a slash is the fallback", "reports/", "document", DOCX, "document.docx"},
		{"a leading space and dot are removed", " .hidden", "document", PDF, "hidden.pdf"},
		{"trailing dots and spaces are removed", "report.pdf. . ", "document", PDF, "report.pdf"},
		{"a no-break space is trimmed like a space", "\u00a0report.pdf", "document", PDF, "report.pdf"},
		{"a Windows device name is escaped", "CON.pdf", "document", PDF, "_CON.pdf"},
		{"a Windows device name with a port number is escaped", "com1.txt", "document", PDF, "_com1.txt.pdf"},
		{"a name that only starts like a device is kept", "CONTACTS.pdf", "document", PDF, "CONTACTS.pdf"},
		{"the fallback is cleaned too", "\u202e", "../x\u200b<y>", PDF, "x_y_.pdf"},
		{"an empty fallback is file", "", "", PNG, "file.png"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := SafeFileName(tt.in, tt.fallback, tt.typ)
			if got != tt.want {
				t.Fatalf("SafeFileName(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if !utf8.ValidString(got) {
				t.Fatalf("%q is not valid UTF-8", got)
			}
		})
	}
}

func TestContentDisposition(t *testing.T) {
	tests := []struct {
		name, in     string
		wantFallback string // the quoted filename parameter
		wantEncoded  string // the filename* parameter
	}{
		{"an ASCII name is kept in both", "report.pdf", `filename="report.pdf"`, `filename*=UTF-8''report.pdf`},
		{"spaces are percent-encoded in filename*", "care plan.docx", `filename="care plan.docx"`, `filename*=UTF-8''care%20plan.docx`},
		{"quotes and backslashes cannot end the quoted string", `say "hi"\now.pdf`, `filename="say _hi__now.pdf"`, `filename*=UTF-8''say%20%22hi%22%5Cnow.pdf`},
		{"a Welsh name is ASCII in filename and UTF-8 in filename*", "Asesiad ŵyr.pdf", `filename="Asesiad _yr.pdf"`, `filename*=UTF-8''Asesiad%20%C5%B5yr.pdf`},
		{"a percent sign is not left for a browser to decode", "100%25.pdf", `filename="100_25.pdf"`, `filename*=UTF-8''100%2525.pdf`},
		{"a semicolon cannot add a parameter", "a; filename=evil.exe", `filename="a; filename=evil.exe"`, `filename*=UTF-8''a%3B%20filename%3Devil.exe`},
		{"a line break cannot end the header", "a\r\nSet-Cookie: x=1", `filename="a__Set-Cookie: x=1"`, `filename*=UTF-8''a%0D%0ASet-Cookie%3A%20x%3D1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ContentDisposition(tt.in)
			want := "attachment; " + tt.wantFallback + "; " + tt.wantEncoded
			if got != want {
				t.Fatalf("ContentDisposition(%q)\n got %s\nwant %s", tt.in, got, want)
			}
			if strings.ContainsAny(got, "\r\n") {
				t.Fatal("header value contains a line break")
			}
			disposition, params, err := mime.ParseMediaType(got)
			if err != nil {
				t.Fatalf("ParseMediaType: %v", err)
			}
			if disposition != "attachment" || params["filename"] != tt.in {
				t.Fatalf("parsed back as %s %q, want attachment %q", disposition, params["filename"], tt.in)
			}
		})
	}
}

func TestContentDispositionOfNoNameIsAPlainAttachment(t *testing.T) {
	if got := ContentDisposition(""); got != "attachment" {
		t.Fatalf("ContentDisposition(\"\") = %q", got)
	}
}
