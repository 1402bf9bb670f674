package staff

import (
	"errors"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"portal/app/accounts"
	"portal/app/audit"
	"portal/app/clock"
	"portal/app/i18n"
	"portal/app/messages"
	"portal/app/web"
)

// The portal admin's search of the audit trail (issue 17), and its CSV
// (admin_audit_csv.go). Security:
//   - Admin routes only (mountAdmin): anyone else gets the admin group's 404.
//   - Showing results writes "audit.searched", and a download writes
//     "audit.exported", before a byte of it is sent: looking at the trail
//     is in the trail. Their target is the filter by ids, actions and
//     dates ("filter:actor=12,action=message."): a person searched for
//     by email is named by id, never by the email. Neither names a record
//     (RecordID 0), so a record's history, which its workers read, is
//     unchanged by an admin's searching.
//   - The trail names people and records by id; the page adds the actor's
//     name (an admin sees names on People anyway) and nothing of a record.

// auditPageSize is how many events one page shows.
const auditPageSize = 50

// auditFields are the search form's fields, in the page's order.
var auditFields = []string{"person", "record", "action", "from", "to"}

// actionPattern is an action ("message.sent") or a prefix ("message.").
var actionPattern = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*\.?$`)

// AuditRow is one event as the page shows it.
type AuditRow struct {
	ID                    int64
	At                    string // London, to the second
	ActorID               int64  // 0: none (a scheduled job, or someone not signed in)
	ActorName             string
	ActorGone             bool // the account has been deleted since
	Action, ActionText    string
	RecordID              int64
	Target, IP, RequestID string
}

// AuditOption is one choice of the action select.
type AuditOption struct {
	Value, Label string
	Selected     bool
}

// AuditGroup is the actions of one kind ("message"), under a choice of
// them all ("message.").
type AuditGroup struct {
	Name    string
	Options []AuditOption
}

// AuditView is the search form and a page of what it found.
type AuditView struct {
	Searched    bool
	Rows        []AuditRow
	Other       *AuditOption // an action asked for that the select lacks
	Groups      []AuditGroup
	OlderURL    string // the next page, older events ("": none)
	NewestURL   string // the first page, when this is not it
	CSVURL      string
	ExportLimit string // auditExportLimit, as people read it
}

// adminAudit is the search page; with a search (any of auditFields in
// the query) it shows a page of events, newest first, and audits that.
func (h *Handler) adminAudit(c *fiber.Ctx) error {
	before, err := messages.Before(c)
	if err != nil {
		return err
	}
	form, f, err := h.auditFilter(c)
	if err != nil {
		return err
	}
	if !form.Valid() {
		return h.auditPage(c, form, AuditView{}, fiber.StatusUnprocessableEntity)
	}
	v := AuditView{Searched: searched(c)}
	if !v.Searched {
		return h.auditPage(c, form, v, fiber.StatusOK)
	}
	events, err := h.Audit.Search(c.UserContext(), f, before, auditPageSize+1)
	if err != nil {
		return err
	}
	base := h.Render.Path("staff.admin.audit")
	if len(events) > auditPageSize {
		events = events[:auditPageSize]
		v.OlderURL = base + "?" + auditQuery(form, events[len(events)-1].ID)
	}
	if before != 0 {
		v.NewestURL = base + "?" + auditQuery(form, 0)
	}
	v.CSVURL = h.Render.Path("staff.admin.audit.csv") + "?" + auditQuery(form, 0)
	names := map[int64]actorName{}
	if err := h.actorNames(c, events, names); err != nil {
		return err
	}
	loc := h.Render.Localizer(c)
	for _, e := range events {
		v.Rows = append(v.Rows, auditRow(loc, e, names))
	}
	if err := h.audit(c, "audit.searched", 0, filterTarget(f)); err != nil {
		return err
	}
	return h.auditPage(c, form, v, fiber.StatusOK)
}

// auditPage renders the page with the action select filled in.
func (h *Handler) auditPage(c *fiber.Ctx, form *web.Form, v AuditView, status int) error {
	actions, err := h.Audit.Actions(c.UserContext())
	if err != nil {
		return err
	}
	v.Groups, v.Other = actionChoices(h.Render.Localizer(c), actions, form.Value("action"))
	v.ExportLimit = thousands(auditExportLimit)
	return h.page(c, web.Page{Template: "staff/admin_audit", Title: "staff.admin.audit.title", Data: v,
		Form: form, Status: status})
}

// searched reports whether the form was sent: a GET form sends every
// field, even empty.
func searched(c *fiber.Ctx) bool {
	args := c.Context().QueryArgs()
	for _, f := range auditFields {
		if args.Has(f) {
			return true
		}
	}
	return false
}

// auditFilter reads the search from the query: the form as typed, with
// an error per field that is wrong, and the filter it makes.
func (h *Handler) auditFilter(c *fiber.Ctx) (*web.Form, audit.Filter, error) {
	form := web.NewForm()
	for _, k := range auditFields {
		form.Values[k] = strings.TrimSpace(c.Query(k))
	}
	var f audit.Filter
	if err := h.auditPerson(c, form, &f); err != nil {
		return nil, f, err
	}
	if s := form.Values["record"]; s != "" {
		if id, err := strconv.ParseInt(s, 10, 64); err == nil && id > 0 {
			f.RecordID = id
		} else {
			form.Add("record", "staff.admin.audit.error_record")
		}
	}
	if s := form.Values["action"]; s != "" {
		if len(s) <= 100 && actionPattern.MatchString(s) {
			f.Action = s
		} else {
			form.Add("action", "staff.admin.audit.error_action")
		}
	}
	from, fromOK := londonDay(form, "from", "staff.admin.audit.error_from")
	to, toOK := londonDay(form, "to", "staff.admin.audit.error_to")
	if fromOK && toOK && !from.IsZero() && !to.IsZero() && to.Before(from) {
		form.Add("to", "staff.admin.audit.error_to_before")
	}
	f.From = from
	if !to.IsZero() {
		f.To = to.AddDate(0, 0, 1) // the whole of the last day, in London
	}
	return form, f, nil
}

// auditPerson reads the person field: an account's id, or its email
// address, which must be an account's.
func (h *Handler) auditPerson(c *fiber.Ctx, form *web.Form, f *audit.Filter) error {
	s := form.Values["person"]
	switch {
	case s == "":
	case strings.Contains(s, "@"):
		p, err := h.People.ByEmail(c.UserContext(), s)
		if errors.Is(err, accounts.ErrNotFound) {
			form.Add("person", "staff.admin.audit.error_person_unknown")
			return nil
		}
		if err != nil {
			return err
		}
		f.ActorID = p.ID
	default:
		// An id need not be an account's now: events outlive accounts.
		if id, err := strconv.ParseInt(s, 10, 64); err == nil && id > 0 {
			f.ActorID = id
		} else {
			form.Add("person", "staff.admin.audit.error_person")
		}
	}
	return nil
}

// londonDay reads a date field (YYYY-MM-DD, as a date input sends it) as
// the start of that day in London; ok is false when it is not a date.
func londonDay(form *web.Form, field, key string) (time.Time, bool) {
	s := form.Values[field]
	if s == "" {
		return time.Time{}, true
	}
	d, err := time.ParseInLocation(time.DateOnly, s, clock.London)
	if err != nil {
		form.Add(field, key)
		return time.Time{}, false
	}
	return d, true
}

// auditQuery is the search as a query string, for links to more of it.
func auditQuery(form *web.Form, before int64) string {
	q := url.Values{}
	for _, k := range auditFields {
		q.Set(k, form.Values[k])
	}
	if before != 0 {
		q.Set("before", itoa(before))
	}
	return q.Encode()
}

// filterTarget names a search in the trail. Security: ids, an action and
// dates only: a person given by email is here by id.
func filterTarget(f audit.Filter) string {
	var parts []string
	if f.ActorID != 0 {
		parts = append(parts, "actor="+itoa(f.ActorID))
	}
	if f.RecordID != 0 {
		parts = append(parts, "record="+itoa(f.RecordID))
	}
	if f.Action != "" {
		parts = append(parts, "action="+f.Action)
	}
	if !f.From.IsZero() {
		parts = append(parts, "from="+f.From.In(clock.London).Format(time.DateOnly))
	}
	if !f.To.IsZero() {
		parts = append(parts, "to="+f.To.In(clock.London).AddDate(0, 0, -1).Format(time.DateOnly))
	}
	if len(parts) == 0 {
		return "filter:all"
	}
	return "filter:" + strings.Join(parts, ",")
}

// actorName is an actor as the page names them.
type actorName struct {
	name string
	gone bool // no account has the id now (deleted since)
}

// actorNames adds to names each actor of events it lacks, in one query.
func (h *Handler) actorNames(c *fiber.Ctx, events []audit.Event, names map[int64]actorName) error {
	var missing []int64
	for _, e := range events {
		if e.ActorID == nil {
			continue
		}
		if _, ok := names[*e.ActorID]; !ok {
			names[*e.ActorID] = actorName{}
			missing = append(missing, *e.ActorID)
		}
	}
	found, err := h.People.Names(c.UserContext(), missing)
	if err != nil {
		return err
	}
	for _, id := range missing {
		n, ok := found[id]
		names[id] = actorName{name: n, gone: !ok}
	}
	return nil
}

// auditRow is e as the page shows it, its actor named from names.
func auditRow(loc *i18n.Localizer, e audit.Event, names map[int64]actorName) AuditRow {
	r := AuditRow{ID: e.ID, At: londonTime(loc, e.At), Action: e.Action, ActionText: actionText(loc, e.Action),
		Target: e.Target, IP: e.IP, RequestID: e.RequestID}
	if e.ActorID != nil {
		n := names[*e.ActorID]
		r.ActorID, r.ActorName, r.ActorGone = *e.ActorID, n.name, n.gone
	}
	if e.RecordID != nil {
		r.RecordID = *e.RecordID
	}
	return r
}

// londonTime is t in London, to the second: "1 December 2026, 14:05:09".
func londonTime(loc *i18n.Localizer, t time.Time) string {
	return web.ViewIn(loc).Date(t) + ", " + t.In(clock.London).Format("15:04:05")
}

// actionText is the words for action where the record's history has
// them (staff.audit.<action>), else "".
func actionText(loc *i18n.Localizer, action string) string {
	key := "staff.audit." + action
	if s := loc.T(key); s != key {
		return s
	}
	return ""
}

// actionChoices are the select's groups of the trail's actions, current
// selected; other is current when no choice is it.
func actionChoices(loc *i18n.Localizer, actions []string, current string) ([]AuditGroup, *AuditOption) {
	var groups []AuditGroup
	found := current == ""
	for _, a := range actions {
		kind, _, _ := strings.Cut(a, ".")
		if len(groups) == 0 || groups[len(groups)-1].Name != kind {
			prefix := kind + "."
			groups = append(groups, AuditGroup{Name: kind, Options: []AuditOption{{Value: prefix,
				Label: loc.T("staff.admin.audit.action_prefix", "Prefix", prefix), Selected: current == prefix}}})
		}
		label := a
		if t := actionText(loc, a); t != "" {
			label = t + " (" + a + ")"
		}
		g := &groups[len(groups)-1]
		g.Options = append(g.Options, AuditOption{Value: a, Label: label, Selected: current == a})
	}
	for _, g := range groups {
		for _, o := range g.Options {
			found = found || o.Selected
		}
	}
	if found {
		return groups, nil
	}
	return groups, &AuditOption{Value: current, Label: current, Selected: true}
}

// thousands writes n with commas between thousands: 100,000.
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
