package staff

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"portal/app/i18n"
	"portal/app/notify"
	"portal/app/overview"
	"portal/app/web"
)

// OverviewView is the service overview: the period and its charts.
// Security: counts only (and team names), and the failed messages' channel,
// template, attempts and reason; nobody is named.
type OverviewView struct {
	Days     int
	Periods  []PeriodLink
	From, To time.Time // the period's first and last day
	Charts   []OverviewChart
	// Failures are the period's latest messages given up on, in the page's
	// words (overview.Failures): no recipient, no words of the message.
	Failures []FailureRow
}

// FailureRow is one message given up on, as the admins read it.
type FailureRow struct {
	When, Channel, Template, Attempts, Reason string
}

// PeriodLink is one choice of period.
type PeriodLink struct {
	Days    int
	Current bool
}

// OverviewChart is one chart and its table, its words in the page's
// language (views/staff/_overview_chart.html).
type OverviewChart struct {
	ID                 string // prefixes the ids of its heading, SVG and table
	Title, Intro, Desc string
	SVG                overview.Chart
	Legend             []LegendItem // none for a single series
	Head               []string     // the table's column headers, the row header's first
	Rows               []OverviewRow
	// Collapsed: the table (a row a day) is in a details element whose
	// summary says Numbers, so four of them do not make the page endless.
	Collapsed bool
	Numbers   string
}

// LegendItem names the colour of a series (its 1-based index).
type LegendItem struct {
	Series int
	Name   string
}

// OverviewRow is one row of a chart's table.
type OverviewRow struct {
	Head  string
	Cells []string
}

// adminOverview is the service overview (?days=7, 30 or 90): how the
// portal is used, as charts drawn here and the tables of their numbers.
func (h *Handler) adminOverview(c *fiber.Ctx) error {
	ctx := c.UserContext()
	days, _ := strconv.Atoi(c.Query("days"))
	p := overview.NewPeriod(h.Clock.Now(), days)
	signIns, err := h.Overview.SignIns(ctx, p)
	if err != nil {
		return err
	}
	funnel, err := h.Overview.Invitations(ctx, p)
	if err != nil {
		return err
	}
	waiting, err := h.Overview.Waiting(ctx)
	if err != nil {
		return err
	}
	forms, err := h.Overview.Forms(ctx, p)
	if err != nil {
		return err
	}
	paid, failed, err := h.Overview.Deliveries(ctx, p)
	if err != nil {
		return err
	}
	failures, err := h.Overview.Failures(ctx, p)
	if err != nil {
		return err
	}
	if err := h.audit(c, "overview.viewed", 0, "period:"+strconv.Itoa(p.Days)); err != nil {
		return err
	}
	w := overviewWords{loc: h.Render.Localizer(c)}
	dates := p.Dates()
	v := OverviewView{Days: p.Days, From: dates[0], To: dates[len(dates)-1], Charts: []OverviewChart{
		w.daily("sign-ins", "signins", "method", signIns, true),
		w.funnel(funnel),
		w.waiting(waiting, h.Clock.Now()),
		w.daily("forms", "forms", "forms", forms, false),
		w.daily("texts-calls", "paid", "channel", paid, false),
		w.daily("failed", "failed", "channel", failed, true),
	}, Failures: w.failures(failures)}
	for _, d := range overview.Periods {
		v.Periods = append(v.Periods, PeriodLink{Days: d, Current: d == p.Days})
	}
	return h.page(c, web.Page{Template: "staff/admin_overview", Title: "staff.admin.overview.title", Data: v})
}

// overviewWords puts the overview's charts into the page's language.
type overviewWords struct{ loc *i18n.Localizer }

const overviewKeys = "staff.admin.overview."

func (w overviewWords) t(id string, args ...any) string { return w.loc.T(overviewKeys+id, args...) }

// daily is the chart of a count per day: title and intro from the
// messages prefix.title and prefix.intro, each series named by
// series_<key>; stacked piles the series on each other.
func (w overviewWords) daily(id, prefix, series string, d *overview.Daily, stacked bool) OverviewChart {
	ch := OverviewChart{ID: id, Title: w.t(prefix + "_title"), Intro: w.t(prefix + "_intro"), Head: []string{w.t("day")},
		Collapsed: true, Numbers: w.t("numbers")}
	names := make([]string, len(d.Series))
	for s, key := range d.Series {
		names[s] = w.t(series + "_" + key)
		ch.Head = append(ch.Head, names[s])
		if len(d.Series) > 1 {
			ch.Legend = append(ch.Legend, LegendItem{Series: s + 1, Name: names[s]})
		}
	}
	view := web.ViewIn(w.loc)
	tips := make([]string, len(d.Days))
	var total, most int64
	for i, day := range d.Days {
		row := OverviewRow{Head: view.Date(day)}
		parts := make([]string, len(d.Series))
		var sum int64
		for s, n := range d.Counts[i] {
			row.Cells = append(row.Cells, count(n))
			parts[s] = names[s] + " " + count(n)
			sum += n
		}
		tips[i] = w.short(day) + ": " + strings.Join(parts, ", ")
		total, most = total+sum, max(most, sum)
		ch.Rows = append(ch.Rows, row)
	}
	totals := OverviewRow{Head: w.t("total")}
	for _, n := range d.Totals() {
		totals.Cells = append(totals.Cells, count(n))
	}
	ch.Rows = append(ch.Rows, totals)
	ch.Desc = w.t("desc_days", "From", view.Date(d.Days[0]), "To", view.Date(d.Days[len(d.Days)-1]),
		"Total", count(total), "Most", count(most))
	ch.SVG = overview.Columns(d, stacked, tips, w.short(d.Days[0]), w.short(d.Days[len(d.Days)-1]), count)
	return ch
}

// funnel is the chart of the invitations sent in the period.
func (w overviewWords) funnel(f overview.Funnel) OverviewChart {
	labels := []string{w.t("invitations_sent"), w.t("invitations_accepted"), w.t("invitations_activated")}
	values := []int64{f.Sent, f.Accepted, f.Activated}
	ch := OverviewChart{ID: "invitations", Title: w.t("invitations_title"), Intro: w.t("invitations_intro"),
		Desc: w.t("invitations_desc", "Sent", count(f.Sent), "Accepted", count(f.Accepted), "Activated", count(f.Activated)),
		Head: []string{w.t("invitations_stage"), w.t("invitations_count")}}
	texts := make([]string, len(values))
	for i, n := range values {
		texts[i] = count(n)
		ch.Rows = append(ch.Rows, OverviewRow{Head: labels[i], Cells: []string{texts[i]}})
	}
	ch.SVG = overview.Rows(labels, values, texts)
	return ch
}

// waiting is the chart of messages waiting for a reply, per team, with the
// oldest one's age in the table.
func (w overviewWords) waiting(teams []overview.TeamWaiting, now time.Time) OverviewChart {
	ch := OverviewChart{ID: "waiting", Title: w.t("waiting_title"), Intro: w.t("waiting_intro"),
		Head: []string{w.t("waiting_team"), w.t("waiting_count"), w.t("waiting_oldest")}}
	labels, values, texts := make([]string, len(teams)), make([]int64, len(teams)), make([]string, len(teams))
	var total, most int64
	for i, tm := range teams {
		labels[i], values[i], texts[i] = tm.Name, tm.Waiting, count(tm.Waiting)
		total, most = total+tm.Waiting, max(most, tm.Waiting)
		age := w.t("waiting_none")
		if tm.Oldest != nil {
			age = w.age(now.Sub(*tm.Oldest))
		}
		ch.Rows = append(ch.Rows, OverviewRow{Head: tm.Name, Cells: []string{texts[i], age}})
	}
	ch.Desc = w.t("waiting_desc", "Total", count(total), "Most", count(most))
	ch.SVG = overview.Rows(labels, values, texts)
	return ch
}

// failures puts the messages given up on into the page's words.
func (w overviewWords) failures(fs []overview.Failure) []FailureRow {
	view := web.ViewIn(w.loc)
	out := make([]FailureRow, 0, len(fs))
	for _, f := range fs {
		reason := f.Reason
		if !slices.Contains(notify.Reasons, reason) {
			reason = "unrecorded"
		}
		out = append(out, FailureRow{When: view.DateTime(f.At), Channel: w.t("channel_" + f.Channel),
			Template: f.Template, Attempts: count(int64(f.Attempts)),
			Reason: w.loc.T("staff.admin.failures.reason_" + reason)})
	}
	return out
}

// age says how long something has waited: in days from a day on, else in
// hours, else "less than an hour".
func (w overviewWords) age(d time.Duration) string {
	switch {
	case d >= 24*time.Hour:
		return w.t("age_days", "Count", int(d/(24*time.Hour)))
	case d >= time.Hour:
		return w.t("age_hours", "Count", int(d/time.Hour))
	}
	return w.t("age_under_hour")
}

// short is a day without its year, under a chart ("25 October").
func (w overviewWords) short(day time.Time) string {
	return fmt.Sprintf("%d %s", day.Day(), w.loc.T(fmt.Sprintf("time.month_%d", int(day.Month()))))
}

// count writes a count with thousands separated by commas, as both
// languages do: 1,234.
func count(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
