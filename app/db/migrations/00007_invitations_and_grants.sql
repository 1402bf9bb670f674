-- +goose Up
-- How a person comes to hold an account for a record (guides 000, 001,
-- 003): an invitation (one email, one or more records), then a grant per
-- record once a worker activates it. Every expiry is a column the access
-- query compares with the clock; jobs only notify and clean up.

-- A record's placement with a foster carer can end; records also carry
-- the case system's reference and their team (00001).
CREATE INDEX records_team_idx ON records (team_id, family_name, given_name);
-- Team names are unique without regard to case.
CREATE UNIQUE INDEX teams_name_key ON teams (lower(name));

-- An invitation moves: code_sent → code_confirmed (the worker entered the
-- code the person read back, and ticked the checks) → invitation_sent (the
-- link went out) → accepted (account setup done) → active (the worker
-- activated it). It can instead end declined, withdrawn or void (five
-- wrong code entries). "Expired" is not a state: it is expires_at passing.
CREATE TABLE invitations (
    id                  bigserial PRIMARY KEY,
    email               text NOT NULL,
    team_id             bigint NOT NULL REFERENCES teams(id),
    invited_by          bigint NOT NULL REFERENCES people(id),
    state               text NOT NULL CHECK (state IN ('code_sent', 'code_confirmed', 'invitation_sent',
                            'accepted', 'active', 'declined', 'withdrawn', 'void')),
    code_hash           text NOT NULL,          -- keyed hash of the 8-character code
    code_failures       integer NOT NULL DEFAULT 0,
    token_hash          text UNIQUE,            -- keyed hash of the link's token
    person_id           bigint REFERENCES people(id) ON DELETE SET NULL, -- who accepted
    check_identity      boolean NOT NULL DEFAULT false,
    check_responsibility boolean NOT NULL DEFAULT false,
    check_confidentiality boolean NOT NULL DEFAULT false,
    created_at          timestamptz NOT NULL,
    expires_at          timestamptz NOT NULL,   -- of the code, then of the link (14 days each)
    code_confirmed_at   timestamptz,
    sent_at             timestamptz,
    accepted_at         timestamptz,
    activated_at        timestamptz,
    ended_at            timestamptz            -- declined, withdrawn or void
);
CREATE INDEX invitations_email_idx ON invitations (lower(email), state);
CREATE INDEX invitations_team_idx ON invitations (team_id, state);

-- The records of an invitation, each with the person's relationship to it;
-- accepted is the account-setup tick box.
CREATE TABLE invitation_records (
    invitation_id bigint NOT NULL REFERENCES invitations(id) ON DELETE CASCADE,
    record_id     bigint NOT NULL REFERENCES records(id),
    relationship  text NOT NULL CHECK (relationship IN ('parent', 'guardian', 'foster_carer', 'self', 'network')),
    accepted      boolean NOT NULL DEFAULT false,
    PRIMARY KEY (invitation_id, record_id)
);

-- A grant lets one person reach one record. It is in force while
-- revoked_at is null, ends_at (if any) is still ahead, and the person's
-- account is active. ends_at is set when a worker records a placement end:
-- midnight Europe/London at the end of the 7th day after it (guide 002).
CREATE TABLE grants (
    id                 bigserial PRIMARY KEY,
    person_id          bigint NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    record_id          bigint NOT NULL REFERENCES records(id),
    relationship       text NOT NULL CHECK (relationship IN ('parent', 'guardian', 'foster_carer', 'self', 'network')),
    invitation_id      bigint REFERENCES invitations(id) ON DELETE SET NULL,
    granted_by         bigint REFERENCES people(id) ON DELETE SET NULL,
    starts_at          timestamptz NOT NULL,
    placement_ended_on date,
    ends_at            timestamptz,
    end_notice_sent_at timestamptz,
    revoked_at         timestamptz
);
CREATE UNIQUE INDEX grants_one_live_idx ON grants (person_id, record_id) WHERE revoked_at IS NULL;
CREATE INDEX grants_record_idx ON grants (record_id);

-- Accounts never used are deleted after a month (guide 004), warned a week
-- before.
ALTER TABLE people ADD COLUMN retention_warned_at timestamptz;
ALTER TABLE people ADD CONSTRAINT people_status_check CHECK (status IN ('active', 'deactivated'));

-- +goose Down
ALTER TABLE people DROP CONSTRAINT people_status_check;
ALTER TABLE people DROP COLUMN retention_warned_at;
DROP TABLE grants;
DROP TABLE invitation_records;
DROP TABLE invitations;
DROP INDEX teams_name_key;
DROP INDEX records_team_idx;
