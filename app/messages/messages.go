// Package messages is secure messaging (guides 000, 001, 002): threads
// between one holder of a record and the council's team the message type
// routes to, with replies on both sides and drafts that survive.
//
// Invariants:
//   - A thread belongs to one holder of one record: the holder reaches it
//     only as that person, on a record they hold now; co-holders never see
//     each other's threads. Anything else, a foreign id included, is
//     ErrNotFound, answered with the same 404 as a missing thread.
//   - Staff reach a thread only through their team (the team its type
//     routed it to); every staff query takes the team.
//   - Subjects, bodies and drafts are sealed at rest, each bound to its
//     thread or person (seal purposes), so a value cannot be moved.
//   - Unread is a flag per side on the thread, counted through a partial
//     index: the counts do not grow with old messages.
//   - A change that someone may be watching (a new message) notifies
//     "thread:<id>" and "unread:<holder id>" in its own transaction
//     (live.Notify): ids only, delivered on commit. Never "person:<id>":
//     that event says access may have ended, and makes every open page of
//     that person re-authorise (live.StreamOptions.AuthorizeOn).
//   - A live stream reads a thread's new messages once per notification
//     on each machine, whatever the number of its pages open there
//     (sharedAfter); each stream is authorised on its own (stillHolds).
package messages

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"gorm.io/gorm"

	"portal/app/attachments"
	"portal/app/clock"
	"portal/app/db"
	"portal/app/seal"
)

var (
	// ErrNotFound is a thread or type the actor may not reach, or none.
	ErrNotFound = fmt.Errorf("messages: %w", db.ErrNotFound)
)

// BodyMax is the longest message, in characters (guide 002: long
// messages must not be lost or cut).
const BodyMax = 50000

// SubjectMax is the longest subject, in characters.
const SubjectMax = 150

// Type is a message type: who a new message goes to.
type Type struct {
	ID         int64
	NameEN     string `gorm:"column:name_en"`
	NameCY     string `gorm:"column:name_cy"`
	TeamID     int64
	FormKey    *string // the message is this form template's answers
	NameWorker bool    // "Message your worker": the subject names the worker
	Active     bool
	Position   int
	CreatedAt  time.Time
}

// TableName keeps GORM on the message_types table.
func (Type) TableName() string { return "message_types" }

// Name is the type's name in lang.
func (t Type) Name(lang string) string {
	if lang == "cy" && t.NameCY != "" {
		return t.NameCY
	}
	return t.NameEN
}

// Thread is one conversation, its subject opened.
type Thread struct {
	ID            int64
	RecordID      int64
	HolderID      int64
	TypeID        int64
	TeamID        int64
	Subject       string `gorm:"-"`
	SealedSubject string `gorm:"column:subject"`
	StartedBy     int64
	AssignedTo    *int64
	HandledAt     *time.Time
	HolderUnread  bool
	TeamUnread    bool
	CreatedAt     time.Time
	LastMessageAt time.Time
}

// TableName keeps GORM on the threads table.
func (Thread) TableName() string { return "threads" }

// Message is one message of a thread, its body opened.
type Message struct {
	ID         int64
	ThreadID   int64
	AuthorID   int64
	FromStaff  bool
	Body       string `gorm:"-"`
	SealedBody string `gorm:"column:body"`
	FormKey    *string
	// RequestKey is the request's idempotency key hash (web.RequestKey),
	// nil without one: unique, so one send makes one message.
	RequestKey *string
	CreatedAt  time.Time
	// Files are the files it carries: given to Start or Reply (kept in the
	// message's transaction), and read with Files.
	Files []attachments.Upload `gorm:"-"`
}

// TableName keeps GORM on the messages table.
func (Message) TableName() string { return "messages" }

// Store reads and writes message types, threads, messages and drafts.
type Store struct {
	db     *gorm.DB
	clock  clock.Clock
	sealer *seal.Sealer
	files  *attachments.Store // a message's files (nil: none are kept)
	tell   Notifier           // nil: nobody is told
}

// Notifier tells open pages of a change, in the change's transaction
// (live.Notify): a topic and an id.
type Notifier func(ctx context.Context, tx *gorm.DB, topic string, id int64) error

// NewStore returns the store; files keeps messages' files (nil: a message
// with files is refused); notify tells open pages of new messages (nil:
// nobody is told).
func NewStore(db *gorm.DB, clk clock.Clock, s *seal.Sealer, files *attachments.Store, notify Notifier) *Store {
	return &Store{db: db, clock: clk, sealer: s, files: files, tell: notify}
}

// Types lists the message types, the active ones only when active.
func (s *Store) Types(ctx context.Context, active bool) ([]Type, error) {
	q := s.db.WithContext(ctx).Order("position, name_en")
	if active {
		q = q.Where("active")
	}
	var out []Type
	if err := q.Find(&out).Error; err != nil {
		return nil, fmt.Errorf("messages: types: %w", err)
	}
	return out, nil
}

// TypeByID is one active type, or ErrNotFound.
func (s *Store) TypeByID(ctx context.Context, id int64) (*Type, error) {
	var t Type
	err := s.db.WithContext(ctx).Where("id = ? AND active", id).Take(&t).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("messages: type %d: %w", id, err)
	}
	return &t, nil
}

// SaveType creates t (ID 0) or changes it.
func (s *Store) SaveType(ctx context.Context, t *Type) error {
	if t.ID == 0 {
		t.CreatedAt = s.clock.Now()
		if err := s.db.WithContext(ctx).Create(t).Error; err != nil {
			return fmt.Errorf("messages: create type: %w", err)
		}
		return nil
	}
	if err := s.db.WithContext(ctx).Select("name_en", "name_cy", "team_id", "form_key", "name_worker", "active", "position").
		Updates(t).Error; err != nil {
		return fmt.Errorf("messages: save type: %w", err)
	}
	return nil
}

func (s *Store) notify(ctx context.Context, tx *gorm.DB, th *Thread) error {
	if s.tell == nil {
		return nil
	}
	if err := s.tell(ctx, tx, "thread", th.ID); err != nil {
		return err
	}
	return s.tell(ctx, tx, "unread", th.HolderID)
}

func subjectPurpose(thread int64) string { return fmt.Sprintf("thread.subject:%d", thread) }
func bodyPurpose(thread int64) string    { return fmt.Sprintf("message.body:%d", thread) }

// Start begins a thread with its first message, in one transaction. The
// caller has checked that th.HolderID holds th.RecordID and chosen the
// type's team.
func (s *Store) Start(ctx context.Context, th *Thread, first *Message) error {
	return s.sentOnce(ctx, first, s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		now := s.clock.Now()
		th.CreatedAt, th.LastMessageAt = now, now
		th.HolderUnread, th.TeamUnread = first.FromStaff, !first.FromStaff
		th.SealedSubject = "-" // sealed below, once the id binds it
		if err := tx.Create(th).Error; err != nil {
			return fmt.Errorf("messages: start: %w", err)
		}
		sealed, err := s.sealer.Seal(subjectPurpose(th.ID), []byte(th.Subject))
		if err != nil {
			return err
		}
		if err := tx.Model(th).Update("subject", sealed).Error; err != nil {
			return fmt.Errorf("messages: start: %w", err)
		}
		first.ThreadID = th.ID
		return s.add(ctx, tx, th, first)
	}))
}

// add writes m to th in tx and flags th unread for the other side.
func (s *Store) add(ctx context.Context, tx *gorm.DB, th *Thread, m *Message) error {
	sealed, err := s.sealer.Seal(bodyPurpose(th.ID), []byte(m.Body))
	if err != nil {
		return err
	}
	m.SealedBody, m.CreatedAt = sealed, s.clock.Now()
	if err := tx.Create(m).Error; err != nil {
		if m.RequestKey != nil && errors.Is(err, gorm.ErrDuplicatedKey) {
			return errDuplicate
		}
		return fmt.Errorf("messages: add: %w", err)
	}
	if len(m.Files) > 0 {
		if s.files == nil {
			return errors.New("messages: add: no store for files")
		}
		if err := s.files.Save(ctx, tx, th.ID, m.ID, m.Files); err != nil {
			return err
		}
	}
	flags := map[string]any{"last_message_at": m.CreatedAt}
	if m.FromStaff {
		flags["holder_unread"] = true
		flags["waiting_since"] = nil // answered
	} else {
		flags["team_unread"], flags["handled_at"] = true, nil // a holder's new word reopens a handled thread
		// Waiting for a reply since the first of the holder's words the
		// council has not answered (the admin's overview: oldest waiting).
		flags["waiting_since"] = gorm.Expr("coalesce(waiting_since, ?)", m.CreatedAt)
	}
	if err := tx.Model(&Thread{}).Where("id = ?", th.ID).Updates(flags).Error; err != nil {
		return fmt.Errorf("messages: add: %w", err)
	}
	return s.notify(ctx, tx, th)
}

// Reply adds m to thread th (found by the caller for the actor).
func (s *Store) Reply(ctx context.Context, th *Thread, m *Message) error {
	m.ThreadID = th.ID
	return s.sentOnce(ctx, m, s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error { return s.add(ctx, tx, th, m) }))
}

// ErrAlreadySent is Start's or Reply's answer for a message whose request
// (its RequestKey) made it before: nothing was written this time (a
// Start's new thread was rolled back with it). SentBefore says where the
// first went.
var ErrAlreadySent = errors.New("messages: already sent")

// errDuplicate is add's: the transaction is aborted, so the first
// message is looked up after it (sentOnce).
var errDuplicate = errors.New("messages: request key taken")

type sentBefore struct{ thread int64 }

func (e *sentBefore) Error() string   { return ErrAlreadySent.Error() }
func (e *sentBefore) Is(t error) bool { return t == ErrAlreadySent }

// SentBefore is the thread of the message an ErrAlreadySent names.
func SentBefore(err error) (thread int64, ok bool) {
	var e *sentBefore
	if errors.As(err, &e) {
		return e.thread, true
	}
	return 0, false
}

// sentOnce turns a transaction's errDuplicate into ErrAlreadySent with
// the first message's thread.
func (s *Store) sentOnce(ctx context.Context, m *Message, err error) error {
	if !errors.Is(err, errDuplicate) {
		return err
	}
	var thread int64
	if err := s.db.WithContext(ctx).Raw(`SELECT thread_id FROM messages WHERE request_key = ?`, *m.RequestKey).
		Row().Scan(&thread); err != nil {
		return fmt.Errorf("messages: sent before: %w", err)
	}
	return &sentBefore{thread: thread}
}

func (s *Store) open(threads []Thread) error {
	for i := range threads {
		plain, err := s.sealer.Open(subjectPurpose(threads[i].ID), threads[i].SealedSubject)
		if err != nil {
			return fmt.Errorf("messages: subject of %d: %w", threads[i].ID, err)
		}
		threads[i].Subject = string(plain)
	}
	return nil
}

// HolderThreadsOf is every thread person is the holder of, on any record,
// held now or not, oldest first: their own data ("Download my data"). A
// co-holder's threads are not theirs.
func (s *Store) HolderThreadsOf(ctx context.Context, personID int64) ([]Thread, error) {
	var out []Thread
	if err := s.db.WithContext(ctx).Where("holder_id = ?", personID).Order("id").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("messages: threads of %d: %w", personID, err)
	}
	return out, s.open(out)
}

// ForHolder lists person's threads on record, the latest activity first.
func (s *Store) ForHolder(ctx context.Context, personID, recordID int64) ([]Thread, error) {
	var out []Thread
	err := s.db.WithContext(ctx).Where("holder_id = ? AND record_id = ?", personID, recordID).
		Order("last_message_at DESC, id DESC").Limit(200).Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("messages: for holder: %w", err)
	}
	return out, s.open(out)
}

// HolderThread is thread id as person reaches it on record, or ErrNotFound.
func (s *Store) HolderThread(ctx context.Context, personID, recordID, id int64) (*Thread, error) {
	return s.one(ctx, "id = ? AND holder_id = ? AND record_id = ?", id, personID, recordID)
}

func (s *Store) one(ctx context.Context, where string, args ...any) (*Thread, error) {
	var th []Thread
	if err := s.db.WithContext(ctx).Where(where, args...).Limit(1).Find(&th).Error; err != nil {
		return nil, fmt.Errorf("messages: thread: %w", err)
	}
	if len(th) == 0 {
		return nil, ErrNotFound
	}
	return &th[0], s.open(th)
}

// PageSize is how many messages a thread page shows: the newest, and
// "Older messages" for as many before them. A thread shown whole grew
// without end (2,000 messages were a 672 KB page taking ~600 ms); a page
// of 50 reads at most 51 rows through messages_thread_idx, whatever the
// thread's length, and still holds a long conversation's recent turns.
const PageSize = 50

// Messages lists a page of th's messages, oldest first, bodies opened,
// with their authors' names (staff names are shown to holders: guide
// 000): the PageSize messages before message id before, or the newest
// when before is 0. older is the id to ask for the page before this one
// (its first message's), or 0 when this page starts the thread. before
// is only a position: the query is always scoped to th, so an id of
// another thread shows nothing of that thread.
func (s *Store) Messages(ctx context.Context, th *Thread, before int64) (msgs []Posted, older int64, err error) {
	if before <= 0 {
		before = math.MaxInt64
	}
	// One more than a page tells whether there are older messages; the
	// inner query walks the (thread_id, id) index backwards and stops.
	err = s.db.WithContext(ctx).Raw(`SELECT m.*, p.given_name || ' ' || p.family_name AS author_name
		FROM (SELECT * FROM messages WHERE thread_id = ? AND id < ? ORDER BY id DESC LIMIT ?) m
		JOIN people p ON p.id = m.author_id ORDER BY m.id`, th.ID, before, PageSize+1).Scan(&msgs).Error
	if err != nil {
		return nil, 0, fmt.Errorf("messages: messages of %d: %w", th.ID, err)
	}
	if len(msgs) > PageSize {
		msgs = msgs[len(msgs)-PageSize:]
		older = msgs[0].ID
	}
	if err := s.openBodies(th, msgs); err != nil {
		return nil, 0, err
	}
	return msgs, older, nil
}

// messagesAfterSQL reads a thread's messages after an id through
// messages_thread_idx, and each author's name by primary key for the rows
// read, never more. A join let the planner hash all of people when it
// expected many rows (an analysed table, an early cursor, or the generic
// plan of a cached statement, which guesses a third of the thread).
const messagesAfterSQL = `SELECT m.*,
		(SELECT p.given_name || ' ' || p.family_name FROM people p WHERE p.id = m.author_id) AS author_name
	FROM messages m WHERE m.thread_id = ? AND m.id > ? ORDER BY m.id`

// MessagesAfter lists th's messages after message id after (a live
// stream's last), oldest first, opened and named as Messages.
func (s *Store) MessagesAfter(ctx context.Context, th *Thread, after int64) ([]Posted, error) {
	var out []Posted
	err := s.db.WithContext(ctx).Raw(messagesAfterSQL, th.ID, after).Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("messages: messages of %d: %w", th.ID, err)
	}
	if err := s.openBodies(th, out); err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Store) openBodies(th *Thread, msgs []Posted) error {
	for i := range msgs {
		plain, err := s.sealer.Open(bodyPurpose(th.ID), msgs[i].SealedBody)
		if err != nil {
			return fmt.Errorf("messages: body %d: %w", msgs[i].ID, err)
		}
		msgs[i].Body = string(plain)
	}
	return nil
}

// HolderHasThread reports whether thread id is person's on record: what
// HolderThread finds, without reading or opening it (a live stream's
// re-authorisation).
func (s *Store) HolderHasThread(ctx context.Context, personID, recordID, id int64) (bool, error) {
	var ok bool
	err := s.db.WithContext(ctx).Raw(`SELECT EXISTS (SELECT 1 FROM threads WHERE id = ? AND holder_id = ? AND record_id = ?)`,
		id, personID, recordID).Scan(&ok).Error
	if err != nil {
		return false, fmt.Errorf("messages: thread: %w", err)
	}
	return ok, nil
}

// LastMessage is the id of th's newest message (0 when none).
func (s *Store) LastMessage(ctx context.Context, th *Thread) (int64, error) {
	var id int64
	if err := s.db.WithContext(ctx).Raw(`SELECT coalesce(max(id), 0) FROM messages WHERE thread_id = ?`, th.ID).Scan(&id).Error; err != nil {
		return 0, fmt.Errorf("messages: last of %d: %w", th.ID, err)
	}
	return id, nil
}

// Posted is a message with its author's name.
type Posted struct {
	Message
	AuthorName string
	Attached   []attachments.Attachment `gorm:"-"` // read with Files
}

// Files reads the files of msgs (a page of th, oldest first) into each
// one's Attached: one query for the page.
func (s *Store) Files(ctx context.Context, th *Thread, msgs []Posted) error {
	if len(msgs) == 0 || s.files == nil {
		return nil
	}
	byMessage, err := s.files.ForMessages(ctx, th.ID, msgs[0].ID, msgs[len(msgs)-1].ID)
	if err != nil {
		return err
	}
	for i := range msgs {
		msgs[i].Attached = byMessage[msgs[i].ID]
	}
	return nil
}

// ReadByHolder clears th's unread flag for its holder.
func (s *Store) ReadByHolder(ctx context.Context, th *Thread) error {
	return s.clear(ctx, th, "holder_unread")
}

// ReadByTeam clears th's unread flag for its team.
func (s *Store) ReadByTeam(ctx context.Context, th *Thread) error {
	return s.clear(ctx, th, "team_unread")
}

func (s *Store) clear(ctx context.Context, th *Thread, flag string) error {
	if err := s.db.WithContext(ctx).Model(&Thread{}).Where("id = ? AND "+flag, th.ID).Update(flag, false).Error; err != nil {
		return fmt.Errorf("messages: read: %w", err)
	}
	return nil
}

// Unread counts person's threads on record with a message they have not
// read: the dashboard's "New messages" tile.
func (s *Store) Unread(ctx context.Context, personID, recordID int64) (int64, error) {
	var n int64
	err := s.db.WithContext(ctx).Raw(`SELECT count(*) FROM threads WHERE holder_id = ? AND record_id = ? AND holder_unread`,
		personID, recordID).Scan(&n).Error
	if err != nil {
		return 0, fmt.Errorf("messages: unread: %w", err)
	}
	return n, nil
}
