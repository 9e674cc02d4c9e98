package transit

import (
	"fmt"
	"math"
	"strconv"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"tally/telemetry/value"
)

// SyntaxError reports input the readers cannot accept.
type SyntaxError struct {
	Offset int    // byte offset in the input where the problem was found
	Msg    string // what is wrong
}

// Error implements error.
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("transit: %s at offset %d", e.Msg, e.Offset)
}

// decoder is the state of one Decode or DecodeJSON call. Its stacks,
// scratch buffer and cache are reused through decoderPool.
type decoder struct {
	data  []byte
	pos   int
	depth int
	arena []byte        // backing store of decoded strings, see str
	buf   []byte        // scratch for strings with escapes
	vals  []value.Value // stack of array elements under construction
	ents  []value.Entry // stack of map entries under construction
	cache []value.Value // the read cache
	next  int           // next read-cache index
}

var decoderPool = sync.Pool{New: func() any { return new(decoder) }}

func getDecoder(data []byte) *decoder {
	d := decoderPool.Get().(*decoder)
	d.data, d.pos, d.depth, d.next = data, 0, 0, 0
	return d
}

func putDecoder(d *decoder) {
	clear(d.cache)
	clear(d.vals[:cap(d.vals)])
	clear(d.ents[:cap(d.ents)])
	d.cache, d.vals, d.ents = d.cache[:0], d.vals[:0], d.ents[:0]
	d.data, d.arena = nil, nil
	if cap(d.buf) > 64<<10 {
		d.buf = nil
	}
	decoderPool.Put(d)
}

func (d *decoder) errorf(format string, args ...any) error {
	return &SyntaxError{Offset: d.pos, Msg: fmt.Sprintf(format, args...)}
}

func (d *decoder) errAt(pos int, msg string) error {
	return &SyntaxError{Offset: pos, Msg: msg}
}

// end checks that only whitespace follows the top-level value.
func (d *decoder) end() error {
	d.skipWS()
	if d.pos != len(d.data) {
		return d.errorf("unexpected %q after top-level value", d.data[d.pos])
	}
	return nil
}

func (d *decoder) skipWS() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

// peek skips whitespace and returns the next byte, or an error at the end
// of the input.
func (d *decoder) peek() (byte, error) {
	d.skipWS()
	if d.pos >= len(d.data) {
		return 0, d.errorf("unexpected end of input")
	}
	return d.data[d.pos], nil
}

// enter and leave bound the nesting depth.
func (d *decoder) enter() error {
	d.depth++
	if d.depth > MaxDepth {
		return d.errorf("nesting deeper than %d", MaxDepth)
	}
	return nil
}

func (d *decoder) leave() { d.depth-- }

// sep reads the separator after an element: it reports true after a comma
// and false at the closing byte, which it consumes.
func (d *decoder) sep(closing byte) (more bool, err error) {
	c, err := d.peek()
	if err != nil {
		return false, err
	}
	d.pos++
	switch c {
	case ',':
		return true, nil
	case closing:
		return false, nil
	}
	d.pos--
	return false, d.errorf("expected ',' or %q, found %q", closing, c)
}

// literal reads true, false or null.
func (d *decoder) literal() (value.Value, error) {
	rest := d.data[d.pos:]
	switch {
	case len(rest) >= 4 && string(rest[:4]) == "true":
		d.pos += 4
		return true, nil
	case len(rest) >= 5 && string(rest[:5]) == "false":
		d.pos += 5
		return false, nil
	case len(rest) >= 4 && string(rest[:4]) == "null":
		d.pos += 4
		return nil, nil
	}
	return nil, d.errorf("invalid literal")
}

// str returns s as a string whose bytes live in the decoder's arena, a
// chunk of memory shared by many short strings: one allocation for many
// strings instead of one each. A chunk is never grown or written again
// once a string points into it, so its bytes never change.
func (d *decoder) str(s []byte) string {
	if len(s) == 0 {
		return ""
	}
	if len(s) > arenaChunk/8 {
		return string(s)
	}
	if cap(d.arena)-len(d.arena) < len(s) {
		d.arena = make([]byte, 0, max(min(arenaChunk, len(d.data)), len(s)))
	}
	n := len(d.arena)
	d.arena = append(d.arena, s...)
	return unsafe.String(&d.arena[n], len(s))
}

// arenaChunk is the size of the arena's chunks.
const arenaChunk = 4096

// strSafe marks the bytes that a JSON string holds as they are.
var strSafe = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// readString reads the JSON string at d.pos (which holds '"') and returns
// its decoded bytes. The result aliases the input or the scratch buffer:
// it is valid until the next readString.
func (d *decoder) readString() ([]byte, error) {
	start := d.pos + 1
	i := start
	ascii := true
	for i < len(d.data) {
		c := d.data[i]
		if strSafe[c] {
			if c >= utf8.RuneSelf {
				ascii = false
			}
			i++
			continue
		}
		switch {
		case c == '"':
			s := d.data[start:i]
			if !ascii && !utf8.Valid(s) {
				return nil, d.errAt(start, "invalid UTF-8 in string")
			}
			d.pos = i + 1
			return s, nil
		case c == '\\':
			return d.readEscaped(start, i)
		default:
			return nil, d.errAt(i, "control character in string")
		}
	}
	return nil, d.errAt(d.pos, "unterminated string")
}

// readEscaped continues readString at the first backslash, at i.
func (d *decoder) readEscaped(start, i int) ([]byte, error) {
	b := append(d.buf[:0], d.data[start:i]...)
	defer func() { d.buf = b[:0] }()
	for i < len(d.data) {
		c := d.data[i]
		switch {
		case c == '"':
			if !utf8.Valid(b) {
				return nil, d.errAt(start, "invalid UTF-8 in string")
			}
			d.pos = i + 1
			return b, nil
		case c < 0x20:
			return nil, d.errAt(i, "control character in string")
		case c != '\\':
			b = append(b, c)
			i++
			continue
		}
		if i+1 >= len(d.data) {
			break
		}
		i++
		switch e := d.data[i]; e {
		case '"', '\\', '/':
			b = append(b, e)
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r, n, ok := d.unicodeEscape(i - 1)
			if !ok {
				return nil, d.errAt(i-1, "invalid \\u escape")
			}
			b = utf8.AppendRune(b, r)
			i += n - 2
		default:
			return nil, d.errAt(i-1, "invalid escape in string")
		}
		i++
	}
	return nil, d.errAt(start-1, "unterminated string")
}

// unicodeEscape decodes the \uXXXX escape at i, joining a surrogate pair
// when a second escape follows. It returns the rune and the number of
// bytes used. A lone surrogate becomes U+FFFD, as in encoding/json.
func (d *decoder) unicodeEscape(i int) (rune, int, bool) {
	r, ok := hex4(d.data, i+2)
	if !ok {
		return 0, 0, false
	}
	if !utf16.IsSurrogate(r) {
		return r, 6, true
	}
	if r < 0xdc00 && i+12 <= len(d.data) && d.data[i+6] == '\\' && d.data[i+7] == 'u' {
		if r2, ok := hex4(d.data, i+8); ok {
			if c := utf16.DecodeRune(r, r2); c != utf8.RuneError {
				return c, 12, true
			}
		}
	}
	return utf8.RuneError, 6, true
}

func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// number reads the JSON number at d.pos.
func (d *decoder) number() (value.Value, error) {
	v, n, err := parseNumber(d.data[d.pos:])
	if err != "" {
		return nil, d.errorf("%s", err)
	}
	d.pos += n
	return v, nil
}

// parseNumber parses a JSON number at the start of b and returns it, the
// bytes it used, or an error message. Without fraction or exponent it is
// an int64 unless it overflows, when it becomes a float64.
func parseNumber(b []byte) (value.Value, int, string) {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	digits := i
	var u uint64
	overflow := false
	for i < len(b) && '0' <= b[i] && b[i] <= '9' {
		if u > (math.MaxUint64-9)/10 {
			overflow = true
		}
		u = u*10 + uint64(b[i]-'0')
		i++
	}
	switch {
	case i == digits:
		return nil, 0, "invalid number"
	case b[digits] == '0' && i > digits+1:
		return nil, 0, "leading zero in number"
	}
	isFloat := false
	if i < len(b) && b[i] == '.' {
		i++
		j := i
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
		if i == j {
			return nil, 0, "invalid number"
		}
		isFloat = true
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := i
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
		if i == j {
			return nil, 0, "invalid number"
		}
		isFloat = true
	}
	if !isFloat && !overflow {
		neg := digits == 1
		switch {
		case !neg && u <= math.MaxInt64:
			return int64(u), i, ""
		case neg && u <= 1<<63:
			return -int64(u-1) - 1, i, ""
		}
	}
	f, err := strconv.ParseFloat(unsafe.String(&b[0], i), 64)
	if err != nil {
		return nil, 0, "number out of range"
	}
	return f, i, ""
}
