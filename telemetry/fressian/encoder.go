package fressian

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"sync"

	"github.com/google/uuid"

	"tally/telemetry/value"
)

// tagID names the struct tags the Encoder writes; each has a slot in the
// struct cache once first used.
type tagID uint8

const (
	tMap tagID = iota
	tKeyword
	tSymbol
	tVector
	tSet
	tSeq
	tInstant
	tChar
	numTags
)

var tagNames = [numTags]string{TagMap, TagKeyword, TagSymbol, TagVector, TagSet, TagSeq, TagInstant, TagChar}

// maxWriteDepth bounds the nesting WriteValue follows, so that a cyclic
// *value.Map ends in an error instead of exhausting memory.
const maxWriteDepth = 10000

// javaNaN is the bit pattern Java's Double.doubleToLongBits gives every NaN.
const javaNaN = 0x7FF8000000000000

// An Encoder writes fressian into an internal buffer. Its caches live
// from one Reset to the next, exactly like one org.fressian.FressianWriter
// (Penpot creates one per encoded value), so one Encoder should write one
// top-level value between Resets. The zero value is ready to use. An
// Encoder is not safe for concurrent use.
//
// The low-level methods let a caller stream a value without building a
// tree first; they write exactly what the Java writer writes for the
// corresponding Clojure value. For example a vector of one event map:
//
//	e.BeginVector(1)
//	e.BeginMap()
//	e.WriteKeywordKey("", "name")
//	e.WriteString("navigate")
//	e.EndMap()
type Encoder struct {
	buf     []byte
	tagIdx  [numTags]int32 // struct cache index + 1; 0 = not written yet
	ntags   int32
	prio    prioCache
	scratch []byte
	depth   int
}

// NewEncoder returns an Encoder whose buffer starts with room for size
// bytes.
func NewEncoder(size int) *Encoder {
	return &Encoder{buf: make([]byte, 0, size)}
}

// Reset empties the buffer (keeping its memory) and clears the caches, so
// the Encoder can write the next value as a fresh Java writer would.
func (e *Encoder) Reset() {
	e.buf = e.buf[:0]
	e.tagIdx = [numTags]int32{}
	e.ntags = 0
	e.prio.reset()
	e.depth = 0
}

// Bytes returns the bytes written since the last Reset. The slice aliases
// the Encoder's buffer and is valid until the next write or Reset.
func (e *Encoder) Bytes() []byte { return e.buf }

// Len returns the number of bytes written since the last Reset.
func (e *Encoder) Len() int { return len(e.buf) }

func (e *Encoder) writeTag(t tagID, fields int) {
	idx := e.tagIdx[t] - 1
	switch {
	case idx < 0:
		e.tagIdx[t] = e.ntags + 1
		e.ntags++
		e.buf = append(e.buf, codeStructType)
		e.WriteString(tagNames[t])
		e.WriteInt(int64(fields))
	case idx < structCachePackedEnd:
		e.buf = append(e.buf, codeStructCachePackedStart+byte(idx))
	default:
		e.buf = append(e.buf, codeStruct)
		e.WriteInt(int64(idx))
	}
}

func (e *Encoder) listHeader(n int) {
	if n < packedLengthEnd {
		e.buf = append(e.buf, codeListPackedStart+byte(n))
		return
	}
	e.buf = append(e.buf, codeList)
	e.WriteInt(int64(n))
}

// WriteNil writes nil.
func (e *Encoder) WriteNil() { e.buf = append(e.buf, codeNull) }

// WriteBool writes a boolean.
func (e *Encoder) WriteBool(b bool) {
	if b {
		e.buf = append(e.buf, codeTrue)
	} else {
		e.buf = append(e.buf, codeFalse)
	}
}

// WriteInt writes an integer in the smallest packed form, as
// FressianWriter.writeInt does.
func (e *Encoder) WriteInt(i int64) { e.buf = appendInt(e.buf, i) }

func appendInt(b []byte, i int64) []byte {
	l := i
	if l < 0 {
		l = ^l
	}
	switch lz := bits.LeadingZeros64(uint64(l)); {
	case lz >= 58:
		if i < -1 {
			b = append(b, byte(codeIntPacked2Zero+(i>>8)))
		}
		return append(b, byte(i))
	case lz >= 52:
		return append(b, byte(codeIntPacked2Zero+(i>>8)), byte(i))
	case lz >= 45:
		return append(b, byte(codeIntPacked3Zero+(i>>16)), byte(i>>8), byte(i))
	case lz >= 39:
		return append(b, byte(codeIntPacked4Zero+(i>>24)), byte(i>>16), byte(i>>8), byte(i))
	case lz >= 31:
		b = append(b, byte(codeIntPacked5Zero+(i>>32)))
		return binary.BigEndian.AppendUint32(b, uint32(i))
	case lz >= 23:
		b = append(b, byte(codeIntPacked6Zero+(i>>40)), byte(i>>32))
		return binary.BigEndian.AppendUint32(b, uint32(i))
	case lz >= 15:
		b = append(b, byte(codeIntPacked7Zero+(i>>48)), byte(i>>40), byte(i>>32))
		return binary.BigEndian.AppendUint32(b, uint32(i))
	}
	b = append(b, codeInt)
	return binary.BigEndian.AppendUint64(b, uint64(i))
}

// WriteDouble writes a double. Like the Java writer it uses DOUBLE_0 for
// both zeros (so -0.0 reads back as 0.0), DOUBLE_1 for 1.0, and Java's
// canonical bit pattern for NaN.
func (e *Encoder) WriteDouble(d float64) {
	switch {
	case d == 0:
		e.buf = append(e.buf, codeDouble0)
	case d == 1:
		e.buf = append(e.buf, codeDouble1)
	default:
		bits := math.Float64bits(d)
		if d != d {
			bits = javaNaN
		}
		e.buf = append(e.buf, codeDouble)
		e.buf = binary.BigEndian.AppendUint64(e.buf, bits)
	}
}

// WriteString writes a string: packed below 8 bytes, else STRING with a
// count, and in STRING_CHUNK pieces of at most 64 KiB when longer, each
// piece ending on a UTF-16 code unit as the Java writer's buffer does.
func (e *Encoder) WriteString(s string) {
	n, ascii := fressLen(s)
	if n <= stringChunkSize {
		e.stringHeader(n, codeString)
		if ascii {
			e.buf = append(e.buf, s...)
		} else {
			e.buf = appendFress(e.buf, s)
		}
		return
	}
	enc := appendFress(e.scratch[:0], s)
	for pos := 0; ; {
		if len(enc)-pos <= stringChunkSize {
			e.stringHeader(len(enc)-pos, codeString)
			e.buf = append(e.buf, enc[pos:]...)
			break
		}
		end := pos + stringChunkSize
		for enc[end]&0xC0 == 0x80 {
			end--
		}
		e.stringHeader(end-pos, codeStringChunk)
		e.buf = append(e.buf, enc[pos:end]...)
		pos = end
	}
	if cap(enc) <= 1<<20 {
		e.scratch = enc[:0]
	}
}

func (e *Encoder) stringHeader(n int, code byte) {
	if n < packedLengthEnd {
		e.buf = append(e.buf, codeStringPackedStart+byte(n))
		return
	}
	e.buf = append(e.buf, code)
	e.WriteInt(int64(n))
}

// WriteBytes writes a byte array: packed below 8 bytes, else BYTES, in
// BYTES_CHUNK pieces of 65535 bytes when longer.
func (e *Encoder) WriteBytes(b []byte) {
	if len(b) < packedLengthEnd {
		e.buf = append(e.buf, codeBytesPackedStart+byte(len(b)))
		e.buf = append(e.buf, b...)
		return
	}
	for len(b) > byteChunkSize {
		e.buf = append(e.buf, codeBytesChunk)
		e.WriteInt(byteChunkSize)
		e.buf = append(e.buf, b[:byteChunkSize]...)
		b = b[byteChunkSize:]
	}
	e.buf = append(e.buf, codeBytes)
	e.WriteInt(int64(len(b)))
	e.buf = append(e.buf, b...)
}

// WriteUUID writes a uuid with fressian's UUID code and its 16 bytes.
func (e *Encoder) WriteUUID(u uuid.UUID) {
	e.buf = append(e.buf, codeUUID, codeBytes, 16)
	e.buf = append(e.buf, u[:]...)
}

// WriteInstant writes a java/instant of epoch milliseconds.
func (e *Encoder) WriteInstant(t value.Instant) {
	e.writeTag(tInstant, 1)
	e.WriteInt(int64(t))
}

// WriteChar writes a char. Java chars are UTF-16 code units, so c must be
// in 0..0xFFFF for the Java reader to accept it (WriteValue checks).
func (e *Encoder) WriteChar(c value.Char) {
	e.writeTag(tChar, 1)
	e.WriteInt(int64(c))
}

// WriteKeyword writes a keyword in value position: tag clj/keyword, then
// its namespace (nil for a plain keyword) and name, each through the
// priority cache.
func (e *Encoder) WriteKeyword(ns, name string) {
	e.writeTag(tKeyword, 2)
	e.writeNamePart(ns, true)
	e.writeNamePart(name, false)
}

// WriteSymbol writes a symbol the way WriteKeyword writes a keyword.
func (e *Encoder) WriteSymbol(ns, name string) {
	e.writeTag(tSymbol, 2)
	e.writeNamePart(ns, true)
	e.writeNamePart(name, false)
}

func (e *Encoder) writeNamePart(s string, nilIfEmpty bool) {
	if s == "" {
		if nilIfEmpty {
			e.WriteNil()
		} else {
			e.buf = append(e.buf, codeStringPackedStart)
		}
		return
	}
	if idx, ok := e.prio.str[s]; ok {
		e.cacheRef(idx)
		return
	}
	e.prio.addString(s)
	e.buf = append(e.buf, codePutPriorityCache)
	e.WriteString(s)
}

func (e *Encoder) cacheRef(idx int) {
	if idx < priorityCachePackedEnd {
		e.buf = append(e.buf, codePriorityCachePackedStart+byte(idx))
		return
	}
	e.buf = append(e.buf, codeGetPriorityCache)
	e.WriteInt(int64(idx))
}

// WriteKeywordKey writes a keyword in map-key position: the keyword
// itself goes through the priority cache, so after its first use it is a
// one- or two-byte reference.
func (e *Encoder) WriteKeywordKey(ns, name string) {
	if idx, ok := e.prio.keyword(ns, name); ok {
		e.cacheRef(idx)
		return
	}
	e.buf = append(e.buf, codePutPriorityCache)
	e.WriteKeyword(ns, name)
}

// BeginVector starts a vector of n elements; write the n elements next.
func (e *Encoder) BeginVector(n int) {
	e.writeTag(tVector, 1)
	e.listHeader(n)
}

// BeginSet starts a set of n elements; write the n elements next.
func (e *Encoder) BeginSet(n int) {
	e.writeTag(tSet, 1)
	e.listHeader(n)
}

// BeginList starts a list (written as clj/seq, which is how Penpot's
// writer sees every Clojure list and seq) of n elements.
func (e *Encoder) BeginList(n int) {
	e.writeTag(tSeq, 1)
	e.listHeader(n)
}

// BeginMap starts a map: tag clj/map and a closed list. Write each entry
// as a key (WriteKeywordKey or WriteMapKey) and a value, then call EndMap.
// Penpot's handler writes maps as a closed list, so no count is needed.
func (e *Encoder) BeginMap() {
	e.writeTag(tMap, 1)
	e.buf = append(e.buf, codeBeginClosedList)
}

// EndMap ends the map begun with BeginMap.
func (e *Encoder) EndMap() { e.buf = append(e.buf, codeEndCollection) }

// WriteMapKey writes v in map-key position, through the priority cache
// (nil, booleans, ints in -4096..4095, "" and the doubles 0 and 1 skip the
// cache, as in the Java writer).
func (e *Encoder) WriteMapKey(v value.Value) error {
	if k, ok := v.(value.Keyword); ok {
		e.WriteKeywordKey(k.NS, k.Name)
		return nil
	}
	if skipCache(v) {
		return e.WriteValue(v)
	}
	idx, found, err := e.prio.lookup(v, &e.scratch)
	if err != nil {
		return err
	}
	if found {
		e.cacheRef(idx)
		return nil
	}
	e.buf = append(e.buf, codePutPriorityCache)
	return e.WriteValue(v)
}

// skipCache mirrors FressianWriter.shouldSkipCache.
func skipCache(v value.Value) bool {
	switch x := v.(type) {
	case nil, bool:
		return true
	case int64:
		return x >= -4096 && x < 4096
	case string:
		return x == ""
	case float64:
		return x == 0 || x == 1
	}
	return false
}

// WriteValue writes any value of the model (see package value) the way
// the Java writer with Penpot's handlers does. It fails on Go types
// outside the model, nil *value.Map, and chars outside 0..0xFFFF.
func (e *Encoder) WriteValue(v value.Value) error {
	switch x := v.(type) {
	case nil:
		e.WriteNil()
	case bool:
		e.WriteBool(x)
	case int64:
		e.WriteInt(x)
	case float64:
		e.WriteDouble(x)
	case string:
		e.WriteString(x)
	case []byte:
		e.WriteBytes(x)
	case value.Keyword:
		e.WriteKeyword(x.NS, x.Name)
	case value.Symbol:
		e.WriteSymbol(x.NS, x.Name)
	case uuid.UUID:
		e.WriteUUID(x)
	case value.Instant:
		e.WriteInstant(x)
	case value.Char:
		if x < 0 || x > 0xFFFF {
			return fmt.Errorf("fressian: char %U is not a UTF-16 code unit", x)
		}
		e.WriteChar(x)
	case *value.Map:
		if x == nil {
			return fmt.Errorf("fressian: nil *value.Map")
		}
		return e.writeMap(x)
	case value.Vector:
		e.BeginVector(len(x))
		return e.writeElems(x)
	case value.Set:
		e.BeginSet(len(x))
		return e.writeElems(x)
	case value.List:
		e.BeginList(len(x))
		return e.writeElems(x)
	default:
		return fmt.Errorf("fressian: unsupported type %T", v)
	}
	return nil
}

func (e *Encoder) enter() error {
	e.depth++
	if e.depth > maxWriteDepth {
		e.depth = 0
		return fmt.Errorf("fressian: value nested deeper than %d (cyclic map?)", maxWriteDepth)
	}
	return nil
}

func (e *Encoder) writeMap(m *value.Map) error {
	if err := e.enter(); err != nil {
		return err
	}
	e.BeginMap()
	for _, en := range m.Entries {
		if err := e.WriteMapKey(en.Key); err != nil {
			return err
		}
		if err := e.WriteValue(en.Val); err != nil {
			return err
		}
	}
	e.EndMap()
	e.depth--
	return nil
}

func (e *Encoder) writeElems(xs []value.Value) error {
	if err := e.enter(); err != nil {
		return err
	}
	for _, x := range xs {
		if err := e.WriteValue(x); err != nil {
			return err
		}
	}
	e.depth--
	return nil
}

var encoderPool = sync.Pool{New: func() any { return new(Encoder) }}

// Marshal returns the fressian encoding of v, as Penpot's fres/encode
// produces it (no footer).
func Marshal(v value.Value) ([]byte, error) {
	return AppendMarshal(nil, v)
}

// AppendMarshal appends the fressian encoding of v to dst.
func AppendMarshal(dst []byte, v value.Value) ([]byte, error) {
	e := encoderPool.Get().(*Encoder)
	e.Reset()
	err := e.WriteValue(v)
	if err == nil {
		dst = append(dst, e.buf...)
	}
	if cap(e.buf) <= 4<<20 {
		encoderPool.Put(e)
	}
	return dst, err
}
