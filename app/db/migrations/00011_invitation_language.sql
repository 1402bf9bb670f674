-- +goose Up
-- The language of an invitation's emails, chosen by the worker for a person
-- who has no account yet (one who has gets theirs, from their profile).
ALTER TABLE invitations ADD COLUMN lang text NOT NULL DEFAULT 'en' CHECK (lang IN ('en', 'cy'));

-- +goose Down
ALTER TABLE invitations DROP COLUMN lang;
