package telemetry

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
)

// maxResponseBody is how much of an answer the client reads.
const maxResponseBody = 64 << 10

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
