-- +goose Up
-- Secure messages (guides 000, 001, 002): threads between one holder of a
-- record and the council, routed by message type to a team's inbox.

-- A message type decides who receives a new message (guide 000: "This
-- will decide who the message goes to"). Portal admins manage them.
CREATE TABLE message_types (
    id            bigserial PRIMARY KEY,
    name_en       text NOT NULL,
    name_cy       text NOT NULL,
    team_id       bigint NOT NULL REFERENCES teams(id),
    form_key      text,                      -- a form template's key: the message is that form
    name_worker   boolean NOT NULL DEFAULT false, -- "Message your worker": ask for the worker's name
    active        boolean NOT NULL DEFAULT true,
    position      integer NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL
);
CREATE UNIQUE INDEX message_types_name_key ON message_types (lower(name_en));

-- A thread is one holder's conversation about one record; co-holders never
-- see each other's. The unread flags are what the dashboard and the team
-- inbox count: one partial index each, so old messages cost nothing.
CREATE TABLE threads (
    id               bigserial PRIMARY KEY,
    record_id        bigint NOT NULL REFERENCES records(id),
    holder_id        bigint NOT NULL REFERENCES people(id),
    type_id          bigint NOT NULL REFERENCES message_types(id),
    team_id          bigint NOT NULL REFERENCES teams(id), -- the type's team when the thread began
    subject          text NOT NULL,             -- sealed ("thread.subject:<id>")
    started_by       bigint NOT NULL REFERENCES people(id),
    assigned_to      bigint REFERENCES people(id),
    handled_at       timestamptz,
    holder_unread    boolean NOT NULL DEFAULT false,
    team_unread      boolean NOT NULL DEFAULT false,
    created_at       timestamptz NOT NULL,
    last_message_at  timestamptz NOT NULL
);
CREATE INDEX threads_holder_idx ON threads (holder_id, record_id, last_message_at DESC);
CREATE INDEX threads_holder_unread_idx ON threads (holder_id, record_id) WHERE holder_unread;
CREATE INDEX threads_team_idx ON threads (team_id, last_message_at DESC);
CREATE INDEX threads_team_unread_idx ON threads (team_id) WHERE team_unread;

CREATE TABLE messages (
    id         bigserial PRIMARY KEY,
    thread_id  bigint NOT NULL REFERENCES threads(id),
    author_id  bigint NOT NULL REFERENCES people(id),
    from_staff boolean NOT NULL,
    body       text NOT NULL,                   -- sealed ("message.body:<thread id>")
    form_key   text,                            -- the body is a form's answers (JSON) of this template
    created_at timestamptz NOT NULL
);
CREATE INDEX messages_thread_idx ON messages (thread_id, id);

-- What a person is writing, saved as they type (guide 002: nothing lost on
-- a timeout): one draft per person for a new message on a record, and one
-- per thread for a reply. Sealed; deleted when sent.
CREATE TABLE message_drafts (
    id         bigserial PRIMARY KEY,
    person_id  bigint NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    record_id  bigint NOT NULL REFERENCES records(id),
    thread_id  bigint REFERENCES threads(id),
    content    text NOT NULL,                   -- sealed JSON ("message.draft:<person id>")
    updated_at timestamptz NOT NULL
);
CREATE UNIQUE INDEX message_drafts_key ON message_drafts (person_id, record_id, coalesce(thread_id, 0));

-- +goose Down
DROP TABLE message_drafts;
DROP TABLE messages;
DROP TABLE threads;
DROP TABLE message_types;
