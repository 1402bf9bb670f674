-- +goose Up
-- The foundation: people, teams and records (first cut; features extend
-- them), sessions, rate limits, the audit trail and the notification outbox.

CREATE TABLE teams (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE people (
    id             bigserial PRIMARY KEY,
    email          text NOT NULL,
    given_name     text NOT NULL DEFAULT '',
    family_name    text NOT NULL DEFAULT '',
    password_hash  text NOT NULL DEFAULT '',
    role           text NOT NULL CHECK (role IN ('citizen', 'staff')),
    staff_role     text NOT NULL DEFAULT '' CHECK (staff_role IN ('', 'worker', 'team_manager', 'portal_admin')),
    team_id        bigint REFERENCES teams(id),
    status         text NOT NULL DEFAULT 'active',
    locale         text NOT NULL DEFAULT 'en',
    last_sign_in_at timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
-- Emails are compared case-insensitively, once.
CREATE UNIQUE INDEX people_email_key ON people (lower(email));

CREATE TABLE records (
    id                 bigserial PRIMARY KEY,
    kind               text NOT NULL CHECK (kind IN ('child', 'foster_carer', 'adult')),
    case_reference     text NOT NULL UNIQUE,
    given_name         text NOT NULL,
    family_name        text NOT NULL,
    date_of_birth      date,
    team_id            bigint NOT NULL REFERENCES teams(id),
    allocated_worker_id bigint REFERENCES people(id),
    created_at         timestamptz NOT NULL DEFAULT now()
);

-- Sessions: the token is stored only as a keyed hash; a stolen copy of this
-- table opens nothing. Anonymous visitors get a row too, for their CSRF token.
CREATE TABLE sessions (
    id              bigserial PRIMARY KEY,
    token_hash      bytea NOT NULL UNIQUE,
    person_id       bigint REFERENCES people(id) ON DELETE CASCADE,
    aal             smallint NOT NULL DEFAULT 0,
    csrf_token      text NOT NULL,
    data            jsonb NOT NULL DEFAULT '{}',
    flash           jsonb,
    created_at      timestamptz NOT NULL,
    last_active_at  timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL
);
CREATE INDEX sessions_person_idx ON sessions (person_id);
CREATE INDEX sessions_expiry_idx ON sessions (expires_at);

-- Fixed-window counters shared by every app machine.
CREATE TABLE rate_limits (
    key           text NOT NULL,
    window_start  timestamptz NOT NULL,
    hits          integer NOT NULL,
    PRIMARY KEY (key, window_start)
);

-- The audit trail is append-only: the trigger below refuses UPDATE and
-- DELETE for every role but a superuser that disables it on purpose, and
-- TRUNCATE is revoked.
CREATE TABLE audit_events (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL,
    actor_id    bigint,
    action      text NOT NULL,
    record_id   bigint,
    target      text NOT NULL DEFAULT '',
    ip          text NOT NULL DEFAULT '',
    request_id  text NOT NULL DEFAULT ''
);
CREATE INDEX audit_events_record_idx ON audit_events (record_id, at);
CREATE INDEX audit_events_actor_idx ON audit_events (actor_id, at);

-- +goose StatementBegin
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();
REVOKE UPDATE, DELETE, TRUNCATE ON audit_events FROM PUBLIC;

-- Every email, SMS and call, as handed to the provider. In development the
-- outbox provider stops here and /dev/outbox shows it.
CREATE TABLE outbox_messages (
    id           bigserial PRIMARY KEY,
    channel      text NOT NULL CHECK (channel IN ('email', 'sms', 'voice')),
    recipient    text NOT NULL,
    subject      text NOT NULL DEFAULT '',
    body         text NOT NULL,
    answer_token text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL
);

-- +goose Down
DROP TABLE outbox_messages;
DROP TABLE audit_events;
DROP FUNCTION audit_events_append_only;
DROP TABLE rate_limits;
DROP TABLE sessions;
DROP TABLE records;
DROP TABLE people;
DROP TABLE teams;
