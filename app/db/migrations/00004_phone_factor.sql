-- +goose Up
-- The phone factor: the number sealed (AES-GCM, seal package), whether it
-- takes texts, and a masked hint for the page, so showing it needs no key.
ALTER TABLE people
    ADD COLUMN phone_sealed text NOT NULL DEFAULT '',
    ADD COLUMN phone_mobile boolean NOT NULL DEFAULT false,
    ADD COLUMN phone_hint   text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE people DROP COLUMN phone_sealed, DROP COLUMN phone_mobile, DROP COLUMN phone_hint;
