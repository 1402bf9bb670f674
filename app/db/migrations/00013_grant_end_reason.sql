-- +goose Up
-- A worker may end one holder's access to one record ("End access"): who
-- did and why are kept with the grant (the reason is the worker's words
-- about the family, so it is shown to staff only).
ALTER TABLE grants ADD COLUMN revoked_by bigint REFERENCES people(id);
ALTER TABLE grants ADD COLUMN revoked_reason text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE grants DROP COLUMN revoked_reason;
ALTER TABLE grants DROP COLUMN revoked_by;
