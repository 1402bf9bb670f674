-- +goose Up
-- "Call Me": one row per call the portal places. The challenge id the
-- provider carries back when the person presses # is stored only as a keyed
-- hash; the number only as a keyed hash too. A call counts once: answered
-- (the # arrived for this very row), then used by the browser that asked.
CREATE TABLE phone_calls (
    id           bigserial PRIMARY KEY,
    token_hash   text NOT NULL UNIQUE,
    person_id    bigint NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    purpose      text NOT NULL,
    number_key   text NOT NULL,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    answered_at  timestamptz,
    used_at      timestamptz
);
CREATE INDEX phone_calls_person_idx ON phone_calls (person_id, created_at DESC);

-- Staff remove a phone number the holder no longer has (guide 002); the
-- holder may enrol a new one, after an emailed code, within 72 hours.
-- The address is personal data, so it is sealed like the phone number.
ALTER TABLE people
    ADD COLUMN phone_removed_at timestamptz,
    ADD COLUMN address_sealed   text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE people DROP COLUMN phone_removed_at, DROP COLUMN address_sealed;
DROP TABLE phone_calls;
