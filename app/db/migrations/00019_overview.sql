-- +goose Up
-- The portal admin's service overview (issue 17): counts by London day over
-- the last 7, 30 or 90 days. Each query reads one index range bounded by
-- the period (or, for messages waiting, an index of only the rows waiting),
-- so it costs the same with a million rows as with a thousand.

-- Sign-ins by way: the event names the way in target ("method:text", …).
-- Only sign-ins are indexed, with their way, for an index-only scan.
CREATE INDEX audit_events_signed_in_idx ON audit_events (at) INCLUDE (target)
    WHERE action = 'session.signed_in';

-- Invitations sent in the period, with what became of them.
CREATE INDEX invitations_sent_idx ON invitations (sent_at) INCLUDE (state, accepted_at, activated_at)
    WHERE sent_at IS NOT NULL;

-- Forms the council sent, and when those were submitted.
CREATE INDEX forms_sent_idx ON forms (created_at) WHERE sent_by IS NOT NULL;
CREATE INDEX forms_submitted_idx ON forms (submitted_at) WHERE sent_by IS NOT NULL AND submitted_at IS NOT NULL;

-- Messages waiting for a reply: since the first of the holder's words the
-- council has not answered (a reply, or marking the thread handled, clears
-- it). team_unread is not it: a worker reading a message does not answer it.
ALTER TABLE threads ADD COLUMN waiting_since timestamptz;
UPDATE threads SET waiting_since = (SELECT min(m.created_at) FROM messages m WHERE m.thread_id = threads.id
    AND NOT m.from_staff
    AND m.id > coalesce((SELECT max(s.id) FROM messages s WHERE s.thread_id = threads.id AND s.from_staff), 0))
WHERE handled_at IS NULL;
CREATE INDEX threads_waiting_idx ON threads (team_id, waiting_since) WHERE waiting_since IS NOT NULL;

-- Every message's outcome with its provider, written by notify's worker: a
-- text or call the provider took (the council pays for it), or a message
-- given up on (cancelled, or its last attempt failed). No recipient and no
-- words: a channel, an outcome and a time.
CREATE TABLE notify_deliveries (
    id      bigserial PRIMARY KEY,
    channel text NOT NULL CHECK (channel IN ('email', 'sms', 'voice')),
    status  text NOT NULL CHECK (status IN ('sent', 'failed')),
    at      timestamptz NOT NULL
);
CREATE INDEX notify_deliveries_at_idx ON notify_deliveries (at) INCLUDE (channel, status);

-- +goose Down
DROP TABLE notify_deliveries;
DROP INDEX threads_waiting_idx;
ALTER TABLE threads DROP COLUMN waiting_since;
DROP INDEX forms_submitted_idx;
DROP INDEX forms_sent_idx;
DROP INDEX invitations_sent_idx;
DROP INDEX audit_events_signed_in_idx;
