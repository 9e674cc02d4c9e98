// Package httpclient builds the HTTP clients tally's senders (the
// telemetry task, the archive) use: their own client, with connect and
// total timeouts, and redirects followed only when they keep the request
// as it is.
package httpclient

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// New returns a client whose requests time out after timeout (connecting
// within at most 10 s of it). A redirect is followed only when it is a 307
// or 308 (which repeat the same method and body) to the same host, at most
// three times; any other redirect is returned as the answer, which a
// sender counts as a failure. A 301/302/303 would turn a POST into a body-
// less GET whose 2xx would be mistaken for the page being accepted.
func New(timeout time.Duration) *http.Client {
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	dialer := &net.Dialer{Timeout: min(timeout, 10*time.Second), KeepAlive: 30 * time.Second}
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           dialer.DialContext,
			TLSHandshakeTimeout:   min(timeout, 10*time.Second),
			ResponseHeaderTimeout: timeout,
			MaxIdleConns:          4,
			IdleConnTimeout:       90 * time.Second,
		},
		CheckRedirect: checkRedirect,
	}
}

func checkRedirect(req *http.Request, via []*http.Request) error {
	if req.Response == nil || (req.Response.StatusCode != http.StatusTemporaryRedirect &&
		req.Response.StatusCode != http.StatusPermanentRedirect) {
		return http.ErrUseLastResponse
	}
	if len(via) >= 3 {
		return errors.New("too many redirects")
	}
	if req.URL.Host != via[0].URL.Host {
		return fmt.Errorf("refusing redirect to another host (%s)", req.URL.Host)
	}
	return nil
}
