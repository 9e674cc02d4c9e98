package telemetry

import (
	"unicode/utf8"

	"github.com/google/uuid"

	"tally/telemetry/fressian"
	"tally/telemetry/transit"
	"tally/telemetry/value"
)

// The fast path of writeStoredMap. A telemetry row's context is, by
// anonymisation, a flat map of plain keywords to scalars, stored as
// transit JSON-verbose text such as
//
//	{"~:version":"2.4.3","~:screen-width":1920,"~:browser":"firefox"}
//
// Decoding that into a value tree only to write it as fressian cost most
// of a page's encoding time (a map, a boxed value per entry and a string
// per key). flatMap reads such text straight into a reused list of
// entries whose strings are substrings of the stored text (no copies),
// and writes them with the encoder's low-level calls.
//
// It accepts only what it can read exactly as transit.Decode does —
// keys "~:name" with no '/', escapes or duplicates; values that are plain
// strings without escapes, "~:name" keywords, "~u" uuids, "~m" instants,
// "~~", "~^" and "~`" escaped strings, integers that fit int64, true,
// false and null — and reports false for anything else (nested values,
// floats, symbols, cache codes, …), before writing anything, so the
// caller falls back to decoding. TestFlatMapMatchesDecode and
// FuzzFlatMap hold the two paths to the same bytes.

type flatKind uint8

const (
	flatString flatKind = iota
	flatKeyword
	flatInt
	flatUUID
	flatInstant
	flatBool
	flatNil
)

type flatEntry struct {
	key  string
	kind flatKind
	s    string // string, keyword name
	n    int64  // int, instant, bool (0/1)
	u    uuid.UUID
}

// maxFlatEntries bounds the entries the fast path takes (duplicate keys
// are checked pairwise); bigger maps take the general path.
const maxFlatEntries = 64

// flatMap parses s into entries (reusing its memory). ok is false when s
// is not a map the fast path reads exactly.
func flatMap(s string, entries []flatEntry) (_ []flatEntry, ok bool) {
	entries = entries[:0]
	i := skipWS(s, 0)
	if i >= len(s) || s[i] != '{' {
		return entries, false
	}
	i = skipWS(s, i+1)
	if i < len(s) && s[i] == '}' {
		return entries, skipWS(s, i+1) == len(s)
	}
	for {
		if len(entries) == maxFlatEntries {
			return entries, false
		}
		var key string
		if key, i, ok = plainString(s, i); !ok || len(key) < 3 || key[0] != '~' || key[1] != ':' {
			return entries, false
		}
		key = key[2:]
		if !plainName(key) {
			return entries, false
		}
		for j := range entries {
			if entries[j].key == key {
				return entries, false
			}
		}
		i = skipWS(s, i)
		if i >= len(s) || s[i] != ':' {
			return entries, false
		}
		i = skipWS(s, i+1)
		e := flatEntry{key: key}
		if i, ok = flatScalar(s, i, &e); !ok {
			return entries, false
		}
		entries = append(entries, e)
		i = skipWS(s, i)
		if i >= len(s) {
			return entries, false
		}
		switch s[i] {
		case ',':
			i = skipWS(s, i+1)
			continue
		case '}':
			return entries, skipWS(s, i+1) == len(s)
		}
		return entries, false
	}
}

// flatScalar reads the scalar at s[i:] into e.
func flatScalar(s string, i int, e *flatEntry) (int, bool) {
	if i >= len(s) {
		return i, false
	}
	switch c := s[i]; {
	case c == '"':
		str, j, ok := plainString(s, i)
		if !ok {
			return i, false
		}
		if len(str) == 0 || (str[0] != '~' && str[0] != '^') {
			e.kind, e.s = flatString, str
			return j, true
		}
		if str[0] == '^' || len(str) < 2 {
			return i, false // a cache code, or a lone "~"
		}
		rep := str[2:]
		switch str[1] {
		case '~', '^', '`':
			e.kind, e.s = flatString, str[1:]
		case ':':
			if !plainName(rep) {
				return i, false
			}
			e.kind, e.s = flatKeyword, rep
		case 'u':
			if len(rep) != 36 {
				return i, false
			}
			u, err := uuid.Parse(rep)
			if err != nil {
				return i, false
			}
			e.kind, e.u = flatUUID, u
		case 'm':
			n, ok := transit.ParseDecimal(rep)
			if !ok {
				return i, false
			}
			e.kind, e.n = flatInstant, n
		default:
			return i, false
		}
		return j, true
	case c == '-' || ('0' <= c && c <= '9'):
		j := i
		if s[j] == '-' {
			j++
		}
		k := j
		for j < len(s) && '0' <= s[j] && s[j] <= '9' {
			j++
		}
		if j == k || (s[k] == '0' && j > k+1) {
			return i, false
		}
		if j < len(s) && (s[j] == '.' || s[j] == 'e' || s[j] == 'E') {
			return i, false // a double: the general path
		}
		n, ok := transit.ParseDecimal(s[i:j])
		if !ok {
			return i, false // beyond int64: a double
		}
		e.kind, e.n = flatInt, n
		return j, true
	case len(s)-i >= 4 && s[i:i+4] == "true":
		e.kind, e.n = flatBool, 1
		return i + 4, true
	case len(s)-i >= 5 && s[i:i+5] == "false":
		e.kind, e.n = flatBool, 0
		return i + 5, true
	case len(s)-i >= 4 && s[i:i+4] == "null":
		e.kind = flatNil
		return i + 4, true
	}
	return i, false
}

// plainString reads the JSON string at s[i:] when it has no escapes, no
// control characters and is valid UTF-8, and returns it as a substring.
func plainString(s string, i int) (string, int, bool) {
	if i >= len(s) || s[i] != '"' {
		return "", i, false
	}
	start := i + 1
	var seen byte // OR of the classes met
	for j := start; j < len(s); j++ {
		c := s[j]
		if k := strClass[c]; k != 0 {
			if k == classQuote {
				str := s[start:j]
				if seen&classHigh != 0 && !utf8.ValidString(str) {
					return "", i, false
				}
				return str, j + 1, true
			}
			if k == classBad {
				return "", i, false
			}
			seen |= k
		}
	}
	return "", i, false
}

const (
	classQuote = 1 << iota // '"' ends the string
	classBad               // '\\' or a control character: the general path
	classHigh              // a non-ASCII byte: check UTF-8
)

// strClass classifies the bytes of a JSON string; 0 is a plain byte.
var strClass = func() (t [256]byte) {
	for c := range 0x20 {
		t[c] = classBad
	}
	t['"'], t['\\'] = classQuote, classBad
	for c := utf8.RuneSelf; c < 256; c++ {
		t[c] = classHigh
	}
	return t
}()

// plainName reports whether a keyword's text is a plain name: not empty
// and without '/' (namespaces take the general path).
func plainName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] == '/' {
			return false
		}
	}
	return true
}

func skipWS(s string, i int) int {
	if i < len(s) && s[i] > ' ' {
		return i // the common case: no whitespace
	}
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

// writeFlat writes parsed entries as the map fressian.Encoder.WriteValue
// writes for the decoded value.
func writeFlat(f *fressian.Encoder, entries []flatEntry) {
	f.BeginMap()
	for i := range entries {
		e := &entries[i]
		f.WriteKeywordKey("", e.key)
		switch e.kind {
		case flatString:
			f.WriteString(e.s)
		case flatKeyword:
			f.WriteKeyword("", e.s)
		case flatInt:
			f.WriteInt(e.n)
		case flatUUID:
			f.WriteUUID(e.u)
		case flatInstant:
			f.WriteInstant(value.Instant(e.n))
		case flatBool:
			f.WriteBool(e.n != 0)
		case flatNil:
			f.WriteNil()
		}
	}
	f.EndMap()
}
