package staff

import (
	"bytes"
	"encoding/csv"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"portal/app/audit"
	"portal/app/clock"
	"portal/app/web"
)

// auditExportLimit is the most events one download holds, newest first:
// the file is made in memory (a few tens of MB at most) before a byte is
// sent, so a failure is an error page, never a file cut short. The page
// says so, and a file that stops there is named so.
const auditExportLimit = 100_000

// auditExportBatch is how many events each query of a download reads.
const auditExportBatch = 1000

// auditColumns are the CSV's column headings' message ids.
var auditColumns = []string{"time", "actor_id", "actor_name", "action", "action_text", "record", "target", "ip",
	"request_id"}

// adminAuditCSV downloads what the search finds (the same query as the
// page) as CSV, audited as "audit.exported" with the filter and the count.
func (h *Handler) adminAuditCSV(c *fiber.Ctx) error {
	form, f, err := h.auditFilter(c)
	if err != nil {
		return err
	}
	if !form.Valid() {
		return h.auditPage(c, form, AuditView{}, fiber.StatusUnprocessableEntity)
	}
	var buf bytes.Buffer
	rows, more, err := h.writeAuditCSV(c, &buf, f)
	if err != nil {
		return err
	}
	// Security: audited before anything is sent; no event, no file.
	if err := h.audit(c, "audit.exported", 0, filterTarget(f)+",rows="+strconv.Itoa(rows)); err != nil {
		return err
	}
	name := "audit-events-" + clock.Today(h.Clock).Format(time.DateOnly)
	if more {
		name += "-newest-" + strconv.Itoa(auditExportLimit)
	}
	return web.SendFile(c, io.NopCloser(&buf), int64(buf.Len()), "text/csv; charset=utf-8", name+".csv")
}

// writeAuditCSV writes the events f finds, newest first, up to
// auditExportLimit, a batch at a time; more reports whether there were
// more than that.
func (h *Handler) writeAuditCSV(c *fiber.Ctx, out *bytes.Buffer, f audit.Filter) (rows int, more bool, err error) {
	loc := h.Render.Localizer(c)
	// A byte order mark: spreadsheets then read the file as UTF-8 (Welsh
	// names and words).
	out.WriteString("\ufeff")
	w := csv.NewWriter(out)
	head := make([]string, len(auditColumns))
	for i, col := range auditColumns {
		head[i] = loc.T("staff.admin.audit.csv." + col)
	}
	if err := w.Write(head); err != nil {
		return 0, false, err
	}
	names := map[int64]actorName{}
	var before int64
	for rows < auditExportLimit {
		n := min(auditExportBatch, auditExportLimit-rows)
		events, err := h.Audit.Search(c.UserContext(), f, before, n)
		if err != nil {
			return 0, false, err
		}
		if err := h.actorNames(c, events, names); err != nil {
			return 0, false, err
		}
		for _, e := range events {
			if err := w.Write(csvRecord(auditRow(loc, e, names), e)); err != nil {
				return 0, false, err
			}
		}
		rows += len(events)
		if len(events) < n {
			w.Flush()
			return rows, false, w.Error()
		}
		before = events[len(events)-1].ID
	}
	next, err := h.Audit.Search(c.UserContext(), f, before, 1)
	if err != nil {
		return 0, false, err
	}
	w.Flush()
	return rows, len(next) > 0, w.Error()
}

// csvRecord is one event's row, each cell made safe for a spreadsheet.
func csvRecord(r AuditRow, e audit.Event) []string {
	id := func(n int64) string {
		if n == 0 {
			return ""
		}
		return strconv.FormatInt(n, 10)
	}
	cells := []string{e.At.In(clock.London).Format(time.RFC3339), id(r.ActorID), r.ActorName, r.Action,
		r.ActionText, id(r.RecordID), r.Target, r.IP, r.RequestID}
	for i, s := range cells {
		cells[i] = csvCell(s)
	}
	return cells
}

// csvCell is s as a spreadsheet will not run it. Security (CSV formula
// injection): a cell starting with = + - @, a tab or a carriage return
// is read as a formula by Excel and others; a leading ' makes it text.
// Names are typed by the people themselves, so any cell may try.
func csvCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
