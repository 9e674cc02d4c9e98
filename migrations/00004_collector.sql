-- +goose Up
-- What a collector (tally collect, or serve's /collect/) received.
-- One row per telemetry-events page, keyed by its x-tally-batch-id when
-- it had one, so a re-sent page is stored once.
CREATE TABLE collect_batch (
  seq         INTEGER PRIMARY KEY AUTOINCREMENT,
  batch_id    TEXT    NOT NULL UNIQUE,
  instance_id TEXT    NOT NULL,
  version     TEXT    NOT NULL,
  received_at INTEGER NOT NULL,
  event_count INTEGER NOT NULL,
  duplicates  INTEGER NOT NULL DEFAULT 0 -- re-sends of this page that were dropped
);

CREATE TABLE collect_event (
  seq         INTEGER PRIMARY KEY AUTOINCREMENT,
  batch_seq   INTEGER NOT NULL REFERENCES collect_batch (seq) ON DELETE CASCADE,
  name        TEXT    NOT NULL,
  type        TEXT    NOT NULL,
  source      TEXT    NOT NULL,
  profile_id  TEXT    NOT NULL,
  tracked_at  INTEGER NOT NULL,
  props       TEXT    NOT NULL,  -- transit JSON-verbose, as in audit_log
  context     TEXT    NOT NULL
);
CREATE INDEX collect_event__batch_seq__idx ON collect_event (batch_seq);

CREATE TABLE collect_report (
  seq         INTEGER PRIMARY KEY AUTOINCREMENT,
  instance_id TEXT    NOT NULL,
  version     TEXT    NOT NULL,
  received_at INTEGER NOT NULL,
  stats       TEXT    NOT NULL   -- the report's stats object, as JSON
);

-- +goose Down
DROP TABLE collect_report;
DROP TABLE collect_event;
DROP TABLE collect_batch;
