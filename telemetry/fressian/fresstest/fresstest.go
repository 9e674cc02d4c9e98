// Package fresstest holds test support shared by the fressian and blob
// packages: the deterministic event page of SPEC section 5 (the same one
// the JVM harness in testdata/interop/jvm builds), the canonical typed
// text form both sides render values in, and access to the golden
// fixtures and the JVM harness.
package fresstest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"tally/telemetry/value"
)

const (
	dayMS   = 86400000
	baseDay = 1735689600000 // 2025-01-01T00:00:00Z
)

var eventNames = []string{
	"navigate", "create-file", "update-file", "open-file", "export-shapes",
	"login", "logout", "create-project", "comment", "update-profile",
}

// Event returns event i of the deterministic page: a map with the keys
// :name :type :source :tracked-at :profile-id :props :context in that
// order, exactly as harness.clj's event builds it.
func Event(i int) *value.Map {
	p := i % 97
	typ := "action"
	if i%10 == 3 {
		typ = "identify"
	}
	m := value.NewMap(7)
	m.Append(value.K("name"), eventNames[i*7%10])
	m.Append(value.K("type"), typ)
	m.Append(value.K("source"), "telemetry")
	m.Append(value.K("tracked-at"), value.Instant(baseDay+int64(i/1000)*dayMS))
	m.Append(value.K("profile-id"), uuid.MustParse(fmt.Sprintf("%08x-0000-4000-8000-%012x", p, p*7919)))
	m.Append(value.K("props"), value.NewMap(0))
	m.Append(value.K("context"), Context(i))
	return m
}

// Context returns the :context map of event i: backend keys for every
// third event, frontend keys for the others.
func Context(i int) *value.Map {
	if i%3 == 0 {
		c := value.NewMap(4)
		c.Append(value.K("version"), "2.4.3")
		c.Append(value.K("initiator"), "app")
		c.Append(value.K("client-version"), "2.4.3")
		c.Append(value.K("client-user-agent"), "Mozilla/5.0 (X11; Linux x86_64)")
		return c
	}
	width := int64(1280)
	if i%2 == 0 {
		width = 1920
	}
	c := value.NewMap(11)
	c.Append(value.K("version"), "2.4.3")
	c.Append(value.K("locale"), []string{"en-US", "es-ES", "fr-FR", "de-DE"}[i%4])
	c.Append(value.K("browser"), []string{"chrome", "firefox", "safari"}[i%3])
	c.Append(value.K("browser-version"), "125.0")
	c.Append(value.K("os"), "linux")
	c.Append(value.K("os-version"), "6.1")
	c.Append(value.K("screen-width"), width)
	c.Append(value.K("screen-height"), int64(1080))
	c.Append(value.K("screen-color-depth"), int64(24))
	c.Append(value.K("screen-orientation"), "landscape-primary")
	c.Append(value.K("event-origin"), "workspace")
	return c
}

// Page returns the first n events as a vector.
func Page(n int) value.Vector {
	v := make(value.Vector, n)
	for i := range v {
		v[i] = Event(i)
	}
	return v
}

// Canon renders v in the canonical typed form harness.clj's canon
// prints: strings as UTF-16 code units with everything outside printable
// ASCII escaped, doubles by their Java bits, maps and sets sorted.
func Canon(v value.Value) string {
	var b strings.Builder
	canon(&b, v)
	return b.String()
}

// Expected turns a canonical form into what the fixture .txt files hold:
// the form itself, or "sha256:" and its digest when it is longer than
// 64 KiB.
func Expected(c string) string {
	if len(c) > 65536 {
		sum := sha256.Sum256([]byte(c))
		return "sha256:" + hex.EncodeToString(sum[:])
	}
	return c
}

func canonStr(b *strings.Builder, s string) {
	b.WriteByte('"')
	unit := func(u uint16) {
		if u >= 0x20 && u <= 0x7e && u != '"' && u != '\\' {
			b.WriteByte(byte(u))
			return
		}
		fmt.Fprintf(b, "\\u%04x", u)
	}
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			if s[i] == 0xED && i+2 < len(s) && s[i+1] >= 0xA0 && s[i+1] <= 0xBF && s[i+2]&0xC0 == 0x80 {
				unit(0xD000 | uint16(s[i+1]&0x3F)<<6 | uint16(s[i+2]&0x3F))
				i += 3
				continue
			}
			unit(utf8.RuneError)
			i++
			continue
		}
		if r >= 0x10000 {
			r -= 0x10000
			unit(0xD800 + uint16(r>>10))
			unit(0xDC00 + uint16(r&0x3FF))
		} else {
			unit(uint16(r))
		}
		i += n
	}
	b.WriteByte('"')
}

func canonNamed(b *strings.Builder, tag, ns, name string) {
	b.WriteString(tag + "(")
	if ns == "" {
		b.WriteString("nil")
	} else {
		canonStr(b, ns)
	}
	b.WriteByte(' ')
	canonStr(b, name)
	b.WriteByte(')')
}

func canonJoin(b *strings.Builder, open, sep, close string, parts []string, sorted bool) {
	if sorted {
		slices.Sort(parts)
	}
	b.WriteString(open)
	b.WriteString(strings.Join(parts, sep))
	b.WriteString(close)
}

func canonAll(xs []value.Value) []string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = Canon(x)
	}
	return parts
}

func canon(b *strings.Builder, v value.Value) {
	switch x := v.(type) {
	case nil:
		b.WriteString("nil")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case string:
		canonStr(b, x)
	case value.Keyword:
		canonNamed(b, "K", x.NS, x.Name)
	case value.Symbol:
		canonNamed(b, "S", x.NS, x.Name)
	case value.Char:
		fmt.Fprintf(b, "C(%d)", x)
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case float64:
		bits := math.Float64bits(x)
		if x != x {
			bits = 0x7FF8000000000000
		}
		fmt.Fprintf(b, "D(%016x)", bits)
	case uuid.UUID:
		b.WriteString("U(" + x.String() + ")")
	case value.Instant:
		fmt.Fprintf(b, "I(%d)", int64(x))
	case []byte:
		b.WriteString("B(" + hex.EncodeToString(x) + ")")
	case *value.Map:
		parts := make([]string, len(x.Entries))
		for i, e := range x.Entries {
			parts[i] = Canon(e.Key) + " " + Canon(e.Val)
		}
		canonJoin(b, "{", ", ", "}", parts, true)
	case value.Vector:
		canonJoin(b, "[", " ", "]", canonAll(x), false)
	case value.Set:
		canonJoin(b, "#{", " ", "}", canonAll(x), true)
	case value.List:
		canonJoin(b, "(", " ", ")", canonAll(x), false)
	default:
		fmt.Fprintf(b, "<unsupported %T>", v)
	}
}
