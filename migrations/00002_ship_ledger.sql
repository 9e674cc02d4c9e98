-- +goose Up
-- The shipping ledger: one entry per telemetry page that was (or was about
-- to be) sent. A page is a range of audit_log.seq among telemetry rows.
-- state: pending (recorded before the POST; after a crash it is re-sent
-- first), failed (the POST failed; re-sent first next run), accepted, or
-- gone (every row of its range was removed by the GC before a re-send).
CREATE TABLE ship_ledger (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  batch_id     TEXT    NOT NULL,
  first_seq    INTEGER NOT NULL,
  last_seq     INTEGER NOT NULL,
  state        TEXT    NOT NULL CHECK (state IN ('pending', 'failed', 'accepted', 'gone')),
  attempts     INTEGER NOT NULL DEFAULT 1,
  attempted_at INTEGER NOT NULL,  -- epoch ms of the latest attempt
  accepted_at  INTEGER,
  status       INTEGER,           -- HTTP status of the latest answer
  row_count    INTEGER,
  byte_size    INTEGER,
  sha256       TEXT,              -- hex SHA-256 of the accepted body
  error        TEXT               -- why the latest attempt failed
);
CREATE INDEX ship_ledger__state__idx ON ship_ledger (state) WHERE state IN ('pending', 'failed');

-- +goose Down
DROP TABLE ship_ledger;
