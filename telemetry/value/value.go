// Package value is the data model shared by tally's codecs (fressian,
// transit), the anonymiser and the store. It mirrors the subset of Clojure
// data that Penpot puts on the wire.
//
// A Value is one of these Go types:
//
//	nil          nil
//	bool         boolean
//	int64        integer (every fressian int width, transit ints)
//	float64      double (fressian floats are widened to float64)
//	string       string
//	[]byte       bytes
//	Char         character
//	Keyword      keyword, with an optional namespace
//	Symbol       symbol, with an optional namespace
//	uuid.UUID    uuid
//	Instant      instant, epoch milliseconds UTC
//	*Map         map; entries in the order they were read or added
//	Vector       vector
//	List         list / seq
//	Set          set; elements in the order they were read or added
//
// Maps and sets keep their order so that a value read from one writer and
// written again produces the same bytes; Equal compares them regardless of
// order, as Clojure does.
package value

import (
	"fmt"
	"math"
	"time"

	"github.com/google/uuid"
)

// Value is any of the types listed in the package documentation.
type Value = any

// Char is a single Unicode character (Clojure's char).
type Char rune

// Keyword is a Clojure keyword such as :name or :app.main/event.
type Keyword struct {
	NS   string // namespace, "" for a plain keyword
	Name string
}

// K returns the plain keyword :name.
func K(name string) Keyword { return Keyword{Name: name} }

// String returns the keyword as Clojure prints it, with the leading colon.
func (k Keyword) String() string {
	if k.NS != "" {
		return ":" + k.NS + "/" + k.Name
	}
	return ":" + k.Name
}

// FullName returns ns/name, or name for a plain keyword.
func (k Keyword) FullName() string {
	if k.NS != "" {
		return k.NS + "/" + k.Name
	}
	return k.Name
}

// Symbol is a Clojure symbol.
type Symbol struct {
	NS   string
	Name string
}

// FullName returns ns/name, or name for a plain symbol.
func (s Symbol) FullName() string {
	if s.NS != "" {
		return s.NS + "/" + s.Name
	}
	return s.Name
}

// Instant is a point in time with millisecond precision, as epoch
// milliseconds UTC (java.time.Instant and js Date on the wire).
type Instant int64

// InstantOf converts t to an Instant, dropping sub-millisecond precision.
func InstantOf(t time.Time) Instant { return Instant(t.UnixMilli()) }

// Time returns the instant as a UTC time.Time.
func (i Instant) Time() time.Time { return time.UnixMilli(int64(i)).UTC() }

// String formats the instant as RFC 3339 UTC with milliseconds.
func (i Instant) String() string { return i.Time().Format(RFC3339Milli) }

// RFC3339Milli is the layout tally uses for instants in JSON output.
const RFC3339Milli = "2006-01-02T15:04:05.000Z07:00"

// Vector is a Clojure vector.
type Vector []Value

// List is a Clojure list or seq.
type List []Value

// Set is a Clojure set. Elements keep the order they were read in.
type Set []Value

// Entry is one key/value pair of a Map.
type Entry struct {
	Key Value
	Val Value
}

// Map is an ordered map. Keys may be any comparable-by-Equal Value. The
// zero value is an empty map ready to use.
type Map struct {
	Entries []Entry
}

// NewMap returns a map with room for n entries.
func NewMap(n int) *Map { return &Map{Entries: make([]Entry, 0, n)} }

// Len returns the number of entries.
func (m *Map) Len() int {
	if m == nil {
		return 0
	}
	return len(m.Entries)
}

// Get returns the value stored under k.
func (m *Map) Get(k Value) (Value, bool) {
	if m == nil {
		return nil, false
	}
	// Fast path for the common keyword key.
	if kw, ok := k.(Keyword); ok {
		for _, e := range m.Entries {
			if ek, ok := e.Key.(Keyword); ok && ek == kw {
				return e.Val, true
			}
		}
		return nil, false
	}
	for _, e := range m.Entries {
		if Equal(e.Key, k) {
			return e.Val, true
		}
	}
	return nil, false
}

// GetKW returns the value stored under the plain keyword :name.
func (m *Map) GetKW(name string) (Value, bool) { return m.Get(K(name)) }

// Set stores v under k, replacing an existing entry in place or appending.
func (m *Map) Set(k, v Value) {
	for i, e := range m.Entries {
		if Equal(e.Key, k) {
			m.Entries[i].Val = v
			return
		}
	}
	m.Entries = append(m.Entries, Entry{k, v})
}

// Append adds an entry without checking for an existing key. Callers use
// it when they know the key is new (decoders, builders of fixed shapes).
func (m *Map) Append(k, v Value) { m.Entries = append(m.Entries, Entry{k, v}) }

// Delete removes the entry under k, keeping the order of the rest.
func (m *Map) Delete(k Value) {
	for i, e := range m.Entries {
		if Equal(e.Key, k) {
			m.Entries = append(m.Entries[:i], m.Entries[i+1:]...)
			return
		}
	}
}

// Equal reports whether a and b are the same value. Maps and sets compare
// without regard to order; vectors and lists compare element by element
// and are not equal to each other (tally keeps the distinction). Doubles
// compare by bits so NaN equals NaN, which round-trip tests need.
func Equal(a, b Value) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case bool, int64, string, Char, Keyword, Symbol, uuid.UUID, Instant:
		return a == b
	case float64:
		y, ok := b.(float64)
		return ok && math.Float64bits(x) == math.Float64bits(y)
	case []byte:
		y, ok := b.([]byte)
		return ok && string(x) == string(y)
	case Vector:
		y, ok := b.(Vector)
		return ok && seqEqual(x, y)
	case List:
		y, ok := b.(List)
		return ok && seqEqual(x, y)
	case Set:
		y, ok := b.(Set)
		return ok && len(x) == len(y) && unorderedEqual(x, y)
	case *Map:
		y, ok := b.(*Map)
		if !ok || x.Len() != y.Len() {
			return false
		}
		for _, e := range x.Entries {
			v, ok := y.Get(e.Key)
			if !ok || !Equal(e.Val, v) {
				return false
			}
		}
		return true
	}
	return false
}

func seqEqual(x, y []Value) bool {
	if len(x) != len(y) {
		return false
	}
	for i := range x {
		if !Equal(x[i], y[i]) {
			return false
		}
	}
	return true
}

func unorderedEqual(x, y []Value) bool {
	used := make([]bool, len(y))
outer:
	for _, a := range x {
		for j, b := range y {
			if !used[j] && Equal(a, b) {
				used[j] = true
				continue outer
			}
		}
		return false
	}
	return true
}

// Check reports an error when v (recursively) holds a Go type that is not
// part of the model. Codecs call it on values they are asked to write.
func Check(v Value) error {
	switch x := v.(type) {
	case nil, bool, int64, float64, string, []byte, Char, Keyword, Symbol, uuid.UUID, Instant:
		return nil
	case Vector:
		return checkAll(x)
	case List:
		return checkAll(x)
	case Set:
		return checkAll(x)
	case *Map:
		if x == nil {
			return fmt.Errorf("value: nil *Map")
		}
		for _, e := range x.Entries {
			if err := Check(e.Key); err != nil {
				return err
			}
			if err := Check(e.Val); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("value: unsupported type %T", v)
}

func checkAll(xs []Value) error {
	for _, x := range xs {
		if err := Check(x); err != nil {
			return err
		}
	}
	return nil
}
