-- +goose Up
-- The audit log. Its columns and their storage are a contract: other tools
-- read the file (SPEC section 2).
CREATE TABLE audit_log (
  seq         INTEGER PRIMARY KEY AUTOINCREMENT, -- insertion order, never reused
  id          TEXT    NOT NULL,  -- event uuid, canonical lower-case text
  name        TEXT    NOT NULL,
  type        TEXT    NOT NULL,  -- action | identify | trigger
  source      TEXT    NOT NULL,  -- frontend | backend | telemetry
  profile_id  TEXT    NOT NULL,  -- uuid text; the zero uuid when none
  ip_addr     TEXT    NOT NULL,  -- client address; 0.0.0.0 on telemetry rows
  props       TEXT    NOT NULL,  -- transit JSON-verbose map
  context     TEXT    NOT NULL,  -- transit JSON-verbose map
  tracked_at  INTEGER NOT NULL,  -- epoch milliseconds, UTC
  created_at  INTEGER NOT NULL,  -- epoch milliseconds, UTC
  archived_at INTEGER            -- epoch ms when archived; NULL before
);
CREATE INDEX audit_log__source__created_at__idx ON audit_log (source, created_at ASC);

-- Instance-wide properties: the instance id and the GC's dropped-row count.
CREATE TABLE server_prop (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;

-- +goose Down
DROP TABLE server_prop;
DROP TABLE audit_log;
