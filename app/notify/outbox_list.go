package notify

import (
	"fmt"

	"github.com/gofiber/fiber/v2"

	"portal/app/web"
)

// outboxPage is the data of views/notify/outbox.html.
type outboxPage struct {
	Messages []outboxRow
	JSONPath string
}

// outboxRow is one message as the page shows it.
type outboxRow struct {
	OutboxMessage
	ChannelName string // message id of the channel's name
	AnswerPath  string // calls only: where the answer button posts
}

// channelNames are the message ids of each channel's name on the page.
var channelNames = map[Channel]string{
	Email: "notify.outbox.channel_email",
	SMS:   "notify.outbox.channel_sms",
	Voice: "notify.outbox.channel_voice",
}

// list shows every message the outbox kept, newest first.
func (h *DevHandler) list(c *fiber.Ctx) error {
	msgs, err := h.outbox.List(c.UserContext())
	if err != nil {
		return err
	}
	page := outboxPage{Messages: make([]outboxRow, 0, len(msgs))}
	if page.JSONPath, err = c.GetRouteURL("notify.outbox_json", nil); err != nil {
		return fmt.Errorf("notify: route: %w", err)
	}
	for _, m := range msgs {
		row := outboxRow{OutboxMessage: m, ChannelName: channelNames[m.Channel]}
		if m.Channel == Voice {
			if row.AnswerPath, err = answerPath(c, m.ID); err != nil {
				return fmt.Errorf("notify: route: %w", err)
			}
		}
		page.Messages = append(page.Messages, row)
	}
	// Security: the page shows codes; no browser or proxy keeps a copy.
	c.Set(fiber.HeaderCacheControl, "no-store")
	return h.render.Render(c, web.Page{Template: "notify/outbox", Title: "notify.outbox.title", Data: page})
}
