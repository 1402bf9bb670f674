package uploads

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxNameRunes bounds a file name before its extension.
const maxNameRunes = 100

// extAliases are other spellings of an accepted type's extension, replaced
// by its Ext rather than kept in front of it.
var extAliases = map[string][]string{
	".jpg": {".jpeg", ".jpe"},
}

// SafeFileName turns an uploader's file name into one safe to show and to
// offer as a download: the base name only (any path before / or \ is
// dropped), valid UTF-8 (invalid bytes dropped), no control, format (bidi
// override, zero-width) or line-separator characters, none of <>:"/\|?*
// (each becomes _), no leading dots or spaces, no trailing dots or spaces,
// at most 100 runes before the extension, not a Windows device name, and
// ending in t.Ext.
//
// An extension that already names t ("report.PDF", "photo.jpeg" for JPEG)
// is replaced by t.Ext. Any other extension is kept as part of the name and
// t.Ext added after it ("notes.txt" as a PDF is "notes.txt.pdf"): a dot
// may just be part of the name ("Plan v2.1"), so nothing the uploader wrote
// is thrown away. If nothing is left, the name is fallback (cleaned the
// same way, and "file" if that is empty too) followed by t.Ext.
func SafeFileName(name, fallback string, t Type) string {
	stem := cleanStem(name, t)
	if stem == "" {
		stem = cleanStem(fallback, t)
	}
	if stem == "" {
		stem = "file"
	}
	return stem + t.Ext
}

// TitleFileName is a file name made from a title the portal wrote (a
// form's): a "/" or "\" in it is part of the words ("Parent/carer"), so
// it becomes "-" rather than cutting the title as a path; then as
// SafeFileName.
func TitleFileName(title string, t Type) string {
	return SafeFileName(strings.NewReplacer("/", "-", "\\", "-").Replace(title), "form", t)
}

// cleanStem cleans name and returns it without an extension naming t.
func cleanStem(name string, t Type) string {
	name = strings.ToValidUTF8(name, "")
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	var b strings.Builder
	for _, r := range name {
		switch {
		// Security: control characters break headers and logs; format
		// characters (U+202E and friends, zero-width spaces) make
		// "invoice\u202efdp.exe" show as "invoiceexe.pdf".
		case unicode.IsControl(r), unicode.Is(unicode.Cf, r),
			unicode.Is(unicode.Zl, r), unicode.Is(unicode.Zp, r):
		case strings.ContainsRune(`<>:"|?*`, r):
			// Security: reserved on Windows, and quoting trouble elsewhere.
			b.WriteRune('_')
		case unicode.Is(unicode.Zs, r):
			b.WriteRune(' ') // so trimming below sees no-break spaces too
		default:
			b.WriteRune(r)
		}
	}
	// Trailing dots go before the extension is looked at ("a.pdf." is
	// "a.pdf" on Windows); leading ones after, so ".pdf" is no name at all.
	name = strings.TrimRight(b.String(), ". ")
	if dot := strings.LastIndexByte(name, '.'); dot >= 0 && t.Ext != "" {
		ext := strings.ToLower(name[dot:])
		if ext == strings.ToLower(t.Ext) || slices.Contains(extAliases[strings.ToLower(t.Ext)], ext) {
			name = name[:dot]
		}
	}
	name = trimName(name)

	if utf8.RuneCountInString(name) > maxNameRunes {
		runes := []rune(name)
		name = trimName(string(runes[:maxNameRunes]))
	}

	if isDeviceName(name) {
		// Security: Windows opens the device, not a file, for "CON.pdf".
		name = "_" + name
		// The "_" took a name of the longest length one rune over it, and
		// cleaning the result again cut it (found by FuzzSafeFileName).
		if utf8.RuneCountInString(name) > maxNameRunes {
			name = trimName(string([]rune(name)[:maxNameRunes]))
		}
	}
	return name
}

// trimName drops leading dots and spaces (hidden files, names that look
// empty) and trailing ones (Windows drops them, changing the extension).
func trimName(s string) string {
	s = strings.TrimLeft(s, ". ")
	return strings.TrimRight(s, ". ")
}

// isDeviceName reports whether Windows treats name as a device.
func isDeviceName(name string) bool {
	base, _, _ := strings.Cut(name, ".")
	base = strings.ToUpper(strings.TrimRight(base, " "))
	switch base {
	case "CON", "PRN", "AUX", "NUL":
		return true
	}
	if len(base) == 4 && (strings.HasPrefix(base, "COM") || strings.HasPrefix(base, "LPT")) {
		return base[3] >= '0' && base[3] <= '9'
	}
	return false
}

// ContentDisposition is an RFC 6266 attachment header value for name:
//
//	attachment; filename="<ASCII fallback>"; filename*=UTF-8''<RFC 5987 encoding>
//
// In the fallback every non-ASCII rune, control character, quote,
// backslash and percent sign is replaced by _, so it needs no escaping and
// no browser decodes it. An empty name gives just "attachment". Pass a
// name from SafeFileName.
func ContentDisposition(name string) string {
	name = strings.ToValidUTF8(name, "")
	if name == "" {
		return "attachment"
	}
	var ascii, ext strings.Builder
	for _, r := range name {
		// Security: nothing in the quoted string can end it or start an
		// escape, so the header cannot gain parameters from a file name.
		if r < 0x20 || r >= 0x7F || r == '"' || r == '\\' || r == '%' {
			ascii.WriteByte('_')
		} else {
			ascii.WriteRune(r)
		}
	}
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(name); i++ {
		c := name[i]
		if isAttrChar(c) {
			ext.WriteByte(c)
		} else {
			ext.WriteByte('%')
			ext.WriteByte(hex[c>>4])
			ext.WriteByte(hex[c&0x0F])
		}
	}
	return `attachment; filename="` + ascii.String() + `"; filename*=UTF-8''` + ext.String()
}

// isAttrChar reports whether c may appear unencoded in an RFC 5987 value.
func isAttrChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$&+-.^_`|~", c) >= 0
}

// SizeText is a file's size as the pages show it: "1 KB" at least, whole
// KB under a megabyte, else MB to one place.
func SizeText(n int64) string {
	switch {
	case n < 1000:
		return "1 KB"
	case n < 1000*1000:
		return fmt.Sprintf("%d KB", (n+500)/1000)
	default:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	}
}
