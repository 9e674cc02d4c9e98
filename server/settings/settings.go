// Package settings reads tally's command-line configuration: every flag
// can also come from an environment variable (TALLY_ and the flag's name in
// upper case with _ for -), and a few from Penpot's own variables. A flag
// on the command line beats TALLY_*, which beats PENPOT_*, which beats the
// default. A bad value stops the command with a message naming the
// setting.
package settings

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"tally/telemetry/audit"
)

// Set is a command's flag set with environment fallbacks.
type Set struct {
	fs      *flag.FlagSet
	penpot  map[string]string // flag name -> PENPOT_ variable read after TALLY_
	Getenv  func(string) string
	applied bool
}

// New returns an empty set for the named command; errors go to out.
func New(command string, out io.Writer) *Set {
	fs := flag.NewFlagSet("tally "+command, flag.ContinueOnError)
	fs.SetOutput(out)
	return &Set{fs: fs, penpot: map[string]string{}, Getenv: os.Getenv}
}

// FlagSet exposes the underlying flag set (for Args and usage).
func (s *Set) FlagSet() *flag.FlagSet { return s.fs }

// Penpot names a PENPOT_ variable read for flag name when its TALLY_ one
// is not set.
func (s *Set) Penpot(name, env string) { s.penpot[name] = env }

// String defines a string setting.
func (s *Set) String(p *string, name, def, usage string) { s.fs.StringVar(p, name, def, usage) }

// Bool defines a boolean setting.
func (s *Set) Bool(p *bool, name string, def bool, usage string) { s.fs.BoolVar(p, name, def, usage) }

// Int defines an integer setting.
func (s *Set) Int(p *int, name string, def int, usage string) { s.fs.IntVar(p, name, def, usage) }

// Int64 defines an integer setting.
func (s *Set) Int64(p *int64, name string, def int64, usage string) {
	s.fs.Int64Var(p, name, def, usage)
}

// Float defines a floating-point setting.
func (s *Set) Float(p *float64, name string, def float64, usage string) {
	s.fs.Float64Var(p, name, def, usage)
}

// Duration defines a Go duration setting (90s, 168h; 0 for off).
func (s *Set) Duration(p *time.Duration, name string, def time.Duration, usage string) {
	*p = def
	s.fs.Func(name, usage+" (a duration, default "+def.String()+")", func(v string) error {
		d, err := ParseDuration(v)
		if err == nil {
			*p = d
		}
		return err
	})
}

// Size defines a byte-size setting (bytes, or with a unit: 512KiB, 1MiB).
func (s *Set) Size(p *int64, name string, def int64, usage string) {
	*p = def
	s.fs.Func(name, usage+fmt.Sprintf(" (bytes or 512KiB, 1MiB; default %d)", def), func(v string) error {
		n, err := ParseSize(v)
		if err == nil {
			*p = n
		}
		return err
	})
}

// URI defines an absolute http(s) URL setting ("" allowed: unset).
func (s *Set) URI(p *string, name, def, usage string) {
	*p = def
	s.fs.Func(name, usage, func(v string) error {
		if err := CheckURI(v); err != nil {
			return err
		}
		*p = v
		return nil
	})
}

// Flags defines the Penpot-style feature flags setting. It reads --flags,
// else TALLY_FLAGS, else PENPOT_FLAGS: the first one set is used whole,
// its words applied in order on top of the defaults.
func (s *Set) Flags(p *audit.Flags, usage string) {
	*p = audit.DefaultFlags()
	s.fs.Func("flags", usage, func(v string) error {
		f, err := audit.ParseFlags(v, audit.DefaultFlags())
		if err == nil {
			*p = f
		}
		return err
	})
	s.Penpot("flags", "PENPOT_FLAGS")
}

// Prefixes defines a comma-separated list of CIDR prefixes (or addresses).
func (s *Set) Prefixes(p *[]netip.Prefix, name, def, usage string) {
	v, err := ParsePrefixes(def)
	if err != nil {
		panic(err) // defaults are constants
	}
	*p = v
	s.fs.Func(name, usage+" (default "+def+")", func(x string) error {
		v, err := ParsePrefixes(x)
		if err == nil {
			*p = v
		}
		return err
	})
}

// Parse parses args, then fills every flag not given on the command line
// from its environment variable. The returned error names the setting.
func (s *Set) Parse(args []string) error {
	if err := s.fs.Parse(args); err != nil {
		return err
	}
	given := map[string]bool{}
	s.fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var errs []error
	s.fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] {
			return
		}
		env := EnvName(f.Name)
		v := s.Getenv(env)
		if v == "" {
			if pe, ok := s.penpot[f.Name]; ok {
				env, v = pe, s.Getenv(pe)
			}
		}
		if v == "" {
			return
		}
		if err := f.Value.Set(v); err != nil {
			errs = append(errs, fmt.Errorf("invalid value %q for %s (--%s): %v", v, env, f.Name, err))
		}
	})
	return errors.Join(errs...)
}

// EnvName is the TALLY_ variable of a flag: TALLY_TELEMETRY_URI.
func EnvName(flagName string) string {
	return "TALLY_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// ParseDuration parses a Go duration; a bare 0 means off.
func ParseDuration(v string) (time.Duration, error) {
	if v == "0" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, err
	}
	if d < 0 {
		return 0, fmt.Errorf("negative duration %s", v)
	}
	return d, nil
}

var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
	{"KB", 1000}, {"MB", 1000 * 1000}, {"GB", 1000 * 1000 * 1000},
	{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1},
}

// ParseSize parses a byte size: 1048576, 512KiB, 1MiB, 1MB.
func ParseSize(v string) (int64, error) {
	s := strings.TrimSpace(v)
	mult := int64(1)
	for _, u := range sizeUnits {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("bad size %q: want bytes or a number with KiB, MiB, GiB", v)
	}
	return n * mult, nil
}

// CheckURI accepts an absolute http or https URL with a host.
func CheckURI(v string) error {
	u, err := url.Parse(v)
	if err != nil {
		return fmt.Errorf("bad URI %q: %v", v, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("bad URI %q: want an absolute http:// or https:// URL", v)
	}
	return nil
}

// ParsePrefixes parses a comma-separated list of CIDR prefixes; a bare
// address is a single-address prefix.
func ParsePrefixes(v string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if p, err := netip.ParsePrefix(part); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(part)
		if err != nil {
			return nil, fmt.Errorf("bad address or CIDR prefix %q", part)
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// ParseInt is strconv.Atoi with a message that names what was wrong.
func ParseInt(name, v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("%s: %q is not a whole number", name, v)
	}
	return n, nil
}
