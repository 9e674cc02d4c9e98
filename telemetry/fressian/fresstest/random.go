package fresstest

import (
	"math"
	"math/rand/v2"
	"strings"

	"github.com/google/uuid"

	"tally/telemetry/value"
)

// Random returns a random value of the model that both the Go and the
// Java reader read back as the same value: map keys and set elements are
// distinct scalars (no doubles, whose equality differs between Clojure
// and value.Equal), NaN is Java's canonical one, there is no -0.0, and
// chars are UTF-16 code units.
func Random(r *rand.Rand, depth int) value.Value {
	n := 14
	if depth <= 0 {
		n = 10
	}
	switch r.IntN(n) {
	case 0:
		return nil
	case 1:
		return r.IntN(2) == 0
	case 2, 3:
		return randomInt(r)
	case 4:
		switch r.IntN(5) {
		case 0:
			return 1.0
		case 1:
			return math.Float64frombits(0x7FF8000000000000)
		case 2:
			return math.Inf(1 - 2*r.IntN(2))
		}
		f := r.NormFloat64() * math.Pow(10, float64(r.IntN(40)-20))
		if f == 0 {
			f = 0 // no -0.0
		}
		return f
	case 5:
		return value.Char(r.IntN(0x10000))
	case 6:
		return randomBytes(r)
	case 7, 8, 9:
		return RandomScalarKey(r)
	case 10:
		m := value.NewMap(0)
		keys := distinct(r, r.IntN(10))
		for _, k := range keys {
			m.Append(k, Random(r, depth-1))
		}
		return m
	case 11:
		return value.Vector(randomSeq(r, depth))
	case 12:
		return value.List(randomSeq(r, depth))
	}
	return value.Set(distinct(r, r.IntN(8)))
}

func randomSeq(r *rand.Rand, depth int) []value.Value {
	xs := make([]value.Value, r.IntN(10))
	for i := range xs {
		xs[i] = Random(r, depth-1)
	}
	return xs
}

func randomInt(r *rand.Rand) int64 {
	bits := r.IntN(64)
	x := int64(r.Uint64() >> (63 - bits))
	if r.IntN(2) == 0 {
		return ^x
	}
	return x
}

func randomBytes(r *rand.Rand) []byte {
	n := r.IntN(20)
	if r.IntN(50) == 0 {
		n = 65530 + r.IntN(10)
	}
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// RandomString returns a string mixing ASCII, 2- and 3-byte characters,
// supplementary characters, NUL, and now and then a lone surrogate (in
// its WTF-8 form, followed by ASCII so it cannot pair up).
func RandomString(r *rand.Rand) string {
	n := r.IntN(12)
	if r.IntN(40) == 0 {
		n = 20000 + r.IntN(30000)
	}
	var b strings.Builder
	for range n {
		switch r.IntN(10) {
		case 0:
			b.WriteRune(rune(0x80 + r.IntN(0x780)))
		case 1:
			b.WriteRune(rune(0x800 + r.IntN(0xD000-0x800)))
		case 2:
			b.WriteRune(rune(0x10000 + r.IntN(0x100000)))
		case 3:
			if r.IntN(8) == 0 {
				u := 0xD800 + r.IntN(0x800)
				b.Write([]byte{0xED, byte(0x80 | u>>6&0x3F), byte(0x80 | u&0x3F), 'x'})
				continue
			}
			b.WriteByte(byte(r.IntN(0x80)))
		default:
			b.WriteByte(byte('a' + r.IntN(26)))
		}
	}
	return b.String()
}

// RandomScalarKey returns a random string, keyword, symbol, int, uuid,
// instant or char.
func RandomScalarKey(r *rand.Rand) value.Value {
	name := func() string {
		if s := RandomString(r); s != "" && len(s) < 100 {
			return s
		}
		return "n"
	}
	ns := func() string {
		if r.IntN(2) == 0 {
			return ""
		}
		return []string{"app.main", "a", "x.y.z"}[r.IntN(3)]
	}
	switch r.IntN(7) {
	case 0:
		return RandomString(r)
	case 1:
		return value.Keyword{NS: ns(), Name: name()}
	case 2:
		return value.Symbol{NS: ns(), Name: name()}
	case 3:
		return randomInt(r)
	case 4:
		var u uuid.UUID
		for i := range u {
			u[i] = byte(r.Uint32())
		}
		return u
	case 5:
		return value.Instant(randomInt(r) >> 10)
	}
	return value.Char(r.IntN(0x10000))
}

// distinct returns up to n scalar keys, no two equal.
func distinct(r *rand.Rand, n int) []value.Value {
	var out []value.Value
outer:
	for range n {
		k := RandomScalarKey(r)
		for _, o := range out {
			if value.Equal(o, k) {
				continue outer
			}
		}
		out = append(out, k)
	}
	return out
}
