package server

import (
	"context"
	"errors"
	"strings"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"tally/db"
)

// TokenStore resolves access-token secrets to profiles; *db.DB implements
// it. A secret that is unknown, revoked or expired fails at once with
// db.ErrTokenInvalid.
type TokenStore interface {
	LookupToken(ctx context.Context, secret string) (uuid.UUID, error)
}

// caller is who sent a request.
type caller struct {
	profile uuid.UUID // uuid.Nil when anonymous
	ip      string
}

// rateKey is what the per-caller rate limit counts by: the profile when
// authenticated, else the client address.
func (c caller) rateKey() string {
	if c.profile != uuid.Nil {
		return "p:" + c.profile.String()
	}
	return "ip:" + c.ip
}

// identify finds the caller of a frontend route per the auth mode.
func (s *Server) identify(c echo.Context) (caller, error) {
	r := c.Request()
	who := caller{ip: clientIP(r, s.cfg.TrustedProxies)}
	switch s.cfg.Auth {
	case AuthToken:
		h := r.Header.Get("Authorization")
		if h == "" {
			return who, errorf("authentication-required", "an access token is required (Authorization: Token <secret>)")
		}
		scheme, secret, ok := strings.Cut(strings.TrimSpace(h), " ")
		if !ok || !strings.EqualFold(scheme, "token") || strings.TrimSpace(secret) == "" {
			return who, errorf("invalid-token", "the Authorization header must be \"Token <secret>\"")
		}
		p, err := s.deps.Tokens.LookupToken(r.Context(), strings.TrimSpace(secret))
		if errors.Is(err, db.ErrTokenInvalid) {
			return who, errorf("invalid-token", "the access token is unknown, revoked or expired")
		}
		if err != nil {
			return who, err
		}
		who.profile = p
	case AuthProxy:
		if !isTrusted(peerAddr(r), s.cfg.TrustedProxies) {
			return who, errorf("authentication-required", "the profile header is only accepted from a trusted proxy")
		}
		h := strings.TrimSpace(r.Header.Get(s.cfg.ProxyHeader))
		if h == "" {
			return who, errorf("authentication-required", "missing %s header", s.cfg.ProxyHeader)
		}
		p, err := uuid.Parse(h)
		if err != nil || len(h) != 36 {
			return who, errorf("authentication-required", "malformed %s header: want a uuid", s.cfg.ProxyHeader)
		}
		who.profile = p
	}
	return who, nil
}
