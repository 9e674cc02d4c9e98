package transit

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"math"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"tally/telemetry/value"
)

// tagged reads the representation of a tagged value with tag t (found at
// pos) and builds the value.
func (d *decoder) tagged(t tag, pos int) (value.Value, error) {
	switch t {
	case "set", "list", "cmap":
		c, err := d.peek()
		if err != nil {
			return nil, err
		}
		if c != '[' {
			return nil, d.errAt(pos, "~#"+string(t)+" needs an array")
		}
		rep, err := d.array(true)
		if err != nil {
			return nil, err
		}
		xs, ok := rep.(value.Vector)
		if !ok {
			return nil, d.errAt(pos, "~#"+string(t)+" needs an array, not a map")
		}
		switch t {
		case "set":
			return dedupSet(xs), nil
		case "list":
			return value.List(xs), nil
		}
		if len(xs)%2 != 0 {
			return nil, d.errAt(pos, "~#cmap needs an even number of items")
		}
		m := mapBuilder{base: len(d.ents)}
		for i := 0; i < len(xs); i += 2 {
			m.add(d, xs[i], xs[i+1])
		}
		return m.done(d), nil
	}
	rep, err := d.any(false, true)
	if err != nil {
		return nil, err
	}
	if _, ok := rep.(tag); ok {
		return nil, d.errAt(pos, "tag as the value of a tag")
	}
	return d.fromRep(t, rep, pos)
}

// fromRep builds the value of the scalar tags from their representation.
func (d *decoder) fromRep(t tag, rep value.Value, pos int) (value.Value, error) {
	switch t {
	case "'":
		return rep, nil
	case "u", "uuid":
		switch x := rep.(type) {
		case uuid.UUID:
			return x, nil
		case value.Vector:
			hi, ok1 := vecInt(x, 0)
			lo, ok2 := vecInt(x, 1)
			if len(x) == 2 && ok1 && ok2 {
				var u uuid.UUID
				binary.BigEndian.PutUint64(u[:8], uint64(hi))
				binary.BigEndian.PutUint64(u[8:], uint64(lo))
				return u, nil
			}
		}
	case "m":
		switch x := rep.(type) {
		case int64:
			return value.Instant(x), nil
		case value.Instant:
			return x, nil
		}
	case "t":
		if x, ok := rep.(value.Instant); ok {
			return x, nil
		}
	}
	if t == "uuid" {
		t = "u"
	}
	s, ok := rep.(string)
	if !ok || len(t) != 1 || t == "'" {
		return nil, d.errAt(pos, "unsupported tag ~#"+string(t))
	}
	return d.scalar(t[0], []byte(s), pos)
}

func vecInt(v value.Vector, i int) (int64, bool) {
	if i >= len(v) {
		return 0, false
	}
	n, ok := v[i].(int64)
	return n, ok
}

// scalar decodes "~" + tag + rep.
func (d *decoder) scalar(t byte, rep []byte, pos int) (value.Value, error) {
	switch t {
	case ':':
		ns, name := d.names(rep)
		return value.Keyword{NS: ns, Name: name}, nil
	case '$':
		ns, name := d.names(rep)
		return value.Symbol{NS: ns, Name: name}, nil
	case 'u':
		if len(rep) == 36 {
			if u, err := uuid.ParseBytes(rep); err == nil {
				return u, nil
			}
		}
		return nil, d.errAt(pos, "invalid uuid")
	case 'm':
		if n, ok := ParseDecimal(rep); ok {
			return value.Instant(n), nil
		}
		return nil, d.errAt(pos, "invalid ~m instant")
	case 't':
		tm, err := time.Parse(time.RFC3339Nano, string(rep))
		if err != nil {
			return nil, d.errAt(pos, "invalid ~t instant")
		}
		return value.InstantOf(tm), nil
	case 'i':
		if n, ok := ParseDecimal(rep); ok {
			return n, nil
		}
		return nil, d.errAt(pos, "invalid or out-of-range ~i integer")
	case 'd':
		if v, n, msg := parseNumber(rep); msg == "" && n == len(rep) {
			if i, ok := v.(int64); ok {
				return float64(i), nil
			}
			return v, nil
		}
		return nil, d.errAt(pos, "invalid ~d double")
	case 'c':
		r, n := utf8.DecodeRune(rep)
		if n == 0 || n != len(rep) {
			return nil, d.errAt(pos, "~c needs exactly one character")
		}
		return value.Char(r), nil
	case 'b':
		b := make([]byte, base64.StdEncoding.DecodedLen(len(rep)))
		n, err := base64.StdEncoding.Decode(b, rep)
		if err != nil {
			return nil, d.errAt(pos, "invalid ~b base64")
		}
		return b[:n], nil
	case '?':
		switch string(rep) {
		case "t":
			return true, nil
		case "f":
			return false, nil
		}
		return nil, d.errAt(pos, "invalid ~? boolean")
	case '_':
		if len(rep) == 0 {
			return nil, nil
		}
		return nil, d.errAt(pos, "invalid ~_ nil")
	case 'z':
		switch string(rep) {
		case "NaN":
			return math.NaN(), nil
		case "INF":
			return math.Inf(1), nil
		case "-INF":
			return math.Inf(-1), nil
		}
		return nil, d.errAt(pos, "invalid ~z special double")
	}
	return nil, d.errAt(pos, "unsupported tag ~"+string(rune(t)))
}

// names splits a keyword or symbol at its first '/' as Clojure does; a
// leading '/' (and "/" itself) belongs to the name.
func (d *decoder) names(rep []byte) (ns, name string) {
	if i := bytes.IndexByte(rep, '/'); i > 0 {
		return d.str(rep[:i]), d.str(rep[i+1:])
	}
	return "", d.str(rep)
}

// ParseDecimal parses an optionally negative decimal int64 as transit
// writes one: no '+' sign, at most 19 digits.
func ParseDecimal[T string | []byte](b T) (int64, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var u uint64
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		u = u*10 + uint64(c-'0')
	}
	switch {
	case !neg && u <= math.MaxInt64:
		return int64(u), true
	case neg && u <= 1<<63:
		return -int64(u-1) - 1, true
	}
	return 0, false
}
