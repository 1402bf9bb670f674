-- +goose Up
-- Items to view (guides 000, 001): documents a worker sends to chosen
-- holders of a record, and (forms feature) the completed copies of forms.
-- The file itself is in object storage under object_key; the name the
-- uploader gave it is metadata only.
CREATE TABLE documents (
    id           bigserial PRIMARY KEY,
    record_id    bigint NOT NULL REFERENCES records(id),
    kind         text NOT NULL,
    title        text NOT NULL,
    object_key   text NOT NULL UNIQUE,
    file_name    text NOT NULL,
    content_type text NOT NULL,
    size         bigint NOT NULL,
    sha256       text NOT NULL,
    sent_by      bigint REFERENCES people(id), -- NULL when the portal made it (a completed form)
    created_at   timestamptz NOT NULL,
    withdrawn_at timestamptz,                  -- sent in error: gone for holders, kept for the trail
    withdrawn_by bigint REFERENCES people(id)
);
CREATE INDEX documents_record_idx ON documents (record_id, created_at DESC);

-- One row per holder a document was sent to. record_id and withdrawn copy
-- the document's, so a holder's list and the dashboard's count read this
-- table alone.
CREATE TABLE document_recipients (
    document_id bigint NOT NULL REFERENCES documents(id),
    person_id   bigint NOT NULL REFERENCES people(id),
    record_id   bigint NOT NULL REFERENCES records(id),
    created_at  timestamptz NOT NULL,
    opened_at   timestamptz,
    withdrawn   boolean NOT NULL DEFAULT false,
    PRIMARY KEY (document_id, person_id)
);
CREATE INDEX document_recipients_holder_idx ON document_recipients (person_id, record_id, created_at DESC)
    WHERE NOT withdrawn;
-- The dashboard's count reads only unopened rows: it stays as fast however
-- many documents were opened before.
CREATE INDEX document_recipients_unopened_idx ON document_recipients (person_id, record_id)
    WHERE opened_at IS NULL AND NOT withdrawn;

-- +goose Down
DROP TABLE document_recipients;
DROP TABLE documents;
