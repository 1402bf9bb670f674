package app

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"
	"gorm.io/gorm"

	"portal/app/access"
	"portal/app/accounts"
	"portal/app/attachments"
	"portal/app/auth"
	"portal/app/documents"
	"portal/app/export"
	"portal/app/factors"
	"portal/app/forms"
	"portal/app/invitations"
	"portal/app/live"
	"portal/app/messages"
	"portal/app/notify"
	"portal/app/ops"
	"portal/app/overview"
	"portal/app/pages"
	"portal/app/records"
	"portal/app/staff"
	"portal/app/uploads"
	"portal/app/web"
)

// routes is the one route table. It denies by default: a route is public
// only when it is mounted on pub; everything else, known or not, needs AAL2
// first (so an anonymous visitor learns nothing of which pages exist), the
// staff group a staff role too; a signed-in person gets 404 for anything
// not in the table, and for the staff view unless they are staff.
func routes(a *App, d Deps) error {
	people := accounts.NewStore(d.DB.Gorm)
	key := d.Config.SessionKeyBytes()
	authH := auth.NewHandler(auth.Deps{Sessions: a.Sessions, Render: a.Render, People: people, Audit: a.Audit,
		Limiter: a.Limiter, Hasher: d.Hasher, Notifier: d.Notifier,
		Lockout: auth.NewLockout(d.DB.Gorm, d.Clock, key), Devices: auth.NewDevices(d.DB.Gorm, d.Clock, key),
		Codes: a.Codes, Calls: a.Calls, Factors: factors.NewStore(d.DB.Gorm, d.Clock, a.Sealer, key), Passkeys: a.Passkeys,
		Sealer: a.Sealer, Clock: d.Clock, Log: d.Log,
		Secure: d.Config.IsProduction(), Regions: d.Config.PhoneRegions(), StaffPasskeys: d.Config.StaffPasskeys, Key: key,
		Metrics: d.Metrics})

	pub := a.Group("")
	ops.NewHandler(map[string]ops.Pinger{"database": d.DB, "storage": d.Store}).Mount(pub)
	pages.NewHandler(a.Render).Mount(pub)
	authH.MountPublic(pub)
	grants := access.NewStore(d.DB.Gorm, d.Clock)
	invites := invitations.NewStore(d.DB.Gorm, d.Clock, key)
	invitationsH := invitations.NewHandler(invitations.Deps{Render: a.Render, Store: invites, People: people, Audit: a.Audit})
	invitationsH.MountPublic(pub)
	// Always mounted; a 404 unless a voice provider is Twilio. It proves
	// itself by signature (web.CSRFExempt).
	notify.NewVoiceCallbacks(d.Config, d.Bundle, authH.VoiceAnswered).Mount(pub)
	if d.Config.IsDevelopment() {
		// The dev outbox exists only in development; elsewhere it is a 404.
		notify.NewDevHandler(d.DB.Gorm, a.Render, d.Config.BaseURL, authH.VoiceAnswered).Mount(pub)
	}

	accountsH := accounts.NewHandler(accounts.Deps{Render: a.Render, People: people, Audit: a.Audit, Clock: d.Clock,
		Sessions: a.Sessions, Routes: a.Routes, Sealer: a.Sealer, Secure: d.Config.IsProduction()})
	signedIn := a.Group("", authH.RequireSignedIn(), accountsH.RequireTerms())
	authH.MountSignedIn(signedIn)
	accountsH.Mount(signedIn)
	invitationsH.MountSignedIn(signedIn)
	files := attachments.NewStore(d.DB.Gorm, d.Store, d.Clock)
	msgs := messages.NewStore(d.DB.Gorm, d.Clock, a.Sealer, files, func(ctx context.Context, tx *gorm.DB, topic string, id int64) error {
		return live.Notify(ctx, tx, live.Event{Topic: topic, ID: id})
	})
	docs := documents.NewStore(d.DB.Gorm, d.Clock)
	counts := map[string]access.Counter{"messages": msgs.Unread, "documents": docs.Unopened, "forms": a.Forms.Count}
	holdersH := access.NewHandler(access.Deps{Render: a.Render, Store: grants, Audit: a.Audit,
		Pending: invitationsH.Pending, Contact: records.NewStore(d.DB.Gorm).ContactOf,
		Counts: counts})
	record := holdersH.Mount(signedIn)
	documents.NewHandler(documents.Deps{Render: a.Render, Store: docs, Objects: d.Store, Audit: a.Audit}).Mount(record)
	messagesH := messages.NewHandler(messages.Deps{Render: a.Render, Store: msgs, Forms: a.Forms, People: people, Audit: a.Audit,
		Sessions: a.Sessions, Notifier: d.Notifier, Clock: d.Clock, Access: grants, Hub: a.Hub, Limiter: a.Limiter, Files: files, Scanner: scanner(d), Counts: counts,
		RecordingsKept: time.Duration(d.Config.RecordingsKept) * 24 * time.Hour, Heartbeat: d.Heartbeat})
	messagesH.Mount(record)
	messagesH.MountAccount(signedIn)
	forms.NewHandler(forms.Deps{DB: d.DB.Gorm, Render: a.Render, Store: a.Forms, Documents: docs, Objects: d.Store,
		People: people, Audit: a.Audit, Sessions: a.Sessions, Notifier: d.Notifier, Clock: d.Clock}).Mount(record)
	a.Exports = export.NewStore(d.DB.Gorm, d.Store, a.Sealer, d.Clock)
	exports, err := export.New(export.Deps{Store: a.Exports, Queue: d.Queue, Notifier: d.Notifier, People: people, Audit: a.Audit,
		Log: d.Log, Sources: export.Sources{DB: d.DB.Gorm, Sealer: a.Sealer, Objects: d.Store, Messages: msgs, Files: files,
			Forms: a.Forms, Bundle: d.Bundle, Clock: d.Clock},
		PersonLink: func() string { return a.Routes.Path("export.page") },
		AdminLink:  func(person int64) string { return a.Routes.Path("staff.admin.person", person) }})
	if err != nil {
		return err
	}
	exportH := &export.Handler{Service: exports, Render: a.Render, Sessions: a.Sessions, Limiter: a.Limiter}
	exportH.MountAccount(signedIn)

	staffH := staff.NewHandler(staff.Deps{DB: d.DB.Gorm, Render: a.Render, People: people,
		Records: records.NewStore(d.DB.Gorm), Access: grants, Invitations: invites, Documents: docs, Forms: a.Forms, Messages: msgs, Files: files, Exports: exportH, Objects: d.Store, Scanner: scanner(d), Audit: a.Audit, Sessions: a.Sessions, Sealer: a.Sealer,
		Notifier: d.Notifier, Overview: overview.NewStore(d.DB.Gorm), Clock: d.Clock})
	staffGroup := signedIn.Group("/staff", authH.RequireStaff(), authH.RequireStaffPasskey())
	staffH.Mount(staffGroup)

	a.Use(func(c *fiber.Ctx) error { return web.NotFound() })
	return nil
}

// scanner is the virus scanner uploads go through: NoScan unless one is given.
func scanner(d Deps) uploads.Scanner {
	if d.Scanner == nil {
		return uploads.NoScan{}
	}
	return d.Scanner
}
