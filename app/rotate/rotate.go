// Package rotate re-seals every sealed value with the first key of
// ENCRYPTION_KEYS (`portal rotate-keys`), so that an older key can then be
// removed.
//
// Invariants:
//   - Columns lists every value the portal seals (seal.Sealer.Seal) with
//     the purpose it is bound to; a test fails when a call to Seal appears
//     that the list does not account for.
//   - A value is opened with its own purpose and sealed again with the same
//     purpose: nothing opens under another purpose after rotation that did
//     not before.
//   - The work goes in batches, each its own transaction, in the order of
//     the table's key. A value already under the first key is never
//     selected, so a run that stopped, run again, carries on where it
//     stopped, and a finished run changes nothing.
//   - A batch locks its rows (FOR UPDATE) while it re-seals them, so a
//     value the portal writes meanwhile (with the first key) is never
//     overwritten with an older one.
//   - A value no key opens is left as it is and counted; the run goes on
//     and fails at the end, naming the column, never the value.
//   - Each table gets an audit event ("keys.rotated", target
//     "table:<name>,rows:<n>"), also when a run stops early; no value,
//     plain or sealed, is logged or printed.
package rotate

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"

	"portal/app/audit"
	"portal/app/seal"
)

// Column is one place a sealed value is kept: a text column, or a field of
// a JSON column. Its SQL fragments are constants of this file, never input.
type Column struct {
	Name    string // table.column, or table.column.field for a JSON field
	Table   string
	Key     string // the primary key column, which orders the batches
	Value   string // SQL: the sealed text
	Purpose string // SQL: the purpose the value is sealed for (seal.Sealer.Seal's first argument)
	Set     string // SQL: the assignment of the re-sealed value (one ?); empty: Value = ?
	Where   string // SQL: which rows hold such a value, beyond Value being set; empty: all
}

// Columns is every sealed value of the portal, with the code that seals it.
var Columns = []Column{
	// auth (confirm.go: the number being added), accounts.SetPhone, apptest.GivePhone
	{Name: "people.phone_sealed", Table: "people", Key: "id", Value: "phone_sealed", Purpose: "'person.phone'"},
	// accounts.UpdateProfile
	{Name: "people.address_sealed", Table: "people", Key: "id", Value: "address_sealed", Purpose: "'person.address'"},
	// messages.Store.Start
	{Name: "threads.subject", Table: "threads", Key: "id", Value: "subject", Purpose: "'thread.subject:' || id"},
	// messages.Store.add (Start, Reply)
	{Name: "messages.body", Table: "messages", Key: "id", Value: "body", Purpose: "'message.body:' || thread_id"},
	// messages.Store.SaveDraft
	{Name: "message_drafts.content", Table: "message_drafts", Key: "id", Value: "content", Purpose: "'message.draft:' || person_id"},
	// forms.Store.Save
	{Name: "forms.answers", Table: "forms", Key: "id", Value: "answers", Purpose: "'form.answers:' || id"},
	// factors.Store.SealAppSecret, kept by AddApp
	{Name: "totp_secrets.secret_sealed", Table: "totp_secrets", Key: "person_id", Value: "secret_sealed", Purpose: "'factors.totp'"},
	// idempotency.Store.keep
	{Name: "idempotency_keys.body_sealed", Table: "idempotency_keys", Key: "key_hash", Value: "body_sealed", Purpose: "'idempotency'"},
	// export.Store.store: the key the export's zip is encrypted with, so
	// re-sealing it takes the old key off the zip too.
	{Name: "data_exports.sealed_key", Table: "data_exports", Key: "id", Value: "sealed_key", Purpose: "'export.key:' || id"},
	// auth (confirm.go): a number being added, kept in the session until its code is typed
	{Name: "sessions.data.enrol_phone", Table: "sessions", Key: "id", Value: "data->>'enrol_phone'",
		Set: "data = jsonb_set(data, '{enrol_phone}', to_jsonb(?::text))", Purpose: "'person.phone'"},
	// auth (methods.go): an authenticator app being set up, kept in the session
	{Name: "sessions.data.app_secret", Table: "sessions", Key: "id", Value: "data->>'app_secret'",
		Set: "data = jsonb_set(data, '{app_secret}', to_jsonb(?::text))", Purpose: "'factors.totp'"},
	// notify.Notifier.Send: a queued email, text or call
	{Name: "river_job.args.sealed", Table: "river_job", Key: "id", Value: "args->>'sealed'",
		Set: "args = jsonb_set(args, '{sealed}', to_jsonb(?::text))", Where: "kind = 'notify.send'", Purpose: "'notify.job'"},
}

// DefaultBatch is how many values one transaction re-seals.
const DefaultBatch = 500

// Options say where the values are and how to go through them.
type Options struct {
	DB     *gorm.DB
	Sealer *seal.Sealer // ENCRYPTION_KEYS: the first key seals, the others open
	Audit  *audit.Log
	Batch  int // values per transaction; 0 is DefaultBatch
	// AfterBatch, when set, is called after each committed batch with the
	// column's name and how many of its values this run has re-sealed; an
	// error from it stops the run, which returns it.
	AfterBatch func(column string, resealed int) error
	Columns    []Column // nil is Columns
}

// Result is what a run did to one column.
type Result struct {
	Column   string
	Resealed int // values now under the first key
	Unopened int // values no key of ENCRYPTION_KEYS opens, left as they were
}

// Report is what a run did.
type Report struct {
	Key     string // the first key's id, which every re-sealed value is now under
	Results []Result
}

// Resealed is how many values the run re-sealed.
func (r Report) Resealed() (n int) {
	for _, c := range r.Results {
		n += c.Resealed
	}
	return n
}

// ErrUnopened means some values could not be opened with any key of
// ENCRYPTION_KEYS: they stay as they were, and are unreadable now too.
var ErrUnopened = errors.New("rotate: some values open with no key of ENCRYPTION_KEYS")

// Run re-seals, column by column, every value not under the first key.
// It returns ErrUnopened (after doing all it can) when some value opens
// with no key; the report says which columns hold them.
func Run(ctx context.Context, o Options) (Report, error) {
	if o.Batch <= 0 {
		o.Batch = DefaultBatch
	}
	if o.Columns == nil {
		o.Columns = Columns
	}
	rep := Report{Key: o.Sealer.KeyIDs()[0]}
	err := run(ctx, o, &rep)
	// The trail gets what was done, even when the run stopped early.
	if aerr := auditTables(context.WithoutCancel(ctx), o, rep); aerr != nil {
		err = errors.Join(err, aerr)
	}
	if err != nil {
		return rep, err
	}
	for _, r := range rep.Results {
		if r.Unopened > 0 {
			return rep, ErrUnopened
		}
	}
	return rep, nil
}

func run(ctx context.Context, o Options, rep *Report) error {
	for _, c := range o.Columns {
		rep.Results = append(rep.Results, Result{Column: c.Name})
		res := &rep.Results[len(rep.Results)-1]
		var after any // the last key of the previous batch
		for {
			n, last, err := batch(ctx, o, c, rep.Key, after, res)
			if err != nil {
				return fmt.Errorf("rotate: %s: %w", c.Name, err)
			}
			if n == 0 {
				break
			}
			after = last
			if o.AfterBatch != nil {
				if err := o.AfterBatch(c.Name, res.Resealed); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// batch re-seals, in one transaction, up to o.Batch values of c that are
// not under key and whose row comes after after (nil: from the start). It
// returns how many rows it went through and the last one's key.
func batch(ctx context.Context, o Options, c Column, key string, after any, res *Result) (int, any, error) {
	q := fmt.Sprintf(`SELECT %[1]s, %[2]s, %[3]s FROM %[4]s
		WHERE %[2]s IS NOT NULL AND %[2]s <> '' AND split_part(%[2]s, ':', 1) <> ?`, c.Key, c.Value, c.Purpose, c.Table)
	args := []any{key}
	if c.Where != "" {
		q += " AND (" + c.Where + ")"
	}
	if after != nil {
		q += " AND " + c.Key + " > ?"
		args = append(args, after)
	}
	q += " ORDER BY " + c.Key + " LIMIT ? FOR UPDATE"
	args = append(args, o.Batch)
	set := c.Set
	if set == "" {
		set = c.Value + " = ?"
	}
	update := fmt.Sprintf("UPDATE %s SET %s WHERE %s = ?", c.Table, set, c.Key)

	type row struct {
		key            any
		value, purpose string
	}
	var (
		rows               []row
		resealed, unopened int
	)
	err := o.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		rows, resealed, unopened = rows[:0], 0, 0
		sqlRows, err := tx.Raw(q, args...).Rows()
		if err != nil {
			return err
		}
		defer sqlRows.Close()
		for sqlRows.Next() {
			var r row
			if err := sqlRows.Scan(&r.key, &r.value, &r.purpose); err != nil {
				return err
			}
			rows = append(rows, r)
		}
		if err := sqlRows.Err(); err != nil {
			return err
		}
		sqlRows.Close()
		for _, r := range rows {
			plain, err := o.Sealer.Open(r.purpose, r.value)
			if err != nil {
				unopened++
				continue
			}
			sealed, err := o.Sealer.Seal(r.purpose, plain)
			if err != nil {
				return err
			}
			if err := tx.Exec(update, sealed, r.key).Error; err != nil {
				return err
			}
			resealed++
		}
		return nil
	})
	if err != nil || len(rows) == 0 {
		return 0, nil, err
	}
	res.Resealed += resealed
	res.Unopened += unopened
	return len(rows), rows[len(rows)-1].key, nil
}

// auditTables writes one event per table the run went through.
func auditTables(ctx context.Context, o Options, rep Report) error {
	if o.Audit == nil {
		return nil
	}
	var tables []string
	rows := map[string]int{}
	for i, r := range rep.Results {
		t := o.Columns[i].Table
		if _, seen := rows[t]; !seen {
			tables = append(tables, t)
		}
		rows[t] += r.Resealed
	}
	for _, t := range tables {
		err := o.Audit.Write(ctx, nil, audit.Event{Action: "keys.rotated", Target: fmt.Sprintf("table:%s,rows:%d", t, rows[t])})
		if err != nil {
			return err
		}
	}
	return nil
}

// KeysInUse counts the sealed values under each key id, over every column
// (for backups' manifests, and to tell when a key can be removed). A table
// the database does not have yet (an older schema, backed up as it is)
// holds none.
func KeysInUse(ctx context.Context, db *gorm.DB) (map[string]int64, error) {
	out := map[string]int64{}
	for _, c := range Columns {
		var exists bool
		if err := db.WithContext(ctx).Raw(`SELECT to_regclass(?) IS NOT NULL`, c.Table).Scan(&exists).Error; err != nil {
			return nil, fmt.Errorf("rotate: keys of %s: %w", c.Name, err)
		}
		if !exists {
			continue
		}
		q := fmt.Sprintf(`SELECT split_part(%[1]s, ':', 1), count(*) FROM %[2]s
			WHERE %[1]s IS NOT NULL AND %[1]s <> ''`, c.Value, c.Table)
		if c.Where != "" {
			q += " AND (" + c.Where + ")"
		}
		rows, err := db.WithContext(ctx).Raw(q + " GROUP BY 1").Rows()
		if err != nil {
			return nil, fmt.Errorf("rotate: keys of %s: %w", c.Name, err)
		}
		for rows.Next() {
			var id string
			var n int64
			if err := rows.Scan(&id, &n); err != nil {
				rows.Close()
				return nil, fmt.Errorf("rotate: keys of %s: %w", c.Name, err)
			}
			out[id] += n
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("rotate: keys of %s: %w", c.Name, err)
		}
	}
	return out, nil
}
