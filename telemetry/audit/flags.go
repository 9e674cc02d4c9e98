package audit

import (
	"fmt"
	"strings"
)

// Flags are the feature flags that decide what tally stores and ships.
// They are read Penpot-style, as words like "enable-telemetry
// disable-audit-log".
type Flags struct {
	AuditLog        bool // keep full rows (source frontend/backend)
	Telemetry       bool // keep anonymous rows and ship them
	AuditLogArchive bool // send full rows to the archive endpoint
	AuditLogGC      bool // delete archived full rows
}

// DefaultFlags is telemetry on, everything else off.
func DefaultFlags() Flags { return Flags{Telemetry: true} }

// ParseFlags applies the words of s, in order, on top of base. Every word
// must start with "enable-" or "disable-"; words for flags tally does not
// use (Penpot's many others) are accepted and ignored.
func ParseFlags(s string, base Flags) (Flags, error) {
	f := base
	for _, w := range strings.Fields(strings.ReplaceAll(s, ",", " ")) {
		var on bool
		var name string
		switch {
		case strings.HasPrefix(w, "enable-"):
			on, name = true, strings.TrimPrefix(w, "enable-")
		case strings.HasPrefix(w, "disable-"):
			on, name = false, strings.TrimPrefix(w, "disable-")
		default:
			return base, fmt.Errorf("flag word %q must start with enable- or disable-", w)
		}
		switch name {
		case "audit-log":
			f.AuditLog = on
		case "telemetry":
			f.Telemetry = on
		case "audit-log-archive":
			f.AuditLogArchive = on
		case "audit-log-gc":
			f.AuditLogGC = on
		case "":
			return base, fmt.Errorf("flag word %q names no flag", w)
		}
	}
	return f, nil
}

// Enabled returns the names of the flags that are on, in a fixed order.
func (f Flags) Enabled() []string {
	var out []string
	for _, x := range []struct {
		on   bool
		name string
	}{{f.AuditLog, "audit-log"}, {f.AuditLogArchive, "audit-log-archive"},
		{f.AuditLogGC, "audit-log-gc"}, {f.Telemetry, "telemetry"}} {
		if x.on {
			out = append(out, x.name)
		}
	}
	return out
}
