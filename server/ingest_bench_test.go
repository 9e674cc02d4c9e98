package server_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"tally/db"
	"tally/server"
	"tally/telemetry/audit"
	"tally/telemetry/loadtest"
	"tally/telemetry/metrics"
)

// The whole ingest path over loopback HTTP, as `tally bench` drives it:
// transit bodies of 100 realistic frontend events from 8 concurrent
// clients, decoded, validated, anonymised, encoded and stored with group
// commit in a real SQLite file. One op is one request.
func BenchmarkPushAuditEvents(b *testing.B) {
	ctx := context.Background()
	d, err := db.Open(ctx, filepath.Join(b.TempDir(), "tally.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	flags := audit.Flags{Telemetry: true}
	m := metrics.New(d)
	cfg := server.DefaultConfig()
	cfg.Addr, cfg.Rate = "127.0.0.1:0", 0
	srv, err := server.New(cfg, server.Deps{
		Recorder: &audit.Logger{Store: d, Flags: flags, OnStored: m.Stored}, Flags: flags, Ready: d,
		Logger: slog.New(slog.DiscardHandler), Metrics: m,
	})
	if err != nil {
		b.Fatal(err)
	}
	go srv.Serve()
	defer srv.Shutdown(ctx)

	bodies := make([][]byte, 16)
	for i := range bodies {
		if bodies[i], err = loadtest.Body(i*loadtest.EventsPerBody, loadtest.EventsPerBody, time.Now()); err != nil {
			b.Fatal(err)
		}
	}
	const clients = 8
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	defer client.CloseIdleConnections()
	url := "http://" + srv.Addr() + "/api/main/methods/push-audit-events"
	push := func(body []byte) error {
		resp, err := client.Post(url, "application/transit+json", bytes.NewReader(body))
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			b.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}
	if err := push(bodies[0]); err != nil { // warm the connection and the db
		b.Fatal(err)
	}

	b.ReportAllocs()
	b.ResetTimer()
	work := make(chan []byte)
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for body := range work {
				if err := push(body); err != nil {
					b.Error(err)
				}
			}
		}()
	}
	for i := 0; i < b.N; i++ {
		work <- bodies[i%len(bodies)]
	}
	close(work)
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N*loadtest.EventsPerBody)/b.Elapsed().Seconds(), "events/s")
}
