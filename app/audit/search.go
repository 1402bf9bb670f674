package audit

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
)

// The portal admin's search of the whole trail (staff: the admin's Audit
// trail page and its CSV). Invariants:
//   - It reads; the caller audits every search and every export.
//   - Every query is one ordered index range scan per action, whatever the
//     trail's size (migration 00018 says which index serves which filter):
//     pages are newest first by (At, ID) and continue by keyset from an
//     event's id, never by OFFSET.
//   - Everything is a bound parameter; an action prefix is matched in Go
//     against the trail's own actions, never as a LIKE pattern.

// Filter narrows a search. The zero Filter matches every event.
type Filter struct {
	ActorID  int64 // who did it; 0: anyone
	RecordID int64 // 0: any record, or none
	// Action is an action ("message.sent"), or, ending in a dot, a prefix
	// that stands for every action of the trail starting so ("message.").
	// "": any.
	Action string
	From   time.Time // At on or after; zero: no bound
	To     time.Time // At before; zero: no bound
}

// IsPrefix reports whether the filter's action is a prefix.
func (f Filter) IsPrefix() bool { return strings.HasSuffix(f.Action, ".") }

// Search returns up to limit events that match f, newest first (by At,
// then ID). before continues a search: only events older than the event
// with that id are returned (0: from the newest).
func (l *Log) Search(ctx context.Context, f Filter, before int64, limit int) ([]Event, error) {
	actions, err := l.actionsOf(ctx, f)
	if err != nil || (f.Action != "" && len(actions) == 0) {
		return nil, err
	}
	where, args := f.conditions(before)
	var sql string
	var all []any
	if len(actions) <= 1 {
		if len(actions) == 1 {
			where, args = append(where, "action = ?"), append(args, actions[0])
		}
		sql, all = page(where), append(args, limit)
	} else {
		// One ordered scan per action, merged (Merge Append): a prefix
		// costs a page per action, never a sort of all it matches.
		parts := make([]string, len(actions))
		for i, a := range actions {
			parts[i] = "(" + page(append(where[:len(where):len(where)], "action = ?")) + ")"
			all = append(append(append(all, args...), a), limit)
		}
		sql = "SELECT * FROM (" + strings.Join(parts, " UNION ALL ") + ") e ORDER BY at DESC, id DESC LIMIT ?"
		all = append(all, limit)
	}
	var events []Event
	if err := l.db.WithContext(ctx).Raw(sql, all...).Scan(&events).Error; err != nil {
		return nil, fmt.Errorf("audit: search: %w", err)
	}
	return events, nil
}

// page is one ordered, limited scan of the events matching where.
func page(where []string) string {
	s := "SELECT id, at, actor_id, action, record_id, target, ip, request_id FROM audit_events"
	if len(where) > 0 {
		s += " WHERE " + strings.Join(where, " AND ")
	}
	return s + " ORDER BY at DESC, id DESC LIMIT ?"
}

// conditions are f's, and the keyset's, as SQL with ? parameters.
func (f Filter) conditions(before int64) ([]string, []any) {
	var where []string
	var args []any
	if f.ActorID != 0 {
		where, args = append(where, "actor_id = ?"), append(args, f.ActorID)
	}
	if f.RecordID != 0 {
		where, args = append(where, "record_id = ?"), append(args, f.RecordID)
	}
	if !f.From.IsZero() {
		where, args = append(where, "at >= ?"), append(args, f.From)
	}
	if !f.To.IsZero() {
		where, args = append(where, "at < ?"), append(args, f.To)
	}
	if before != 0 {
		// An id that is not there matches nothing (a NULL row).
		where = append(where, "(at, id) < (SELECT b.at, b.id FROM audit_events b WHERE b.id = ?)")
		args = append(args, before)
	}
	return where, args
}

// actionsOf is the actions f stands for: none for any, its own, or the
// trail's actions that start with its prefix (maybe none).
func (l *Log) actionsOf(ctx context.Context, f Filter) ([]string, error) {
	if f.Action == "" {
		return nil, nil
	}
	if !f.IsPrefix() {
		return []string{f.Action}, nil
	}
	all, err := l.Actions(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, a := range all {
		if strings.HasPrefix(a, f.Action) {
			out = append(out, a)
		}
	}
	return out, nil
}

// Actions lists the actions the trail holds, sorted. It skips from one
// action to the next in the (action, at, id) index: one probe per action,
// not a read of the trail.
func (l *Log) Actions(ctx context.Context) ([]string, error) {
	var out []string
	err := l.db.WithContext(ctx).Raw(`WITH RECURSIVE a(action) AS (
		SELECT min(action) FROM audit_events
		UNION ALL
		SELECT (SELECT min(e.action) FROM audit_events e WHERE e.action > a.action) FROM a WHERE a.action IS NOT NULL
	) SELECT action FROM a WHERE action IS NOT NULL`).Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("audit: actions: %w", err)
	}
	// The database's collation may order punctuation its own way; the
	// page lists them in byte order, prefixes together.
	sort.Strings(out)
	return out, nil
}
