-- +goose Up
-- Providers down (issue 18): each outcome names its queued job, so a retry
-- whose message the provider already took is not sent again (at most one
-- "sent" per job), and a message given up on says, for the admins, what it
-- was (the template's name), how often it was tried and why it failed (a
-- word from a closed list: refused, unavailable, timeout…). Still no
-- recipient and no words.
ALTER TABLE notify_deliveries
    ADD COLUMN job_id   bigint,
    ADD COLUMN template text NOT NULL DEFAULT '',
    ADD COLUMN reason   text NOT NULL DEFAULT '',
    ADD COLUMN attempts integer NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX notify_deliveries_job_sent_idx ON notify_deliveries (job_id) WHERE status = 'sent';
CREATE INDEX notify_deliveries_failed_idx ON notify_deliveries (at) WHERE status = 'failed';

-- +goose Down
DROP INDEX notify_deliveries_failed_idx;
DROP INDEX notify_deliveries_job_sent_idx;
ALTER TABLE notify_deliveries DROP COLUMN attempts, DROP COLUMN reason, DROP COLUMN template, DROP COLUMN job_id;
