package telemetry

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"tally/telemetry/audit"
)

// Report is the instance report (SPEC section 6), sent as
// telemetry-legacy-report with Penpot's key names.
type Report struct {
	Type       string `json:"type"`
	Version    string `json:"version"`
	InstanceID string `json:"instance-id"`
	Stats      Stats  `json:"stats"`
}

// Stats are the report's numbers and facts about the host.
type Stats struct {
	PublicURI       string           `json:"public-uri"`
	OSArch          string           `json:"os-arch"`
	OSName          string           `json:"os-name"`
	OSVersion       string           `json:"os-version"`
	UserTZ          string           `json:"user-tz"`
	CPUs            int              `json:"cpus"`
	MemTotal        int64            `json:"mem-total"`
	GoVersion       string           `json:"go-version"`
	TotalEvents     map[string]int64 `json:"total-events"`
	EventCounters   map[string]int64 `json:"event-counters"`
	TotalAccumEvent int64            `json:"total-accomulated-events"` // Penpot's spelling
	GCDropped       int64            `json:"gc-dropped-events"`
}

// BuildReport gathers the report from the database and the host.
func (t *Task) BuildReport(ctx context.Context, instance uuid.UUID) (Report, error) {
	total, err := t.db.CountBySource(ctx)
	if err != nil {
		return Report{}, err
	}
	counters, err := t.db.TelemetryCounters(ctx, audit.Day(t.db.Now()))
	if err != nil {
		return Report{}, err
	}
	var sum int64
	for _, n := range counters {
		sum += n
	}
	dropped, err := t.db.GCDropped(ctx)
	if err != nil {
		return Report{}, err
	}
	return Report{
		Type: "telemetry-legacy-report", Version: t.cfg.Version, InstanceID: instance.String(),
		Stats: Stats{
			PublicURI: t.cfg.PublicURI, OSArch: runtime.GOARCH, OSName: runtime.GOOS,
			OSVersion: osVersion(), UserTZ: timeZone(), CPUs: runtime.NumCPU(), MemTotal: memTotal(),
			GoVersion: runtime.Version(), TotalEvents: total, EventCounters: counters,
			TotalAccumEvent: sum, GCDropped: dropped,
		},
	}, nil
}

// sendReport sends the instance report; once accepted, the GC-dropped
// count it carried is acknowledged (rows dropped meanwhile stay counted).
func (t *Task) sendReport(ctx context.Context, instance uuid.UUID) error {
	r, err := t.BuildReport(ctx, instance)
	if err != nil {
		return err
	}
	body, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if _, err := post(ctx, t.client, t.cfg.URI, body, nil); err != nil {
		return err
	}
	return t.db.AckGCDropped(context.WithoutCancel(ctx), r.Stats.GCDropped)
}

// osVersion is the kernel release, or "" when unknown.
func osVersion() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// memTotal is the machine's memory in bytes, or 0 when unknown.
func memTotal() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kb, _ := strconv.ParseInt(fields[1], 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// timeZone is the process's IANA time-zone name, "UTC" when unknown.
func timeZone() string {
	if tz := os.Getenv("TZ"); tz != "" {
		if _, err := time.LoadLocation(strings.TrimPrefix(tz, ":")); err == nil {
			return strings.TrimPrefix(tz, ":")
		}
	}
	if name := time.Local.String(); name != "Local" && name != "" {
		return name
	}
	if b, err := os.ReadFile("/etc/timezone"); err == nil {
		if tz := strings.TrimSpace(string(b)); tz != "" {
			return tz
		}
	}
	if p, err := filepath.EvalSymlinks("/etc/localtime"); err == nil {
		if _, after, ok := strings.Cut(p, "zoneinfo/"); ok && after != "" {
			return after
		}
	}
	return "UTC"
}
