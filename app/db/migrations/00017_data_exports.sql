-- +goose Up
-- "Download my data" (issue 17): a person's export, or one a portal admin
-- made for them. The zip is kept encrypted in object storage under a key of
-- its own, sealed here ("export.key:<id>"); a deleted export keeps its row
-- (the trail), not its key or its file.
CREATE TABLE data_exports (
    id           bigserial PRIMARY KEY,
    person_id    bigint NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    requested_by bigint NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    status       text NOT NULL CHECK (status IN ('pending', 'ready', 'failed', 'deleted')),
    object_key   text,
    sealed_key   text,
    size         bigint,
    created_at   timestamptz NOT NULL,
    ready_at     timestamptz,
    expires_at   timestamptz
);
CREATE INDEX data_exports_person ON data_exports (person_id, requested_by, id);
-- The clean-up job reads only exports still kept.
CREATE INDEX data_exports_expiry ON data_exports (expires_at) WHERE status = 'ready';

-- +goose Down
DROP TABLE data_exports;
