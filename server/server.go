// Package server is tally's HTTP side, on Echo v4: Penpot's RPC routes for
// frontend events and flags, the management route for backend events,
// health and metrics, and the embedded telemetry collector.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/labstack/echo/v4"

	"tally/telemetry/audit"
	"tally/telemetry/metrics"
)

// Content types tally reads and writes.
const (
	mimeTransit = "application/transit+json"
	mimeJSON    = "application/json"
)

// Auth modes for the frontend routes.
const (
	AuthNone  = "none"
	AuthToken = "token"
	AuthProxy = "proxy"
)

// Config is what the server needs to know.
type Config struct {
	Addr                 string // listen address, e.g. 127.0.0.1:6060
	Version              string // server version, reported in backend event context
	Auth                 string // none, token or proxy
	ProxyHeader          string // the header carrying the profile uuid in proxy mode
	TrustedProxies       []netip.Prefix
	AllowAnonymousPublic bool   // allow auth none on a non-loopback address
	SharedKey            string // key for the management route; "" answers 404
	MaxBody              int64  // bytes
	MaxEvents            int
	Rate                 float64 // requests per second per caller; 0 is off
	RateBurst            int
	ShutdownTimeout      time.Duration
}

// DefaultConfig returns the defaults of SPEC section 9.
func DefaultConfig() Config {
	return Config{
		Addr:        "127.0.0.1:6060",
		Version:     "dev",
		Auth:        AuthNone,
		ProxyHeader: "X-Profile-Id",
		TrustedProxies: []netip.Prefix{
			netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128"),
		},
		MaxBody:         1 << 20,
		MaxEvents:       1000,
		Rate:            50,
		RateBurst:       100,
		ShutdownTimeout: 10 * time.Second,
	}
}

// Recorder stores accepted events; *audit.Logger implements it.
type Recorder interface {
	Record(ctx context.Context, events []audit.Event) error
}

// Readiness tells whether the database is open and migrated.
type Readiness interface {
	Ready(ctx context.Context) error
}

// Deps are the parts the server uses.
type Deps struct {
	Recorder Recorder
	Flags    audit.Flags
	Ready    Readiness
	Tokens   TokenStore   // required in token mode
	Collect  http.Handler // mounted at /collect/ when set
	Logger   *slog.Logger
	Metrics  *metrics.Metrics // nil: no /metrics route
	Now      func() time.Time
}

// Server is a configured HTTP server. Create it with New, run it with
// Serve, stop it with Shutdown.
type Server struct {
	cfg     Config
	deps    Deps
	log     *slog.Logger
	echo    *echo.Echo
	http    *http.Server
	ln      net.Listener
	limiter *rateLimiter
	metrics *metrics.Metrics
}

// New checks cfg and builds the server, listening at once so that a bind
// error surfaces here (and so that port 0 is resolved: see Addr).
func New(cfg Config, deps Deps) (*Server, error) {
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	if deps.Now == nil {
		deps.Now = func() time.Time { return time.Now().UTC() }
	}
	if err := checkConfig(cfg, deps); err != nil {
		return nil, err
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = DefaultConfig().ShutdownTimeout
	}
	s := &Server{cfg: cfg, deps: deps, log: deps.Logger, metrics: deps.Metrics}
	if cfg.Rate > 0 {
		s.limiter = newRateLimiter(cfg.Rate, cfg.RateBurst, deps.Now)
	}
	s.echo = echo.New()
	s.echo.HideBanner = true
	s.echo.HidePort = true
	s.echo.HTTPErrorHandler = s.handleError
	s.routes()
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	s.ln = ln
	s.http = &http.Server{
		Handler:           s.echo,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(deps.Logger.Handler(), slog.LevelWarn),
	}
	return s, nil
}

func checkConfig(cfg Config, deps Deps) error {
	if deps.Recorder == nil {
		return errors.New("server: no Recorder to store events")
	}
	switch cfg.Auth {
	case AuthNone:
		if !cfg.AllowAnonymousPublic && !isLoopbackAddr(cfg.Addr) {
			return fmt.Errorf("--auth none on %s would let anyone on the network push events as anonymous; "+
				"listen on loopback, choose --auth token or proxy, or pass --allow-anonymous-public", cfg.Addr)
		}
	case AuthToken:
		if deps.Tokens == nil {
			return errors.New("--auth token needs a token store")
		}
	case AuthProxy:
		if cfg.ProxyHeader == "" {
			return errors.New("--auth proxy needs --proxy-header")
		}
	default:
		return fmt.Errorf("--auth %q: want none, token or proxy", cfg.Auth)
	}
	if cfg.MaxBody <= 0 {
		return errors.New("--max-body must be positive")
	}
	if cfg.MaxEvents <= 0 {
		return errors.New("--max-events must be positive")
	}
	if cfg.Rate < 0 || (cfg.Rate > 0 && cfg.RateBurst < 1) {
		return errors.New("--rate must be >= 0 and --rate-burst >= 1")
	}
	return nil
}

// isLoopbackAddr reports whether a listen address binds loopback only.
func isLoopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// Addr returns the address the server listens on (with the real port when
// the configured one was 0).
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Handler returns the server's HTTP handler, for tests.
func (s *Server) Handler() http.Handler { return s.echo }

// Serve serves until Shutdown; it returns nil after a clean shutdown.
func (s *Server) Serve() error {
	err := s.http.Serve(s.ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting connections and waits, up to the configured
// timeout or ctx, for requests in flight to finish.
func (s *Server) Shutdown(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.ShutdownTimeout)
	defer cancel()
	return s.http.Shutdown(ctx)
}
