-- +goose Up
-- Devices (browsers) a person has signed in from, so a sign-in from a new
-- one can be told to them. The cookie's token is kept only as a keyed hash.
CREATE TABLE known_devices (
    person_id    bigint NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    token_hash   text NOT NULL,
    created_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    PRIMARY KEY (person_id, token_hash)
);

-- +goose Down
DROP TABLE known_devices;
