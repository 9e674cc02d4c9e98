-- +goose Up
-- Access tokens for auth mode "token". Only a SHA-256 of the secret is kept.
CREATE TABLE access_token (
  id          TEXT    PRIMARY KEY,
  profile_id  TEXT    NOT NULL,
  secret_hash TEXT    NOT NULL UNIQUE,
  created_at  INTEGER NOT NULL,
  expires_at  INTEGER,
  revoked_at  INTEGER
);

-- +goose Down
DROP TABLE access_token;
