// Package metrics holds tally's Prometheus metrics, all prefixed tally_,
// on a registry of their own (not the global one), so that several
// servers can live in one test process.
package metrics

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// BufferCounter reports the number of telemetry rows waiting to be shipped.
type BufferCounter interface {
	CountTelemetry(ctx context.Context) (int64, error)
}

// Metrics is the set of tally's metrics. A nil *Metrics is valid and
// records nothing, so packages can take one optionally.
type Metrics struct {
	reg *prometheus.Registry

	EventsAccepted  prometheus.Counter
	EventsRejected  *prometheus.CounterVec // by reason (error code)
	RowsStored      *prometheus.CounterVec // by source
	BatchesSent     prometheus.Counter
	BatchesFailed   prometheus.Counter
	RowsShipped     prometheus.Counter
	GCDeleted       prometheus.Counter
	LastRunSuccess  prometheus.Gauge // unix seconds of the last run with every send accepted
	RequestDuration *prometheus.HistogramVec
	ArchiveSent     prometheus.Counter
}

// New makes the metrics and registers them, with the Go and process
// collectors, and a gauge of buffered telemetry rows read from buf at
// scrape time (buf may be nil).
func New(buf BufferCounter) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.EventsAccepted = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "tally_events_accepted_total", Help: "Events accepted by the ingest routes and Submit."})
	m.EventsRejected = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tally_events_rejected_total", Help: "Requests rejected, by reason (Penpot error code)."}, []string{"reason"})
	m.RowsStored = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tally_rows_stored_total", Help: "audit_log rows written, by source."}, []string{"source"})
	m.BatchesSent = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "tally_batches_sent_total", Help: "Telemetry pages accepted by the endpoint."})
	m.BatchesFailed = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "tally_batches_failed_total", Help: "Telemetry pages whose POST failed."})
	m.RowsShipped = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "tally_rows_shipped_total", Help: "Telemetry rows deleted after their page was accepted."})
	m.GCDeleted = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "tally_gc_deleted_rows_total", Help: "Telemetry rows deleted by the cap or age GC."})
	m.LastRunSuccess = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "tally_last_successful_run_timestamp_seconds", Help: "When the telemetry task last ran with every send accepted."})
	m.RequestDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "tally_http_request_duration_seconds", Help: "HTTP request latency by route and status.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2.5, 12)}, []string{"route", "code"})
	m.ArchiveSent = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "tally_archive_rows_sent_total", Help: "Audit rows marked archived after the archive endpoint accepted them."})
	m.reg.MustRegister(m.EventsAccepted, m.EventsRejected, m.RowsStored, m.BatchesSent, m.BatchesFailed,
		m.RowsShipped, m.GCDeleted, m.LastRunSuccess, m.RequestDuration, m.ArchiveSent,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if buf != nil {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "tally_telemetry_rows_buffered", Help: "Telemetry rows waiting to be shipped."},
			func() float64 {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				n, err := buf.CountTelemetry(ctx)
				if err != nil {
					return -1
				}
				return float64(n)
			}))
	}
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Stored counts n rows stored for source.
func (m *Metrics) Stored(source string, n int) {
	if m != nil {
		m.RowsStored.WithLabelValues(source).Add(float64(n))
	}
}

// Accepted counts n accepted events.
func (m *Metrics) Accepted(n int) {
	if m != nil {
		m.EventsAccepted.Add(float64(n))
	}
}

// Rejected counts a rejected request by reason.
func (m *Metrics) Rejected(reason string) {
	if m != nil {
		m.EventsRejected.WithLabelValues(reason).Inc()
	}
}

// Observe records one HTTP request's latency.
func (m *Metrics) Observe(route, code string, d time.Duration) {
	if m != nil {
		m.RequestDuration.WithLabelValues(route, code).Observe(d.Seconds())
	}
}

// Shipped records an accepted page of n rows.
func (m *Metrics) Shipped(n int64) {
	if m != nil {
		m.BatchesSent.Inc()
		m.RowsShipped.Add(float64(n))
	}
}

// PageFailed records a failed page POST.
func (m *Metrics) PageFailed() {
	if m != nil {
		m.BatchesFailed.Inc()
	}
}

// GC records rows deleted by the telemetry GC.
func (m *Metrics) GC(n int64) {
	if m != nil {
		m.GCDeleted.Add(float64(n))
	}
}

// RunSucceeded records the time of a fully successful task run.
func (m *Metrics) RunSucceeded(t time.Time) {
	if m != nil {
		m.LastRunSuccess.Set(float64(t.Unix()))
	}
}

// Archived records n audit rows archived.
func (m *Metrics) Archived(n int) {
	if m != nil {
		m.ArchiveSent.Add(float64(n))
	}
}
