// Package overview counts how the service is used, for the portal admin's
// service overview (issue 17): sign-ins by way, invitations, messages
// waiting for a reply, forms, texts and calls, and failed deliveries.
//
// Invariants:
//   - Counts only: no query returns a person, a record, an address or any
//     words; a team appears by its name, nothing else is named. The one
//     list, the latest messages given up on (Failures), has a channel, a
//     template's name, a count of attempts and a reason word: notify keeps
//     nothing more.
//   - Postgres counts, Go never loads the rows: every query aggregates in
//     SQL, by London day ((at AT TIME ZONE 'Europe/London')::date), and reads
//     one index range bounded by the period, or an index of only the rows
//     it counts (migration 00019; TestTheQueriesUseTheirIndexes). So a page
//     costs the same with a million rows as with a thousand.
//   - It reads other features' tables and writes none of them: it is a
//     report, not an owner of anything.
package overview

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"portal/app/audit"
	"portal/app/clock"
	"portal/app/notify"
)

// Periods are the choices of period, in days; DefaultPeriod is the first
// page's.
var Periods = []int{7, 30, 90}

// DefaultPeriod is the period when none (or another number) is asked for.
const DefaultPeriod = 30

// Period is the last Days London days, today included.
type Period struct {
	Days     int
	From, To time.Time // From: midnight starting the first day; To: midnight ending today (London)
}

// NewPeriod is the period of days London days that ends with now's day; a
// days that is not one of Periods is DefaultPeriod.
func NewPeriod(now time.Time, days int) Period {
	if !slices.Contains(Periods, days) {
		days = DefaultPeriod
	}
	t := now.In(clock.London)
	return Period{Days: days,
		From: time.Date(t.Year(), t.Month(), t.Day()-days+1, 0, 0, 0, 0, clock.London),
		To:   time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, clock.London)}
}

// Dates are the period's days, oldest first, each at its London midnight.
func (p Period) Dates() []time.Time {
	out := make([]time.Time, p.Days)
	for i := range out {
		// By the calendar, not by 24 hours: a day of the clocks changing
		// is 23 or 25 hours long.
		out[i] = time.Date(p.From.Year(), p.From.Month(), p.From.Day()+i, 0, 0, 0, 0, clock.London)
	}
	return out
}

// dayOf is the London day of a timestamptz column: GROUP BY it.
func dayOf(col string) string { return "(" + col + " AT TIME ZONE 'Europe/London')::date" }

// Daily is a count per day of the period for each of Series.
type Daily struct {
	Days   []time.Time
	Series []string  // keys, e.g. "text", "call"
	Counts [][]int64 // Counts[day][series]
}

func newDaily(p Period, series ...string) *Daily {
	d := &Daily{Days: p.Dates(), Series: series, Counts: make([][]int64, p.Days)}
	for i := range d.Counts {
		d.Counts[i] = make([]int64, len(series))
	}
	return d
}

// add counts n on day (a date as Postgres gives it: midnight UTC) for
// series; a day outside the period or an unknown series is ignored.
func (d *Daily) add(day time.Time, series string, n int64) {
	s := slices.Index(d.Series, series)
	if s < 0 {
		return
	}
	for i, t := range d.Days {
		if y, m, dd := t.Date(); y == day.Year() && m == day.Month() && dd == day.Day() {
			d.Counts[i][s] += n
			return
		}
	}
}

// Totals are each series' sum over the period.
func (d *Daily) Totals() []int64 {
	out := make([]int64, len(d.Series))
	for _, row := range d.Counts {
		for s, n := range row {
			out[s] += n
		}
	}
	return out
}

// Store runs the overview's queries.
type Store struct{ db *gorm.DB }

// NewStore returns the store over db.
func NewStore(db *gorm.DB) *Store { return &Store{db: db} }

// row is one line of a count by day and key.
type row struct {
	Day time.Time
	Key string
	N   int64
}

func (s *Store) rows(ctx context.Context, what, sql string, args ...any) ([]row, error) {
	var out []row
	if err := s.db.WithContext(ctx).Raw(sql, args...).Scan(&out).Error; err != nil {
		return nil, fmt.Errorf("overview: %s: %w", what, err)
	}
	return out, nil
}

// Unrecorded is the sign-in way of events written before the way was
// recorded (their target is empty).
const Unrecorded = "unrecorded"

// signInsSQL counts sign-ins by day and target, from the partial index
// audit_events_signed_in_idx.
var signInsSQL = `SELECT ` + dayOf("at") + ` AS day, target AS key, count(*) AS n FROM audit_events
	WHERE action = '` + audit.SignedIn + `' AND at >= ? AND at < ? GROUP BY 1, 2`

// SignIns counts completed sign-ins by day and by the way the second step
// passed (audit.SignInMethods, then Unrecorded).
func (s *Store) SignIns(ctx context.Context, p Period) (*Daily, error) {
	rows, err := s.rows(ctx, "sign-ins", signInsSQL, p.From, p.To)
	if err != nil {
		return nil, err
	}
	d := newDaily(p, append(slices.Clone(audit.SignInMethods), Unrecorded)...)
	for _, r := range rows {
		way, ok := strings.CutPrefix(r.Key, audit.SignInTarget(""))
		if !ok || !slices.Contains(audit.SignInMethods, way) {
			way = Unrecorded
		}
		d.add(r.Day, way, r.N)
	}
	return d, nil
}

// Funnel is what became of the invitations whose link went out in the
// period: accepted (account set up, not declined) and activated by a
// worker, whenever that happened.
type Funnel struct{ Sent, Accepted, Activated int64 }

// invitationsSQL reads invitations_sent_idx alone (an index-only scan).
const invitationsSQL = `SELECT count(*) AS sent,
		count(*) FILTER (WHERE accepted_at IS NOT NULL AND state <> 'declined') AS accepted,
		count(*) FILTER (WHERE activated_at IS NOT NULL) AS activated
	FROM invitations WHERE sent_at >= ? AND sent_at < ?`

// Invitations is the funnel of the invitations sent in p.
func (s *Store) Invitations(ctx context.Context, p Period) (Funnel, error) {
	var f Funnel
	if err := s.db.WithContext(ctx).Raw(invitationsSQL, p.From, p.To).Scan(&f).Error; err != nil {
		return f, fmt.Errorf("overview: invitations: %w", err)
	}
	return f, nil
}

// TeamWaiting is one team's messages waiting for a reply now.
type TeamWaiting struct {
	TeamID  int64
	Name    string
	Waiting int64
	Oldest  *time.Time // since when the longest-waiting has waited; nil when none waits
}

// waitingSQL counts, per team, the threads waiting for the council's reply
// (threads.waiting_since, set by app/messages) from the partial index
// threads_waiting_idx, which holds only those; every team is listed.
const waitingSQL = `SELECT tm.id AS team_id, tm.name, coalesce(w.waiting, 0) AS waiting, w.oldest
	FROM teams tm LEFT JOIN (
		SELECT team_id, count(*) AS waiting, min(waiting_since) AS oldest FROM threads
		WHERE waiting_since IS NOT NULL GROUP BY team_id
	) w ON w.team_id = tm.id
	ORDER BY lower(tm.name), tm.id`

// Waiting lists every team with its threads waiting for a reply: not
// handled, the holder having written last. It is now, not a period.
func (s *Store) Waiting(ctx context.Context) ([]TeamWaiting, error) {
	var out []TeamWaiting
	if err := s.db.WithContext(ctx).Raw(waitingSQL).Scan(&out).Error; err != nil {
		return nil, fmt.Errorf("overview: waiting: %w", err)
	}
	return out, nil
}

// Form series.
const (
	FormsSent      = "sent"
	FormsSubmitted = "submitted"
)

// formsSQL counts forms the council sent by the day sent, and those
// submitted by the day submitted: each half reads its own partial index.
var formsSQL = `SELECT ` + dayOf("created_at") + ` AS day, 'sent' AS key, count(*) AS n FROM forms
		WHERE sent_by IS NOT NULL AND created_at >= ? AND created_at < ? GROUP BY 1
	UNION ALL
	SELECT ` + dayOf("submitted_at") + ` AS day, 'submitted' AS key, count(*) AS n FROM forms
		WHERE sent_by IS NOT NULL AND submitted_at IS NOT NULL AND submitted_at >= ? AND submitted_at < ? GROUP BY 1`

// Forms counts, by day, the forms the council sent and the forms it sent
// that were submitted (a form a holder started themselves is neither).
func (s *Store) Forms(ctx context.Context, p Period) (*Daily, error) {
	rows, err := s.rows(ctx, "forms", formsSQL, p.From, p.To, p.From, p.To)
	if err != nil {
		return nil, err
	}
	d := newDaily(p, FormsSent, FormsSubmitted)
	for _, r := range rows {
		d.add(r.Day, r.Key, r.N)
	}
	return d, nil
}

// Channel series: notify's channels.
const (
	Email = string(notify.Email)
	SMS   = string(notify.SMS)
	Voice = string(notify.Voice)
)

// deliveriesSQL counts notify_deliveries by day, channel and outcome from
// notify_deliveries_at_idx alone (an index-only scan).
var deliveriesSQL = `SELECT ` + dayOf("at") + ` AS day, channel || ':' || status AS key, count(*) AS n
	FROM notify_deliveries WHERE at >= ? AND at < ? GROUP BY 1, 2`

// Deliveries counts, by day, the texts and calls the providers took (the
// council pays for each) and the messages of each channel given up on.
func (s *Store) Deliveries(ctx context.Context, p Period) (paid, failed *Daily, err error) {
	rows, err := s.rows(ctx, "deliveries", deliveriesSQL, p.From, p.To)
	if err != nil {
		return nil, nil, err
	}
	paid, failed = newDaily(p, SMS, Voice), newDaily(p, Email, SMS, Voice)
	for _, r := range rows {
		channel, status, _ := strings.Cut(r.Key, ":")
		switch status {
		case notify.DeliverySent:
			paid.add(r.Day, channel, r.N) // an email costs nothing: not a series of paid
		case notify.DeliveryFailed:
			failed.add(r.Day, channel, r.N)
		}
	}
	return paid, failed, nil
}

// Failure is one message given up on, as the admins see it: when, how,
// which template, how often it was tried and why it failed (a word of
// notify.Reasons; empty for outcomes recorded before reasons were).
// Security: no recipient and no words, which notify_deliveries never has.
type Failure struct {
	At       time.Time
	Channel  string
	Template string
	Reason   string
	Attempts int
}

// FailuresShown is how many of the period's latest failures are listed.
const FailuresShown = 20

// failuresSQL reads the newest failures of the period from the partial
// index notify_deliveries_failed_idx, which holds only failures.
var failuresSQL = `SELECT at, channel, template, reason, attempts FROM notify_deliveries
	WHERE status = '` + notify.DeliveryFailed + `' AND at >= ? AND at < ? ORDER BY at DESC, id DESC LIMIT ` + fmt.Sprint(FailuresShown)

// Failures lists the period's latest messages given up on, newest first,
// so an admin can see what is failing and why (a provider down, numbers
// refused) and act.
func (s *Store) Failures(ctx context.Context, p Period) ([]Failure, error) {
	var out []Failure
	if err := s.db.WithContext(ctx).Raw(failuresSQL, p.From, p.To).Scan(&out).Error; err != nil {
		return nil, fmt.Errorf("overview: failures: %w", err)
	}
	return out, nil
}
