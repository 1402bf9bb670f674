package uploads

import (
	"archive/zip"
	"encoding/xml"
	"io"
	"net/url"
	"path"
	"slices"
	"strings"
	"unicode"
)

const (
	// maxRelsParts bounds the relationships parts of a DOCX; Word writes a
	// handful (the package, the document, settings, headers, charts).
	maxRelsParts = 200
	// maxRelsPart bounds how much of each relationships part is
	// decompressed.
	maxRelsPart = 1 << 20
	// maxWordXML bounds how much of a document's Word parts (body, headers,
	// footers, notes, comments, settings, ...) is decompressed, all of them
	// together, to look at its fields. A larger document is refused as too
	// large to check.
	maxWordXML = 20 << 20
	// maxFieldDepth bounds how deeply fields nest inside one another; Word
	// documents nest two or three.
	maxFieldDepth = 64
)

// wordNamespaces are WordprocessingML's namespaces, transitional and strict.
var wordNamespaces = []string{
	"http://schemas.openxmlformats.org/wordprocessingml/2006/main",
	"http://purl.oclc.org/ooxml/wordprocessingml/main",
}

// checkDOCXParts refuses a document whose relationships or fields fetch
// something from elsewhere or run something: rels are the package's
// relationships parts, types its [Content_Types].xml. Each part is streamed,
// never extracted, within the bounds above.
func checkDOCXParts(files []*zip.File, rels []*zip.File, types contentTypes) error {
	if len(rels) > maxRelsParts {
		return notAllowed("too many relationships parts")
	}
	for _, e := range rels {
		if _, err := streamPart(e, maxRelsPart, "relationships", checkRelationships); err != nil {
			return err
		}
	}

	word := wordXMLParts(files, types)
	var declared uint64
	for _, e := range word {
		declared += e.UncompressedSize64
	}
	// Security: zip bomb; the declared sizes are checked first, and each
	// part is then read only as far as what is left of the budget, in case
	// they lie.
	if declared > maxWordXML {
		return notAllowed("word parts too large to check")
	}
	left := int64(maxWordXML)
	for _, e := range word {
		n, err := streamPart(e, left, "word parts", checkFields)
		if err != nil {
			return err
		}
		left -= n
	}
	return nil
}

// streamPart gives check at most max bytes of e. A part that declares more,
// or turns out to hold more, is refused as too large to check. It returns
// the bytes check read.
func streamPart(e *zip.File, max int64, what string, check func(io.Reader) error) (int64, error) {
	// Security: zip bomb; the declared size is checked first, the actual
	// bytes read are capped below in case it lies.
	if e.UncompressedSize64 > uint64(max) {
		return 0, notAllowed(what + " too large to check")
	}
	rc, err := e.Open()
	if err != nil {
		return 0, notAllowed("unreadable " + what)
	}
	defer rc.Close()
	lr := &io.LimitedReader{R: rc, N: max + 1}
	err = check(lr)
	n := max + 1 - lr.N
	if n > max {
		return n, notAllowed(what + " too large to check")
	}
	return n, err
}

// partKey is a part name as OOXML compares it: without a leading slash,
// percent-decoded and case-insensitive.
func partKey(name string) string {
	name = strings.TrimPrefix(path.Clean("/"+name), "/")
	if u, err := url.PathUnescape(name); err == nil {
		name = u
	}
	return strings.ToLower(name)
}

// wordXMLParts are the parts whose content type is WordprocessingML XML: the
// main document and every other part Word reads fields from (headers,
// footers, notes, comments, the glossary), whatever they are called.
func wordXMLParts(files []*zip.File, types contentTypes) []*zip.File {
	overrides := make(map[string]string, len(types.Overrides))
	for _, o := range types.Overrides {
		overrides[partKey(o.PartName)] = o.ContentType
	}
	defaults := make(map[string]string, len(types.Defaults))
	for _, d := range types.Defaults {
		defaults[strings.ToLower(d.Extension)] = d.ContentType
	}
	var word []*zip.File
	for _, e := range files {
		if strings.HasSuffix(e.Name, "/") {
			continue // a directory
		}
		ct, ok := overrides[partKey(e.Name)]
		if !ok {
			ct = defaults[strings.ToLower(strings.TrimPrefix(path.Ext(e.Name), "."))]
		}
		ct = strings.ToLower(strings.TrimSpace(ct))
		if strings.Contains(ct, "wordprocessingml") && strings.HasSuffix(ct, "+xml") {
			word = append(word, e)
		}
	}
	return word
}

// checkRelationships streams a relationships part, checking every
// Relationship element in it, at any depth and in any namespace.
func checkRelationships(r io.Reader) error {
	// encoding/xml does not expand entities defined in a DTD, so there is
	// no entity-expansion bomb; an undefined entity is a syntax error.
	d := xml.NewDecoder(r)
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return notAllowed("malformed relationships")
		}
		if se, ok := tok.(xml.StartElement); ok && strings.EqualFold(se.Name.Local, "Relationship") {
			if err := checkRelationship(se.Attr); err != nil {
				return err
			}
		}
	}
}

// externalNames name, for the log, the external relationships most often
// used against Word.
var externalNames = []string{"oleobject", "attachedtemplate", "frame", "subdocument", "control", "image"}

// checkRelationship refuses an altChunk, and any relationship leaving the
// package that is not a hyperlink. Attribute names compare without case or
// namespace, and a repeated attribute is checked in each of its values, so
// no spelling Word might read differently gets through.
func checkRelationship(attrs []xml.Attr) error {
	var types []string
	external := false
	for _, a := range attrs {
		v := strings.TrimSpace(a.Value)
		switch {
		case strings.EqualFold(a.Name.Local, "Type"):
			types = append(types, strings.ToLower(v))
		case strings.EqualFold(a.Name.Local, "TargetMode"):
			external = external || strings.EqualFold(v, "External")
		case strings.EqualFold(a.Name.Local, "Target"):
			// Security: a target with a scheme or a network path leaves the
			// package whatever TargetMode says.
			external = external || remoteTarget(v)
		}
	}
	for _, t := range types {
		// Security: an altChunk is a whole other document (HTML, MHT, RTF)
		// that Word converts and merges in when it opens the file, inside
		// or outside the package; nothing here checks what is in it.
		if strings.HasSuffix(t, "/afchunk") {
			return notAllowed("altChunk")
		}
	}
	if !external {
		return nil
	}
	if len(types) == 0 {
		return notAllowed("external relationship without a type")
	}
	for _, t := range types {
		if strings.HasSuffix(t, "/hyperlink") {
			continue // a link the family chooses to follow
		}
		// Security: an allowlist. Word fetches an external OLE object
		// (Follina), template (with its macros), frame, subdocument or
		// control as it opens the document; an external image is fetched
		// too, which tells whoever runs the server when and where a family
		// opened it. Only hyperlinks wait for a click.
		for _, name := range externalNames {
			if strings.HasSuffix(t, "/"+name) {
				return notAllowed("external " + name)
			}
		}
		return notAllowed("external relationship other than a hyperlink")
	}
	return nil
}

// remoteTarget reports whether a relationship target is outside the
// package: a network path (//host, \\host), or anything with a colon before
// its first slash (a scheme, a drive), which no part name has.
func remoteTarget(v string) bool {
	if len(v) >= 2 && isSlash(v[0]) && isSlash(v[1]) {
		return true
	}
	colon := strings.IndexByte(v, ':')
	return colon >= 0 && !strings.ContainsAny(v[:colon], `/\`)
}

func isSlash(c byte) bool { return c == '/' || c == '\\' }

// wordField is a field met in a Word part, for as long as it is open.
type wordField struct {
	instr    strings.Builder
	inResult bool // past its separator, what follows is its result
	nested   bool // another field is part of its instruction
	computed bool // another field began before its name: the name is computed
}

// checkFields streams a Word part and checks every field in it: complex
// fields (fldChar begin, instrText, separate, end, nested), simple fields
// (fldSimple), and instruction text in tracked deletions, which rejecting
// the change brings back. Instruction text split across runs is joined, as
// Word joins it.
func checkFields(r io.Reader) error {
	d := xml.NewDecoder(r)
	var s fieldScanner
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return s.finish()
		}
		if err != nil {
			return notAllowed("malformed word part")
		}
		if err := s.token(tok); err != nil {
			return err
		}
	}
}

// fieldScanner follows the fields of one Word part, token by token.
type fieldScanner struct {
	open    []*wordField // the fields begun and not yet ended, innermost last
	loose   *wordField   // instruction text outside any field's instruction
	inInstr bool         // inside an instrText or delInstrText element
}

// token takes the next token of the part.
func (s *fieldScanner) token(tok xml.Token) error {
	switch tok := tok.(type) {
	case xml.StartElement:
		return s.start(tok)
	case xml.EndElement:
		return s.end(tok)
	case xml.CharData:
		s.text(tok)
	}
	return nil
}

// start takes an element's start: a field character, the start of
// instruction text, or a simple field.
func (s *fieldScanner) start(se xml.StartElement) error {
	switch name := se.Name.Local; {
	case strings.EqualFold(name, "fldChar") && isWord(se.Name.Space):
		// Only Word's own fldChar counts, as in Word: one in another
		// namespace could otherwise close a field early here.
		return s.fldChar(wordAttr(se.Attr, "fldCharType"))
	case isInstrText(name):
		s.inInstr = true
		if top := s.top(); top == nil || top.inResult {
			s.loose = &wordField{}
		}
	case strings.EqualFold(name, "fldSimple"):
		return checkSimpleField(se.Attr)
	}
	return nil
}

// fldChar takes a field character of type typ: begin opens a field,
// separate ends its instruction, end closes and checks it.
func (s *fieldScanner) fldChar(typ string) error {
	top := s.top()
	switch {
	case strings.EqualFold(typ, "begin"):
		return s.begin(top)
	case strings.EqualFold(typ, "separate") && top != nil:
		top.inResult = true
	case strings.EqualFold(typ, "end") && top != nil:
		s.open = s.open[:len(s.open)-1]
		return top.check()
	}
	return nil
}

// begin opens a field inside top, the innermost open field (nil if none).
func (s *fieldScanner) begin(top *wordField) error {
	if len(s.open) >= maxFieldDepth {
		return notAllowed("fields nested too deeply")
	}
	if top != nil && !top.inResult {
		top.nested = true
		top.computed = top.computed || strings.TrimSpace(top.instr.String()) == ""
	}
	s.open = append(s.open, &wordField{})
	return nil
}

// end takes an element's end; at the end of instruction text outside any
// field's instruction, that text is checked.
func (s *fieldScanner) end(ee xml.EndElement) error {
	if !isInstrText(ee.Name.Local) {
		return nil
	}
	s.inInstr = false
	loose := s.loose
	s.loose = nil
	if loose == nil {
		return nil
	}
	return loose.check()
}

// text takes character data: inside instruction text, it goes to the loose
// instruction or to the innermost open field's.
func (s *fieldScanner) text(t xml.CharData) {
	switch {
	case !s.inInstr:
	case s.loose != nil:
		s.loose.instr.Write(t)
	case len(s.open) > 0:
		s.top().instr.Write(t)
	}
}

// finish checks the fields still open at the end of the part.
func (s *fieldScanner) finish() error {
	// A field left open at the end is checked all the same.
	for _, f := range s.open {
		if err := f.check(); err != nil {
			return err
		}
	}
	return nil
}

// top is the innermost open field, or nil if there is none.
func (s *fieldScanner) top() *wordField {
	if len(s.open) == 0 {
		return nil
	}
	return s.open[len(s.open)-1]
}

// isInstrText reports whether local names an element holding instruction
// text, current or deleted.
func isInstrText(local string) bool {
	return strings.EqualFold(local, "instrText") || strings.EqualFold(local, "delInstrText")
}

// checkSimpleField checks a fldSimple's instruction, in each instr
// attribute it has.
func checkSimpleField(attrs []xml.Attr) error {
	for _, a := range attrs {
		if !strings.EqualFold(a.Name.Local, "instr") {
			continue
		}
		f := &wordField{}
		f.instr.WriteString(a.Value)
		if err := f.check(); err != nil {
			return err
		}
	}
	return nil
}

// isWord reports whether space is WordprocessingML's namespace.
func isWord(space string) bool { return slices.Contains(wordNamespaces, space) }

// wordAttr is the value of Word's attribute local, or of an unqualified
// one if there is none.
func wordAttr(attrs []xml.Attr, local string) string {
	v := ""
	for _, a := range attrs {
		if !strings.EqualFold(a.Name.Local, local) {
			continue
		}
		if isWord(a.Name.Space) {
			return a.Value
		}
		if a.Name.Space == "" {
			v = a.Value
		}
	}
	return v
}

// includeFields are the fields that fetch what their argument names when
// they update, which INCLUDEPICTURE \d does on opening; INCLUDE and IMPORT
// are old names for INCLUDETEXT and INCLUDEPICTURE, and LINK fetches an OLE
// link.
var includeFields = []string{"INCLUDETEXT", "INCLUDEPICTURE", "INCLUDE", "IMPORT", "LINK"}

// check refuses a DDE field, a field whose name another field computes,
// and an include field that fetches from elsewhere.
func (f *wordField) check() error {
	instr := f.instr.String()
	// Security: DDE and DDEAUTO run a program (DDEAUTO as the document
	// opens). The word is looked for anywhere in the instruction, in any
	// case, not only as the field's name.
	for _, w := range strings.FieldsFunc(instr, func(r rune) bool { return !unicode.IsLetter(r) }) {
		if strings.EqualFold(w, "DDE") || strings.EqualFold(w, "DDEAUTO") {
			return notAllowed("dde field")
		}
	}
	// Security: { { QUOTE 68 68 69 } ... } is a DDE field whose name no
	// text spells; a letter or a report never needs a computed field name.
	if f.computed {
		return notAllowed("field named by another field")
	}
	rest := strings.TrimLeftFunc(instr, unicode.IsSpace)
	end := strings.IndexFunc(rest, func(r rune) bool { return !unicode.IsLetter(r) })
	if end < 0 {
		end = len(rest)
	}
	name := rest[:end]
	for _, inc := range includeFields {
		if !strings.EqualFold(name, inc) {
			continue
		}
		// Security: a target computed by another field cannot be checked.
		if f.nested {
			return notAllowed("include field with a computed target")
		}
		// Security: fetching from the web or a share tells whoever runs
		// it when and where a family opened the document (and sends a
		// Windows password hash to a share); a local path fetches nothing
		// on a family's device.
		for _, arg := range strings.Fields(rest[end:]) {
			if fetchesRemote(strings.Trim(arg, "\"'\u201c\u201d")) {
				return notAllowed("field that fetches remote content")
			}
		}
	}
	return nil
}

// fetchesRemote reports whether a field argument names something on the
// network: a web, file or similar address, or a network path (in field
// codes a backslash is doubled, so \\host is written \\\\host).
func fetchesRemote(arg string) bool {
	if len(arg) >= 2 && isSlash(arg[0]) && isSlash(arg[1]) {
		return true
	}
	l := strings.ToLower(arg)
	for _, scheme := range []string{"http:", "https:", "file:", "ftp:", "mhtml:", "webdav:"} {
		if strings.HasPrefix(l, scheme) {
			return true
		}
	}
	return false
}
