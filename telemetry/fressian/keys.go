package fressian

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"github.com/google/uuid"

	"tally/telemetry/value"
)

// prioCache is the writer's priority cache. org.fressian keys it with
// Java's equals, under which values of different classes never match, so
// one Go map per type gives the same hits; composite keys are looked up
// by a canonical encoding. Indexes are handed out in first-use order
// across all the maps, as InterleavedIndexHopMap does.
type prioCache struct {
	n      int
	kwFast [kwFastSize]kwSlot // direct-mapped front of kw for hot map keys
	kw     map[value.Keyword]int
	sym    map[value.Symbol]int
	str    map[string]int
	ints   map[int64]int
	dbls   map[uint64]int
	chars  map[value.Char]int
	uuids  map[uuid.UUID]int
	insts  map[value.Instant]int
	comp   map[string]int
}

// kwSlot remembers the cache index (plus one; 0 = empty) of a keyword.
type kwSlot struct {
	ns, name string
	idx      int
}

const kwFastSize = 256

// kwSlotFor picks the fast-path slot of a keyword from the lengths of
// its parts and four bytes of its name, mixed by a multiply.
func kwSlotFor(ns, name string) uint {
	h := uint64(len(name)) | uint64(len(ns))<<8
	if n := len(name); n > 0 {
		h |= uint64(name[0])<<16 | uint64(name[n-1])<<24 | uint64(name[n/2])<<32 | uint64(name[n/3])<<40
	}
	return uint((h * 0x9E3779B97F4A7C15) >> 56)
}

// keyword returns the cache index of a keyword map key, adding it when it
// is new.
func (c *prioCache) keyword(ns, name string) (int, bool) {
	slot := &c.kwFast[kwSlotFor(ns, name)]
	if slot.idx != 0 && slot.name == name && slot.ns == ns {
		return slot.idx - 1, true
	}
	idx, found := find(c, &c.kw, value.Keyword{NS: ns, Name: name})
	if !found {
		idx = c.n - 1
	}
	*slot = kwSlot{ns: ns, name: name, idx: idx + 1}
	return idx, found
}

func (c *prioCache) reset() {
	c.n = 0
	c.kwFast = [kwFastSize]kwSlot{}
	clear(c.kw)
	clear(c.sym)
	clear(c.str)
	clear(c.ints)
	clear(c.dbls)
	clear(c.chars)
	clear(c.uuids)
	clear(c.insts)
	clear(c.comp)
}

func (c *prioCache) addString(s string) {
	if c.str == nil {
		c.str = make(map[string]int)
	}
	c.str[s] = c.n
	c.n++
}

// find returns the index of k in m, or adds k under the next index.
func find[K comparable](c *prioCache, m *map[K]int, k K) (int, bool) {
	if idx, ok := (*m)[k]; ok {
		return idx, true
	}
	if *m == nil {
		*m = make(map[K]int)
	}
	(*m)[k] = c.n
	c.n++
	return 0, false
}

// lookup finds v in the cache or adds it. A value holding a []byte is
// always added afresh: Java compares arrays by identity.
func (c *prioCache) lookup(v value.Value, scratch *[]byte) (idx int, found bool, err error) {
	switch x := v.(type) {
	case value.Keyword:
		idx, found = c.keyword(x.NS, x.Name)
	case value.Symbol:
		idx, found = find(c, &c.sym, x)
	case string:
		idx, found = find(c, &c.str, x)
	case int64:
		idx, found = find(c, &c.ints, x)
	case float64:
		b := math.Float64bits(x)
		if x != x {
			b = javaNaN
		}
		idx, found = find(c, &c.dbls, b)
	case value.Char:
		idx, found = find(c, &c.chars, x)
	case uuid.UUID:
		idx, found = find(c, &c.uuids, x)
	case value.Instant:
		idx, found = find(c, &c.insts, x)
	default:
		key, ok, err := appendCanon((*scratch)[:0], v, true, 0)
		*scratch = key[:0]
		if err != nil {
			return 0, false, err
		}
		if !ok {
			c.n++
			return 0, false, nil
		}
		if idx, found := c.comp[string(key)]; found {
			return idx, true, nil
		}
		if c.comp == nil {
			c.comp = make(map[string]int)
		}
		c.comp[string(key)] = c.n
		c.n++
	}
	return idx, found, nil
}

// appendCanon appends a canonical encoding of v: two values get the same
// encoding exactly when they are equal, with maps and sets compared
// without regard to order. With java set, equality is Java's equals as
// the writer's cache sees it: vectors, lists and seqs are all
// java.util.Lists and compare equal, and a []byte matches nothing but
// itself (ok is false). Without it, equality is value.Equal's.
func appendCanon(dst []byte, v value.Value, java bool, depth int) (_ []byte, ok bool, err error) {
	if depth > maxWriteDepth {
		return dst, false, fmt.Errorf("fressian: value nested deeper than %d", maxWriteDepth)
	}
	str := func(tag byte, s string) []byte {
		dst = append(dst, tag)
		dst = binary.AppendUvarint(dst, uint64(len(s)))
		return append(dst, s...)
	}
	u64 := func(tag byte, n uint64) []byte {
		return binary.BigEndian.AppendUint64(append(dst, tag), n)
	}
	switch x := v.(type) {
	case nil:
		return append(dst, 'n'), true, nil
	case bool:
		if x {
			return append(dst, 't'), true, nil
		}
		return append(dst, 'f'), true, nil
	case int64:
		return u64('i', uint64(x)), true, nil
	case float64:
		b := math.Float64bits(x)
		if x != x {
			b = javaNaN
		}
		return u64('d', b), true, nil
	case string:
		return str('s', x), true, nil
	case []byte:
		return str('b', string(x)), !java, nil
	case value.Char:
		return u64('c', uint64(x)), true, nil
	case value.Keyword:
		dst = str('k', x.NS)
		return str('/', x.Name), true, nil
	case value.Symbol:
		dst = str('y', x.NS)
		return str('/', x.Name), true, nil
	case uuid.UUID:
		return append(append(dst, 'u'), x[:]...), true, nil
	case value.Instant:
		return u64('a', uint64(x)), true, nil
	case value.Vector:
		return appendCanonSeq(dst, 'v', x, java, depth)
	case value.List:
		tag := byte('l')
		if java {
			tag = 'v'
		}
		return appendCanonSeq(dst, tag, x, java, depth)
	case value.Set:
		return appendCanonUnordered(dst, 'S', len(x), func(i int, b []byte) ([]byte, bool, error) {
			return appendCanon(b, x[i], java, depth+1)
		})
	case *value.Map:
		if x == nil {
			return dst, false, fmt.Errorf("fressian: nil *value.Map")
		}
		return appendCanonUnordered(dst, 'M', len(x.Entries), func(i int, b []byte) ([]byte, bool, error) {
			b, ok1, err := appendCanon(b, x.Entries[i].Key, java, depth+1)
			if err != nil {
				return b, false, err
			}
			b, ok2, err := appendCanon(b, x.Entries[i].Val, java, depth+1)
			return b, ok1 && ok2, err
		})
	}
	return dst, false, fmt.Errorf("fressian: unsupported type %T", v)
}

func appendCanonSeq(dst []byte, tag byte, xs []value.Value, java bool, depth int) ([]byte, bool, error) {
	dst = binary.AppendUvarint(append(dst, tag), uint64(len(xs)))
	all := true
	for _, x := range xs {
		var ok bool
		var err error
		dst, ok, err = appendCanon(dst, x, java, depth+1)
		if err != nil {
			return dst, false, err
		}
		all = all && ok
	}
	return dst, all, nil
}

func appendCanonUnordered(dst []byte, tag byte, n int, elem func(int, []byte) ([]byte, bool, error)) ([]byte, bool, error) {
	parts := make([][]byte, n)
	all := true
	for i := range parts {
		b, ok, err := elem(i, nil)
		if err != nil {
			return dst, false, err
		}
		parts[i] = b
		all = all && ok
	}
	slices.SortFunc(parts, bytes.Compare)
	dst = binary.AppendUvarint(append(dst, tag), uint64(n))
	for _, p := range parts {
		dst = binary.AppendUvarint(dst, uint64(len(p)))
		dst = append(dst, p...)
	}
	return dst, all, nil
}

// Comparable stand-ins for values that cannot be Go map keys as they are.
type (
	floatKey uint64
	bytesKey string
	compKey  string
)

// equalKey returns a comparable Go value that two model values share
// exactly when value.Equal holds for them.
func equalKey(v value.Value) any {
	switch x := v.(type) {
	case float64:
		return floatKey(math.Float64bits(x))
	case []byte:
		return bytesKey(x)
	case *value.Map, value.Vector, value.List, value.Set:
		b, _, _ := appendCanon(nil, v, false, 0)
		return compKey(b)
	}
	return v
}
