-- +goose Up
-- Before first use a person confirms the terms and privacy notice and
-- chooses about updates (guide 004); both are kept with their time.
ALTER TABLE people
    ADD COLUMN terms_accepted_at timestamptz,
    ADD COLUMN updates_opt_in    boolean NOT NULL DEFAULT false,
    ADD COLUMN updates_chosen_at timestamptz;

-- +goose Down
ALTER TABLE people DROP COLUMN terms_accepted_at, DROP COLUMN updates_opt_in, DROP COLUMN updates_chosen_at;
