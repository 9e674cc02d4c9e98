package db

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// ErrTokenInvalid is returned by LookupToken for an unknown, revoked or
// expired secret.
var ErrTokenInvalid = errors.New("db: token unknown, revoked or expired")

// ErrNotFound is returned when a named record does not exist.
var ErrNotFound = errors.New("db: not found")

// Token is an access token as stored: only a hash of its secret is kept.
type Token struct {
	ID        string
	ProfileID uuid.UUID
	CreatedAt int64
	ExpiresAt sql.NullInt64
	RevokedAt sql.NullInt64
}

func hashSecret(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// CreateToken makes a token for profile, valid for ttl (0: no expiry;
// negative is an error), and returns it with its secret, which is not
// stored and cannot be shown again.
func (d *DB) CreateToken(ctx context.Context, profile uuid.UUID, ttl time.Duration) (Token, string, error) {
	if ttl < 0 {
		return Token{}, "", fmt.Errorf("db: token lifetime %s is negative", ttl)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return Token{}, "", err
	}
	secret := "tly_" + base64.RawURLEncoding.EncodeToString(raw)
	now := d.Now()
	t := Token{ID: uuid.Must(uuid.NewV7()).String(), ProfileID: profile, CreatedAt: now.UnixMilli()}
	if ttl > 0 {
		t.ExpiresAt = sql.NullInt64{Int64: now.Add(ttl).UnixMilli(), Valid: true}
	}
	err := d.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO access_token (id, profile_id, secret_hash, created_at, expires_at)
  VALUES (?, ?, ?, ?, ?)`, t.ID, profile.String(), hashSecret(secret), t.CreatedAt, t.ExpiresAt)
		return err
	})
	return t, secret, err
}

// RevokeToken revokes the token with the given id, at once.
func (d *DB) RevokeToken(ctx context.Context, id string) error {
	return d.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx,
			"UPDATE access_token SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?", d.nowMs(), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("token %q: %w", id, ErrNotFound)
		}
		return nil
	})
}

// LookupToken returns the profile of a valid token's secret.
func (d *DB) LookupToken(ctx context.Context, secret string) (uuid.UUID, error) {
	var profile string
	err := d.r.QueryRowContext(ctx, `SELECT profile_id FROM access_token
  WHERE secret_hash = ? AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)`,
		hashSecret(secret), d.nowMs()).Scan(&profile)
	if errors.Is(err, sql.ErrNoRows) {
		return uuid.Nil, ErrTokenInvalid
	}
	if err != nil {
		return uuid.Nil, err
	}
	return uuid.Parse(profile)
}

// Tokens lists every token, oldest first.
func (d *DB) Tokens(ctx context.Context) ([]Token, error) {
	var out []Token
	err := each(ctx, d, func(s scanner) (Token, error) {
		var t Token
		var p string
		err := s.Scan(&t.ID, &p, &t.CreatedAt, &t.ExpiresAt, &t.RevokedAt)
		if err == nil {
			t.ProfileID, err = uuid.Parse(p)
		}
		return t, err
	}, func(t *Token) error { out = append(out, *t); return nil },
		"SELECT id, profile_id, created_at, expires_at, revoked_at FROM access_token ORDER BY created_at, id")
	return out, err
}
