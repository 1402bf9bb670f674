package overview_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"portal/app/apptest"
	"portal/app/clock"
	"portal/app/overview"
)

func TestMain(m *testing.M) { apptest.Main(m) }

func TestAPeriodIsLondonDaysEndingToday(t *testing.T) {
	// 9:30 on 23 November; 30 days back starts on 25 October, the day the
	// clocks go back (25 hours long).
	now := time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC)
	p := overview.NewPeriod(now, 30)
	if want := time.Date(2026, 10, 24, 23, 0, 0, 0, time.UTC); !p.From.Equal(want) {
		t.Errorf("From = %s, want midnight BST on 25 October (%s)", p.From.UTC(), want)
	}
	if want := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC); !p.To.Equal(want) {
		t.Errorf("To = %s, want midnight ending 23 November (%s)", p.To.UTC(), want)
	}
	dates := p.Dates()
	if len(dates) != 30 || dates[0].Day() != 25 || dates[1].Day() != 26 || dates[29].Day() != 23 {
		t.Fatalf("dates = %v", dates)
	}
	for _, d := range dates {
		if h, m, _ := d.In(clock.London).Clock(); h != 0 || m != 0 {
			t.Errorf("%s is not a London midnight", d)
		}
	}
	for _, tc := range []struct{ asked, want int }{{7, 7}, {90, 90}, {0, 30}, {31, 30}, {-7, 30}} {
		if got := overview.NewPeriod(now, tc.asked).Days; got != tc.want {
			t.Errorf("days=%d gives %d days, want %d", tc.asked, got, tc.want)
		}
	}
}

// daily is a period's counts with the given values on its first days.
func daily(t *testing.T, days int, series int, rows ...[]int64) *overview.Daily {
	t.Helper()
	p := overview.NewPeriod(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC), days)
	d := &overview.Daily{Days: p.Dates(), Series: make([]string, series), Counts: make([][]int64, days)}
	for i := range d.Counts {
		d.Counts[i] = make([]int64, series)
		if i < len(rows) {
			copy(d.Counts[i], rows[i])
		}
	}
	return d
}

func TestColumnsDrawABarPerCountAndScaleToTheTallest(t *testing.T) {
	scale := func(n int64) string { return fmt.Sprint(n) }
	t.Run("stacked", func(t *testing.T) {
		c := overview.Columns(daily(t, 7, 2, []int64{1, 3}, []int64{0, 0}, []int64{2, 0}), true, nil, "a", "b", scale)
		if len(c.Groups) != 7 {
			t.Fatalf("%d groups, want one per day", len(c.Groups))
		}
		if n := len(c.Groups[0].Bars); n != 2 || len(c.Groups[1].Bars) != 0 || len(c.Groups[2].Bars) != 1 {
			t.Fatalf("bars per day: %d, %d, %d; want 2, 0 (nothing to draw), 1", n, len(c.Groups[1].Bars), len(c.Groups[2].Bars))
		}
		first, second := c.Groups[0].Bars[0], c.Groups[0].Bars[1]
		// The day of 4 reaches the top (4); its 1 and 3 are a quarter and three quarters of it, stacked.
		if first.H*3 != second.H || first.Y+0.01 < second.Y+second.H || second.Y != 12 || first.Series != 1 || second.Series != 2 {
			t.Errorf("stacked bars %+v and %+v", first, second)
		}
		if c.Labels[0].Text != "4" || c.Labels[1].Text != "0" || c.Labels[2].Text != "a" || c.Labels[3].Text != "b" {
			t.Errorf("labels %+v", c.Labels)
		}
	})
	t.Run("side by side", func(t *testing.T) {
		c := overview.Columns(daily(t, 30, 2, []int64{2, 1}), false, nil, "a", "b", scale)
		a, b := c.Groups[0].Bars[0], c.Groups[0].Bars[1]
		if a.X >= b.X || a.Y+a.H != b.Y+b.H || a.H != 2*b.H {
			t.Errorf("side-by-side bars %+v and %+v", a, b)
		}
		if right := c.Groups[29].Bars; len(right) != 0 {
			t.Errorf("an empty day has bars %+v", right)
		}
	})
	t.Run("nothing at all", func(t *testing.T) {
		c := overview.Columns(daily(t, 7, 1), true, nil, "a", "b", scale)
		if c.Labels[0].Text != "1" {
			t.Errorf("an empty chart's scale tops at %q, want 1", c.Labels[0].Text)
		}
	})
	t.Run("the scale tops at a round number", func(t *testing.T) {
		for _, tc := range []struct {
			most int64
			top  string
		}{{7, "7"}, {11, "15"}, {42, "50"}, {1234, "1500"}, {90001, "100000"}} {
			c := overview.Columns(daily(t, 7, 1, []int64{tc.most}), true, nil, "a", "b", scale)
			if c.Labels[0].Text != tc.top {
				t.Errorf("most %d: top %s, want %s", tc.most, c.Labels[0].Text, tc.top)
			}
		}
	})
}

func TestRowsDrawABarPerCategoryWithItsNumber(t *testing.T) {
	long := strings.Repeat("Locality team ", 6)
	c := overview.Rows([]string{"Sent", "Accepted", long}, []int64{10, 5, 0}, []string{"10", "5", "0"})
	if len(c.Groups) != 3 || len(c.Groups[0].Bars) != 1 || len(c.Groups[2].Bars) != 0 {
		t.Fatalf("groups %+v", c.Groups)
	}
	if c.Groups[0].Bars[0].W != 2*c.Groups[1].Bars[0].W {
		t.Errorf("10 is not twice as long as 5: %+v %+v", c.Groups[0].Bars[0], c.Groups[1].Bars[0])
	}
	if got := c.Groups[1].Labels[1].Text; got != "5" {
		t.Errorf("the number after the bar is %q", got)
	}
	if label := c.Groups[2].Labels[0].Text; len([]rune(label)) != 40 || !strings.HasSuffix(label, "…") {
		t.Errorf("a long name is drawn as %q, want it cut to 40 characters", label)
	}
	if c.Groups[2].Tip != long+": 0" {
		t.Errorf("the tooltip %q does not have the whole name", c.Groups[2].Tip)
	}
}

// TestTheQueriesUseTheirIndexes fills each table the overview reads with
// rows over two years and checks that each query's plan reads its index
// for the period (or, for messages waiting, the index of the waiting
// only), never the whole table: the cost is the period's, not the table's.
func TestTheQueriesUseTheirIndexes(t *testing.T) {
	d := apptest.NewDB(t)
	ctx := context.Background()
	const n = 20000 // rows per table, one an hour: over two years
	for _, sql := range []string{
		`INSERT INTO teams (name) SELECT 'Team ' || i FROM generate_series(1, 20) i`,
		`INSERT INTO people (email, role) VALUES ('someone@example.org', 'staff')`,
		`INSERT INTO records (kind, case_reference, given_name, family_name, team_id) VALUES ('child', 'X-1', 'A', 'B', (SELECT min(id) FROM teams))`,
		`INSERT INTO message_types (name_en, name_cy, team_id, created_at) VALUES ('T', 'T', (SELECT min(id) FROM teams), now())`,
		`INSERT INTO form_templates (key, version, digest, definition, created_at) VALUES ('k', 1, 'd', '{}', now())`,
		fmt.Sprintf(`INSERT INTO audit_events (at, actor_id, action, target)
			SELECT now() - i * interval '1 hour', 1, CASE WHEN i %% 10 = 0 THEN 'session.signed_in' ELSE 'record.viewed' END,
				CASE WHEN i %% 10 = 0 THEN 'method:text' ELSE 'document:1' END FROM generate_series(1, %d) i`, n),
		fmt.Sprintf(`INSERT INTO invitations (email, team_id, invited_by, state, code_hash, created_at, expires_at, sent_at, accepted_at)
			SELECT 'x@example.net', (SELECT min(id) FROM teams), (SELECT min(id) FROM people), 'accepted', 'h',
				now() - i * interval '1 hour', now(), now() - i * interval '1 hour', now() FROM generate_series(1, %d) i`, n),
		fmt.Sprintf(`INSERT INTO forms (template_id, record_id, person_id, sent_by, created_at, updated_at, submitted_at)
			SELECT (SELECT min(id) FROM form_templates), (SELECT min(id) FROM records), (SELECT min(id) FROM people),
				CASE WHEN i %% 2 = 0 THEN (SELECT min(id) FROM people) END, now() - i * interval '1 hour', now(),
				CASE WHEN i %% 3 = 0 THEN now() - i * interval '50 minutes' END FROM generate_series(1, %d) i`, n),
		fmt.Sprintf(`INSERT INTO threads (record_id, holder_id, type_id, team_id, subject, started_by, created_at, last_message_at, waiting_since)
			SELECT (SELECT min(id) FROM records), (SELECT min(id) FROM people), (SELECT min(id) FROM message_types),
				(SELECT min(id) FROM teams) + i %% 20, 's', (SELECT min(id) FROM people), now() - i * interval '1 hour', now(),
				CASE WHEN i %% 100 = 0 THEN now() - i * interval '1 hour' END FROM generate_series(1, %d) i`, n),
		fmt.Sprintf(`INSERT INTO notify_deliveries (channel, status, at)
			SELECT (ARRAY['email', 'sms', 'voice'])[1 + i %% 3], CASE WHEN i %% 50 = 0 THEN 'failed' ELSE 'sent' END,
				now() - i * interval '1 hour' FROM generate_series(1, %d) i`, n),
		`VACUUM ANALYZE`,
	} {
		if err := d.Gorm.WithContext(ctx).Exec(sql).Error; err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	p := overview.NewPeriod(time.Now(), 30)
	for _, q := range overview.Queries(p) {
		t.Run(q.Name, func(t *testing.T) {
			var plan []string
			if err := d.Gorm.WithContext(ctx).Raw(`EXPLAIN (COSTS OFF) `+q.SQL, q.Args...).Scan(&plan).Error; err != nil {
				t.Fatal(err)
			}
			text := strings.Join(plan, "\n")
			t.Log(text)
			for _, index := range q.Indexes {
				if !strings.Contains(text, index) {
					t.Errorf("the plan does not read %s:\n%s", index, text)
				}
			}
			for _, table := range []string{"audit_events", "invitations", "forms", "threads", "notify_deliveries"} {
				if strings.Contains(text, "Seq Scan on "+table) {
					t.Errorf("the plan reads the whole of %s:\n%s", table, text)
				}
			}
		})
	}
}
