-- +goose Up
-- Files a message carries (issue 16): photos and scans on a recording, a
-- message or a worker's reply. The object key is random (never the file's
-- name); images have a thumbnail made on the server.
CREATE TABLE attachments (
    id           bigserial PRIMARY KEY,
    message_id   bigint NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    thread_id    bigint NOT NULL REFERENCES threads(id) ON DELETE CASCADE,
    name         text NOT NULL,
    content_type text NOT NULL,
    size         bigint NOT NULL,
    sha256       text NOT NULL,
    object_key   text NOT NULL,
    thumb_key    text,
    created_at   timestamptz NOT NULL
);
CREATE INDEX attachments_thread ON attachments (thread_id, message_id);

-- +goose Down
DROP TABLE attachments;
