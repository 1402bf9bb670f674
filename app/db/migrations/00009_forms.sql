-- +goose Up
-- Items to complete (guides 000, 001): forms the council sends to one
-- holder of a record, saved as they are filled in, then submitted.

-- A template is data (app/formdef/templates/*.yaml), loaded at start. Each
-- change of a template is a new version; a form keeps the version it was
-- sent with, so changing a template never changes a form already sent.
CREATE TABLE form_templates (
    id         bigserial PRIMARY KEY,
    key        text NOT NULL,
    version    integer NOT NULL,
    digest     text NOT NULL,   -- sha256 of the template's canonical form
    definition jsonb NOT NULL,  -- the parsed template
    created_at timestamptz NOT NULL,
    UNIQUE (key, version),
    UNIQUE (key, digest)
);

-- One form, for one holder: each holder gets their own copy.
CREATE TABLE forms (
    id           bigserial PRIMARY KEY,
    template_id  bigint NOT NULL REFERENCES form_templates(id),
    record_id    bigint NOT NULL REFERENCES records(id),
    person_id    bigint NOT NULL REFERENCES people(id),
    sent_by      bigint REFERENCES people(id), -- NULL when the holder started it themselves
    due_on       date,
    answers      text,                         -- sealed JSON (seal, purpose "form.answers:<id>")
    revision     integer NOT NULL DEFAULT 0,   -- +1 at every save: a stale save is refused, not merged
    page         integer NOT NULL DEFAULT 0,   -- the page the holder was last on
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    submitted_at timestamptz,
    document_id  bigint REFERENCES documents(id), -- the completed copy in Items to view
    withdrawn_at timestamptz
);
-- The dashboard's "Items to complete" count reads only forms waiting.
CREATE INDEX forms_waiting_idx ON forms (person_id, record_id) WHERE submitted_at IS NULL AND withdrawn_at IS NULL;
CREATE INDEX forms_record_idx ON forms (record_id, created_at DESC);

-- +goose Down
DROP TABLE forms;
DROP TABLE form_templates;
