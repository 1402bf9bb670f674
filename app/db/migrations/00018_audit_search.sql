-- +goose NO TRANSACTION
-- +goose Up
-- The portal admin's audit search (issue 17): pages of events, newest
-- first, ordered by (at, id) and continued by keyset ((at, id) below the
-- last event shown), so every filter is one ordered index range scan,
-- whatever the size of the trail. Which index serves which filter:
--   - no filter, and a date range alone:  audit_events_at_id_idx (at, id)
--   - an action (exact), and each action a prefix ("message.") stands for,
--     with or without dates (the page merges one ordered scan per action),
--     and the list of actions the trail holds (a skip scan):
--                                          audit_events_action_at_id_idx (action, at, id)
--   - a person (who did it), with or without dates:
--                                          audit_events_actor_idx (actor_id, at), migration 00001
--   - a record, with or without dates:     audit_events_record_idx (record_id, at), migration 00001
--   - the keyset cursor (an event's id):   the primary key
-- Built CONCURRENTLY (hence no transaction): the trail takes a write on
-- almost every request, and a plain CREATE INDEX would hold them all for
-- the build (about a second per million events). Each is dropped first so
-- that a build cut short (which leaves an invalid index) is made again.
DROP INDEX CONCURRENTLY IF EXISTS audit_events_at_id_idx;
CREATE INDEX CONCURRENTLY audit_events_at_id_idx ON audit_events (at, id);
DROP INDEX CONCURRENTLY IF EXISTS audit_events_action_at_id_idx;
CREATE INDEX CONCURRENTLY audit_events_action_at_id_idx ON audit_events (action, at, id);

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS audit_events_action_at_id_idx;
DROP INDEX CONCURRENTLY IF EXISTS audit_events_at_id_idx;
