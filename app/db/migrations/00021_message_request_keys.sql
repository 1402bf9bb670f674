-- +goose Up
-- Nothing sent twice (issue 18): a message keeps the hash of the
-- idempotency key of the request that made it (app/idempotency), so the
-- same send can never make a second message, even when its answer was
-- lost after the commit (the database went away) and its key released.
ALTER TABLE messages ADD COLUMN request_key text;
CREATE UNIQUE INDEX messages_request_key ON messages (request_key) WHERE request_key IS NOT NULL;

-- +goose Down
DROP INDEX messages_request_key;
ALTER TABLE messages DROP COLUMN request_key;
