-- +goose Up
-- The first answer to each idempotency key (issue 16): a state-changing
-- request sent again with the key its page carried gets this answer back
-- instead of doing its work twice. key_hash is keyhash("idempotency",
-- person, method, path, key); the body is sealed (it may hold a page).
CREATE TABLE idempotency_keys (
    key_hash    text PRIMARY KEY,
    created_at  timestamptz NOT NULL,
    done        boolean NOT NULL DEFAULT false,
    status      integer,
    headers     jsonb,
    body_sealed text
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

-- +goose Down
DROP TABLE idempotency_keys;
