package web

import (
	"errors"
	"log/slog"

	"github.com/gofiber/fiber/v2"

	"portal/app/db"
	"portal/storage"
)

// Error is an expected outcome a handler returns: a status and the message
// id that explains it. Anything else a handler returns is unexpected, logged
// with the request id and shown as a plain 500.
type Error struct {
	Status int
	Key    string
	Title  string // the page's title id; empty: the status's
}

func (e *Error) Error() string { return e.Key }

// NotFound is the answer for a missing record and for one the actor may not
// see: the two must be indistinguishable.
func NotFound() error { return &Error{Status: fiber.StatusNotFound, Key: "errors.not_found.body"} }

// Forbidden refuses an action (a bad CSRF token, for instance).
func Forbidden(key string) error { return &Error{Status: fiber.StatusForbidden, Key: key} }

// BadRequest refuses malformed input with a message id.
func BadRequest(key string) error { return &Error{Status: fiber.StatusBadRequest, Key: key} }

// TooManyRequests refuses a request over a rate limit.
func TooManyRequests() error {
	return &Error{Status: fiber.StatusTooManyRequests, Key: "errors.too_many.body"}
}

// StorageDown is the answer when object storage cannot be reached (a file
// cannot be stored or opened just now): 503, and a page that says so. The
// error handler gives it to any error wrapping storage.ErrUnavailable.
func StorageDown() error {
	return &Error{Status: fiber.StatusServiceUnavailable, Key: "errors.storage.body", Title: "errors.storage.title"}
}

// DatabaseDown is the answer when the database cannot be reached: 503,
// and words that say what was typed is kept on the page. The error handler
// gives it to any error for which db.Unavailable is true.
func DatabaseDown() error {
	return &Error{Status: fiber.StatusServiceUnavailable, Key: "errors.database.body", Title: "errors.database.title"}
}

// retryHeader says, on a 503, that nothing of the request was done, so a
// page may send it again as it was: offline.js keeps such a send on the
// device and sends it again when the service answers. Without it a 503
// may follow a commit (the database lost after the handler's transaction),
// and sending again could do the same thing twice.
const retryHeader = "X-Portal-Retry"

// RetrySafe marks the answer as one of nothing done (see retryHeader). A
// handler calls it when it refuses before writing anything (storage down:
// objects are stored before their rows).
func RetrySafe(c *fiber.Ctx) { c.Set(retryHeader, "safe") }

// Begin marks where a request's handler begins: every middleware before
// it only reads, or writes what a retry may write again (the session's
// activity, a rate limit's count, an idempotency claim released on
// failure). An outage before it is answered RetrySafe.
func Begin(c *fiber.Ctx) error {
	c.Locals(begunKey, true)
	return c.Next()
}

const begunKey = "web.begun"

// errorPages maps a status to the message ids of its page.
var errorPages = map[int]string{
	fiber.StatusBadRequest:            "errors.bad_request",
	fiber.StatusForbidden:             "errors.forbidden",
	fiber.StatusNotFound:              "errors.not_found",
	fiber.StatusMethodNotAllowed:      "errors.not_found",
	fiber.StatusRequestEntityTooLarge: "errors.too_large",
	fiber.StatusUnprocessableEntity:   "errors.invalid",
	fiber.StatusTooManyRequests:       "errors.too_many",
	fiber.StatusConflict:              "errors.conflict",
	fiber.StatusInternalServerError:   "errors.server",
	fiber.StatusServiceUnavailable:    "errors.busy",
}

// answer is the page for err: its status, and the message ids of its
// words and title when err says them ("": the status's own). down names
// the part that is down ("database", "storage") when that is the cause.
func answer(err error) (e Error, down string) {
	var we *Error
	var fe *fiber.Error
	switch {
	case errors.As(err, &we):
		return *we, ""
	case errors.Is(err, storage.ErrUnavailable):
		// The file exists (its row says so): not a 404, and not a 500
		// either, since it will open once storage is back.
		return *StorageDown().(*Error), "storage"
	case db.Unavailable(err):
		// Postgres is down or restarting: the page (or the form on it)
		// stays, and its drafts are saved again by the script.
		return *DatabaseDown().(*Error), "database"
	case errors.As(err, &fe):
		return Error{Status: fe.Code}, ""
	case errors.Is(err, db.ErrNotFound):
		// Security: a row that is not there and one that is not the
		// actor's are the same missing page.
		return Error{Status: fiber.StatusNotFound, Key: "errors.not_found.body"}, ""
	}
	return Error{Status: fiber.StatusInternalServerError}, ""
}

// ErrorHandler renders every error a handler returns: a translated page
// with the request id and no internal detail, or, for HTMX, the message in
// the flash region.
func (r *Renderer) ErrorHandler(log *slog.Logger) fiber.ErrorHandler {
	return func(c *fiber.Ctx, err error) error {
		e, down := answer(err)
		status, key, title := e.Status, e.Key, e.Title
		if down != "" {
			log.Warn(down+" unavailable", "request_id", RequestID(c), "route", c.Route().Path, "err", err)
		}
		if down != "" && c.Locals(begunKey) == nil {
			RetrySafe(c)
		}
		if down == "database" && c.Get("HX-Request") != "true" {
			key = "errors.database.page" // a whole page: no form of theirs is on it
		}
		base, ok := errorPages[status]
		if !ok {
			base = errorPages[fiber.StatusInternalServerError]
			if status < 500 {
				base = errorPages[fiber.StatusBadRequest]
			}
		}
		if key == "" {
			key = base + ".body"
		}
		if title == "" {
			title = base + ".title"
		}
		if status == fiber.StatusServiceUnavailable {
			// Busy (auth.ErrBusy): expected in a storm, and soon over.
			if c.GetRespHeader(fiber.HeaderRetryAfter) == "" {
				c.Set(fiber.HeaderRetryAfter, "5")
			}
		} else if status >= 500 {
			log.Error("request failed", "request_id", RequestID(c), "route", c.Route().Path, "err", err)
		}
		c.Set(fiber.HeaderCacheControl, "no-store")
		if c.Get("HX-Request") == "true" {
			// Errors land in the flash region whatever the request targeted.
			c.Set("HX-Retarget", "#flash")
			c.Set("HX-Reswap", "innerHTML")
		}
		page := Page{Template: "errors/error", Fragment: "errors/_message", Title: title,
			Status: status, Data: ErrorData{Key: key, Status: status}, noOOB: true}
		if rerr := r.Render(c, page); rerr != nil {
			log.Error("error page failed", "request_id", RequestID(c), "err", rerr)
			return c.Status(status).SendString(fiber.ErrInternalServerError.Message)
		}
		return nil
	}
}

// ErrorData is what the error page shows.
type ErrorData struct {
	Key    string
	Status int
}
