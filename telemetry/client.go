package telemetry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// maxResponseBody is how much of an answer the client reads.
const maxResponseBody = 64 << 10

// newClient returns the task's own HTTP client: connect and total
// timeouts, and no redirects to another host.
func newClient(timeout time.Duration) *http.Client {
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
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 3 {
				return errors.New("too many redirects")
			}
			if req.URL.Host != via[0].URL.Host {
				return fmt.Errorf("refusing redirect to another host (%s)", req.URL.Host)
			}
			return nil
		},
	}
}

// sendError is a failed POST: its status (0 when there was no answer)
// and a short reason with a prefix of the answer's body.
type sendError struct {
	Status int
	Reason string
}

func (e *sendError) Error() string {
	if e.Status == 0 {
		return e.Reason
	}
	return fmt.Sprintf("status %d: %s", e.Status, e.Reason)
}

// post sends body as JSON and accepts a 2xx up to 206. It returns the
// status.
func post(ctx context.Context, c *http.Client, uri string, body []byte, header http.Header) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, uri, bytes.NewReader(body))
	if err != nil {
		return 0, &sendError{Reason: err.Error()}
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, &sendError{Reason: err.Error()}
	}
	defer resp.Body.Close()
	prefix, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody))
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseBody)) // let the connection be reused
	if resp.StatusCode < 200 || resp.StatusCode > 206 {
		if len(prefix) > 200 {
			prefix = prefix[:200]
		}
		return resp.StatusCode, &sendError{Status: resp.StatusCode, Reason: fmt.Sprintf("body %q", prefix)}
	}
	return resp.StatusCode, nil
}
