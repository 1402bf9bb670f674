-- +goose Up
-- Failed sign-ins per email, keyed by an HMAC of the normalised address so
-- the table names nobody. Unknown emails are counted too (no enumeration).
CREATE TABLE sign_in_lockouts (
    email_key     text PRIMARY KEY,
    failures      integer NOT NULL DEFAULT 0,
    locked_until  timestamptz,
    updated_at    timestamptz NOT NULL
);

-- +goose Down
DROP TABLE sign_in_lockouts;
