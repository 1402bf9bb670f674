-- +goose Up
-- Ways to confirm it is you beside the phone (issue 15): an authenticator
-- app, passkeys, and recovery codes for when both are lost.

-- One authenticator app per person; the secret sealed (seal, purpose
-- "factors.totp"). last_step is the 30-second step of the last code taken:
-- a code is taken once, and never one older than it.
CREATE TABLE totp_secrets (
    person_id     bigint PRIMARY KEY REFERENCES people(id) ON DELETE CASCADE,
    secret_sealed text NOT NULL,
    last_step     bigint NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL,
    last_used_at  timestamptz
);

-- Ten single-use codes at a time, kept only as keyed hashes (keyhash,
-- purpose "recovery"); making new ones deletes the old.
CREATE TABLE recovery_codes (
    person_id  bigint NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    code_hash  text NOT NULL,
    created_at timestamptz NOT NULL,
    used_at    timestamptz,
    PRIMARY KEY (person_id, code_hash)
);

-- WebAuthn credentials (passkeys), each named by its person. credential is
-- the library's record of it (public key, sign count, flags).
CREATE TABLE passkeys (
    id            bigserial PRIMARY KEY,
    person_id     bigint NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    name          text NOT NULL,
    credential_id bytea NOT NULL UNIQUE,
    credential    jsonb NOT NULL,
    created_at    timestamptz NOT NULL,
    last_used_at  timestamptz
);
CREATE INDEX passkeys_person ON passkeys (person_id);

-- A person's WebAuthn user handle: random, made with their first passkey,
-- so a passkey names the account without naming the person.
ALTER TABLE people ADD COLUMN webauthn_id bytea UNIQUE;

-- When the session's person last proved it was them (signing in, or a
-- fresh check before changing how they sign in).
ALTER TABLE sessions ADD COLUMN checked_at timestamptz;

-- +goose Down
ALTER TABLE sessions DROP COLUMN checked_at;
ALTER TABLE people DROP COLUMN webauthn_id;
DROP TABLE passkeys;
DROP TABLE recovery_codes;
DROP TABLE totp_secrets;
