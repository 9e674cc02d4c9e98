package transit

import (
	"encoding/binary"
	"hash/maphash"
	"math"

	"github.com/google/uuid"

	"tally/telemetry/value"
)

// linearLimit is the size up to which maps and sets find repeated keys by
// scanning; larger ones use a hash index.
const linearLimit = 32

// mapBuilder collects the entries of one map on the decoder's entry stack,
// merging repeated keys: the first position, the last value.
type mapBuilder struct {
	base  int
	index map[uint64][]int32
}

func (m *mapBuilder) add(d *decoder, k, v value.Value) {
	ents := d.ents[m.base:]
	if m.index == nil && len(ents) < linearLimit {
		if i := findLinear(ents, k); i >= 0 {
			ents[i].Val = v
			return
		}
		d.ents = append(d.ents, value.Entry{Key: k, Val: v})
		return
	}
	if m.index == nil {
		m.index = make(map[uint64][]int32, 2*len(ents))
		for i := range ents {
			h := hashValue(ents[i].Key)
			m.index[h] = append(m.index[h], int32(i))
		}
	}
	h := hashValue(k)
	for _, i := range m.index[h] {
		if value.Equal(ents[i].Key, k) {
			ents[i].Val = v
			return
		}
	}
	m.index[h] = append(m.index[h], int32(len(ents)))
	d.ents = append(d.ents, value.Entry{Key: k, Val: v})
}

// findLinear returns the index of the entry whose key equals k, or -1.
func findLinear(ents []value.Entry, k value.Value) int {
	switch x := k.(type) {
	case value.Keyword:
		for i := range ents {
			if y, ok := ents[i].Key.(value.Keyword); ok && len(y.Name) == len(x.Name) && y == x {
				return i
			}
		}
		return -1
	case string:
		for i := range ents {
			if y, ok := ents[i].Key.(string); ok && y == x {
				return i
			}
		}
		return -1
	}
	for i := range ents {
		if value.Equal(ents[i].Key, k) {
			return i
		}
	}
	return -1
}

// done pops the entries and returns the map.
func (m *mapBuilder) done(d *decoder) *value.Map {
	out := &value.Map{Entries: make([]value.Entry, len(d.ents)-m.base)}
	copy(out.Entries, d.ents[m.base:])
	d.ents = d.ents[:m.base]
	return out
}

// dedupSet drops repeated elements, keeping the first of each.
func dedupSet(xs []value.Value) value.Set {
	out := xs[:0]
	if len(xs) <= linearLimit {
	next:
		for _, x := range xs {
			for _, y := range out {
				if keyEqual(x, y) {
					continue next
				}
			}
			out = append(out, x)
		}
		return value.Set(out)
	}
	index := make(map[uint64][]int32, len(xs))
next2:
	for _, x := range xs {
		h := hashValue(x)
		for _, i := range index[h] {
			if value.Equal(out[i], x) {
				continue next2
			}
		}
		index[h] = append(index[h], int32(len(out)))
		out = append(out, x)
	}
	return value.Set(out)
}

// keyEqual is value.Equal with fast paths for the usual keys.
func keyEqual(a, b value.Value) bool {
	switch x := a.(type) {
	case value.Keyword:
		y, ok := b.(value.Keyword)
		return ok && x == y
	case string:
		y, ok := b.(string)
		return ok && x == y
	}
	return value.Equal(a, b)
}

var hashSeed = maphash.MakeSeed()

// hashValue hashes v consistently with value.Equal: maps and sets hash
// without regard to order.
func hashValue(v value.Value) uint64 {
	var h maphash.Hash
	h.SetSeed(hashSeed)
	writeHash(&h, v)
	return h.Sum64()
}

func writeHash(h *maphash.Hash, v value.Value) {
	var b [9]byte
	word := func(kind byte, u uint64) {
		b[0] = kind
		binary.LittleEndian.PutUint64(b[1:], u)
		h.Write(b[:])
	}
	switch x := v.(type) {
	case nil:
		h.WriteByte(0)
	case bool:
		if x {
			h.WriteByte(2)
		} else {
			h.WriteByte(1)
		}
	case int64:
		word(3, uint64(x))
	case float64:
		word(4, math.Float64bits(x))
	case string:
		h.WriteByte(5)
		h.WriteString(x)
	case []byte:
		h.WriteByte(6)
		h.Write(x)
	case value.Char:
		word(7, uint64(x))
	case value.Keyword:
		h.WriteByte(8)
		h.WriteString(x.NS)
		h.WriteByte(0)
		h.WriteString(x.Name)
	case value.Symbol:
		h.WriteByte(9)
		h.WriteString(x.NS)
		h.WriteByte(0)
		h.WriteString(x.Name)
	case uuid.UUID:
		h.WriteByte(10)
		h.Write(x[:])
	case value.Instant:
		word(11, uint64(x))
	case value.Vector:
		word(12, uint64(len(x)))
		for _, e := range x {
			writeHash(h, e)
		}
	case value.List:
		word(13, uint64(len(x)))
		for _, e := range x {
			writeHash(h, e)
		}
	case value.Set:
		var sum uint64
		for _, e := range x {
			sum += hashValue(e)
		}
		word(14, uint64(len(x)))
		word(14, sum)
	case *value.Map:
		var sum uint64
		for _, e := range x.Entries {
			sum += hashValue(e.Key)*0x9e3779b97f4a7c15 ^ hashValue(e.Val)
		}
		word(15, uint64(x.Len()))
		word(15, sum)
	}
}
