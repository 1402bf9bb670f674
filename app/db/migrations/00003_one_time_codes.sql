-- +goose Up
-- One-time codes (email verification, password reset, phone). The code is
-- stored only as a keyed hash; the subject (an email or a number) only as a
-- keyed hash too. Wrong tries count per subject and purpose, across codes,
-- so "Send new code" never resets them.
CREATE TABLE one_time_codes (
    id          bigserial PRIMARY KEY,
    purpose     text NOT NULL,
    subject_key text NOT NULL,
    code_hash   text NOT NULL,
    failures    integer NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    replaced_at timestamptz
);
CREATE INDEX one_time_codes_subject_idx ON one_time_codes (purpose, subject_key, created_at DESC);

-- +goose Down
DROP TABLE one_time_codes;
