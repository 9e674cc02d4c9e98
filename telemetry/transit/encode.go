package transit

import (
	"encoding/base64"
	"fmt"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/google/uuid"

	"tally/telemetry/value"
)

// maxEncodeDepth bounds the nesting the writers follow, so that a value
// that contains itself is an error rather than a stack overflow.
const maxEncodeDepth = 4096

// maxSafeInt is the largest integer a JavaScript number holds exactly;
// larger integers are written as "~i" strings.
const maxSafeInt = 1<<53 - 1

// Encode writes v as normal transit JSON, with "^ " maps and the write
// cache, byte for byte as transit-js writes the same value (except that
// integral doubles keep a ".0"). A scalar at the top is quoted.
func Encode(v value.Value) ([]byte, error) {
	e := encoder{buf: make([]byte, 0, 256)}
	e.scratch = e.small[:0]
	if err := e.top(v); err != nil {
		return nil, err
	}
	return e.buf, nil
}

// EncodeVerbose writes v as transit JSON-verbose, the form in which tally
// stores props and context: objects for maps, no cache, "~m" instants.
func EncodeVerbose(v value.Value) ([]byte, error) {
	return AppendVerbose(make([]byte, 0, 256), v)
}

// AppendVerbose appends the JSON-verbose form of v (see EncodeVerbose) to
// dst. On error it returns dst unchanged.
func AppendVerbose(dst []byte, v value.Value) ([]byte, error) {
	e := encoder{buf: dst, verbose: true}
	e.scratch = e.small[:0]
	if err := e.top(v); err != nil {
		return dst, err
	}
	return e.buf, nil
}

type encoder struct {
	buf     []byte
	verbose bool
	cache   writeCache
	depth   int
	scratch []byte   // the transit string being built
	small   [64]byte // scratch's first backing array
}

func (e *encoder) top(v value.Value) error {
	switch v.(type) {
	case value.Vector, value.List, value.Set, *value.Map:
		return e.emit(v, false)
	}
	e.open("'")
	if err := e.emit(v, false); err != nil {
		return err
	}
	e.close()
	return nil
}

// open starts a tagged value: ["~#tag", or {"~#tag":.
func (e *encoder) open(tag string) {
	if e.verbose {
		e.buf = append(e.buf, '{')
	} else {
		e.buf = append(e.buf, '[')
	}
	e.scratch = append(append(e.scratch[:0], "~#"...), tag...)
	e.emitString(e.scratch, true)
	if e.verbose {
		e.buf = append(e.buf, ':')
	} else {
		e.buf = append(e.buf, ',')
	}
}

func (e *encoder) close() {
	if e.verbose {
		e.buf = append(e.buf, '}')
	} else {
		e.buf = append(e.buf, ']')
	}
}

// emitString writes the transit string s, through the cache when it is
// cacheable.
func (e *encoder) emitString(s []byte, asKey bool) {
	if !e.verbose && cacheable(s, asKey) {
		if i, ok := e.cache.code(s); ok {
			e.buf = appendCacheCode(e.buf, i)
			return
		}
	}
	e.buf = appendQuoted(e.buf, s)
}

// rep starts the scratch string "~" + t.
func (e *encoder) rep(t byte) []byte {
	return append(e.scratch[:0], '~', t)
}

func (e *encoder) emit(v value.Value, asKey bool) error {
	switch x := v.(type) {
	case nil:
		if !asKey {
			e.buf = append(e.buf, "null"...)
			return nil
		}
		e.scratch = e.rep('_')
	case bool:
		if !asKey {
			e.buf = strconv.AppendBool(e.buf, x)
			return nil
		}
		e.scratch = append(e.rep('?'), "ft"[b2i(x)])
	case int64:
		if !asKey && -maxSafeInt <= x && x <= maxSafeInt {
			e.buf = strconv.AppendInt(e.buf, x, 10)
			return nil
		}
		e.scratch = strconv.AppendInt(e.rep('i'), x, 10)
	case float64:
		switch {
		case math.IsNaN(x):
			e.scratch = append(e.rep('z'), "NaN"...)
		case math.IsInf(x, 1):
			e.scratch = append(e.rep('z'), "INF"...)
		case math.IsInf(x, -1):
			e.scratch = append(e.rep('z'), "-INF"...)
		case !asKey:
			e.buf = appendDouble(e.buf, x)
			return nil
		default:
			e.scratch = appendDouble(e.rep('d'), x)
		}
	case string:
		if !asKey {
			e.buf = appendTransitString(e.buf, x)
			return nil
		}
		e.scratch = e.scratch[:0]
		if x != "" && (x[0] == '~' || x[0] == '^' || x[0] == '`') {
			e.scratch = append(e.scratch, '~')
		}
		e.scratch = append(e.scratch, x...)
	case []byte:
		s := e.rep('b')
		n, m := len(s), base64.StdEncoding.EncodedLen(len(x))
		s = slices.Grow(s, m)[:n+m]
		base64.StdEncoding.Encode(s[n:], x)
		e.scratch = s
	case value.Char:
		if !utf8.ValidRune(rune(x)) {
			return fmt.Errorf("transit: invalid character %U", rune(x))
		}
		e.scratch = utf8.AppendRune(e.rep('c'), rune(x))
	case value.Keyword:
		e.scratch = appendName(e.rep(':'), x.NS, x.Name)
	case value.Symbol:
		e.scratch = appendName(e.rep('$'), x.NS, x.Name)
	case uuid.UUID:
		e.scratch = appendUUID(e.rep('u'), x)
	case value.Instant:
		e.scratch = strconv.AppendInt(e.rep('m'), int64(x), 10)
	case value.Vector:
		return e.array(x)
	case value.List:
		return e.tagged("list", x)
	case value.Set:
		return e.tagged("set", x)
	case *value.Map:
		return e.emitMap(x)
	default:
		return fmt.Errorf("transit: cannot write %T", v)
	}
	e.emitString(e.scratch, asKey)
	return nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func appendName(dst []byte, ns, name string) []byte {
	if ns != "" {
		dst = append(append(dst, ns...), '/')
	}
	return append(dst, name...)
}

func (e *encoder) enter() error {
	e.depth++
	if e.depth > maxEncodeDepth {
		return fmt.Errorf("transit: value nested deeper than %d", maxEncodeDepth)
	}
	return nil
}

func (e *encoder) array(xs []value.Value) error {
	if err := e.enter(); err != nil {
		return err
	}
	e.buf = append(e.buf, '[')
	for i, x := range xs {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		if err := e.emit(x, false); err != nil {
			return err
		}
	}
	e.buf = append(e.buf, ']')
	e.depth--
	return nil
}

func (e *encoder) tagged(tag string, xs []value.Value) error {
	e.open(tag)
	if err := e.array(xs); err != nil {
		return err
	}
	e.close()
	return nil
}

// stringable reports whether every key of m has a one-character tag, so
// that m is written as a map rather than a cmap.
func stringable(m *value.Map) bool {
	for _, en := range m.Entries {
		switch en.Key.(type) {
		case value.Vector, value.List, value.Set, *value.Map:
			return false
		}
	}
	return true
}

func (e *encoder) emitMap(m *value.Map) error {
	if m == nil {
		return fmt.Errorf("transit: nil *value.Map")
	}
	if err := e.enter(); err != nil {
		return err
	}
	if !stringable(m) {
		e.open("cmap")
		e.buf = append(e.buf, '[')
		for i, en := range m.Entries {
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			if err := e.emit(en.Key, false); err != nil {
				return err
			}
			e.buf = append(e.buf, ',')
			if err := e.emit(en.Val, false); err != nil {
				return err
			}
		}
		e.buf = append(e.buf, ']')
		e.close()
		e.depth--
		return nil
	}
	kv := byte(',')
	if e.verbose {
		e.buf = append(e.buf, '{')
		kv = ':'
	} else {
		e.buf = append(e.buf, `["^ "`...)
	}
	for i, en := range m.Entries {
		if i > 0 || !e.verbose {
			e.buf = append(e.buf, ',')
		}
		if err := e.emit(en.Key, true); err != nil {
			return err
		}
		e.buf = append(e.buf, kv)
		if err := e.emit(en.Val, false); err != nil {
			return err
		}
	}
	if e.verbose {
		e.buf = append(e.buf, '}')
	} else {
		e.buf = append(e.buf, ']')
	}
	e.depth--
	return nil
}
