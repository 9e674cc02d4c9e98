package fressian

import (
	"encoding/binary"
	"fmt"
	"hash/adler32"
	"io"
	"math"
	"sync"

	"github.com/google/uuid"

	"tally/telemetry/value"
)

// DefaultMaxDepth is the nesting depth a Decoder accepts unless told
// otherwise.
const DefaultMaxDepth = 1000

// A SyntaxError reports input the reader cannot decode and where.
type SyntaxError struct {
	Offset int // byte offset in the input
	Msg    string
	Err    error // underlying cause, e.g. io.ErrUnexpectedEOF; may be nil
}

// Error formats the error with its offset.
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("fressian: at byte %d: %s", e.Offset, e.Msg)
}

// Unwrap returns the underlying cause.
func (e *SyntaxError) Unwrap() error { return e.Err }

// handler says how a struct tag is read; it mirrors the read handlers
// Penpot registers (plus the plain fressian and data.fressian tags that
// carry the same types).
type handler uint8

const (
	hUnknown handler = iota
	hMap
	hKeyword
	hSymbol
	hVector
	hSet
	hList
	hInstant
	hChar
	hUUID
)

func handlerFor(tag value.Value) handler {
	s, _ := tag.(string)
	switch s {
	case TagMap, "map", "penpot/geom/rect", "penpot/shape":
		return hMap
	case TagKeyword, "key":
		return hKeyword
	case TagSymbol, "sym":
		return hSymbol
	case TagVector:
		return hVector
	case TagSet, "set":
		return hSet
	case TagSeq, TagList:
		return hList
	case TagInstant, "inst":
		return hInstant
	case TagChar:
		return hChar
	case "uuid":
		return hUUID
	}
	return hUnknown
}

type cacheEntry struct {
	v     value.Value
	nodes int
	done  bool
}

type structEntry struct {
	h   handler
	tag value.Value
}

// A Decoder reads fressian values. It keeps its scratch memory between
// calls, so reusing one saves allocations. It is not safe for concurrent
// use; the zero value is ready to use.
//
// Values read through a priority-cache reference are shared, as in Java:
// a composite map key that occurs twice is the same *value.Map (or slice)
// in both places. Penpot only caches map keys and keyword parts.
type Decoder struct {
	// MaxDepth bounds how deeply values may nest; 0 means
	// DefaultMaxDepth.
	MaxDepth int
	// MaxNodes bounds the number of values produced, counting each
	// expansion of a cached value; 0 means 8 per input byte plus 4096.
	// It keeps a small input from standing for an exponentially large
	// tree.
	MaxNodes int

	data     []byte
	pos      int
	depth    int
	maxDepth int
	nodes    int
	maxNodes int
	prio     []cacheEntry
	gen      int // bumped by RESET_CACHES
	structs  []structEntry
	intern   map[string]value.Value
	sbuf     []byte
	estack   []value.Entry // entries of the maps being read, innermost last
	vstack   []value.Value // elements of the closed lists being read
}

// maxIntern bounds the decoder's table of short strings.
const (
	maxIntern    = 8192
	maxInternLen = 64
)

// Decode reads one value from data, which must hold exactly that value,
// optionally followed by a fressian footer (which is checked).
func (d *Decoder) Decode(data []byte) (value.Value, error) {
	d.data, d.pos, d.depth, d.nodes = data, 0, 0, 0
	d.maxDepth = d.MaxDepth
	if d.maxDepth <= 0 {
		d.maxDepth = DefaultMaxDepth
	}
	d.maxNodes = d.MaxNodes
	if d.maxNodes <= 0 {
		d.maxNodes = 8*len(data) + 4096
	}
	d.resetCaches()
	v, err := d.readObject()
	d.data = nil
	d.resetCaches() // drop references into the value just read
	if err != nil {
		return nil, err
	}
	if d.pos != len(data) && !validFooter(data, d.pos) {
		return nil, &SyntaxError{Offset: d.pos, Msg: "trailing data after value"}
	}
	return v, nil
}

// validFooter reports whether data[pos:] is exactly the footer
// FressianWriter.writeFooter writes after pos bytes: magic, length and the
// Adler-32 of those bytes.
func validFooter(data []byte, pos int) bool {
	f := data[pos:]
	return len(f) == 12 &&
		binary.BigEndian.Uint32(f) == footerMagic &&
		binary.BigEndian.Uint32(f[4:]) == uint32(pos) &&
		binary.BigEndian.Uint32(f[8:]) == adler32.Checksum(data[:pos])
}

func (d *Decoder) resetCaches() {
	d.gen++
	clear(d.prio)
	d.prio = d.prio[:0]
	clear(d.structs)
	d.structs = d.structs[:0]
}

var decoderPool = sync.Pool{New: func() any { return new(Decoder) }}

// Unmarshal decodes the single fressian value in data (see
// Decoder.Decode) with the default limits.
func Unmarshal(data []byte) (value.Value, error) {
	d := decoderPool.Get().(*Decoder)
	v, err := d.Decode(data)
	if len(d.intern) > maxIntern/2 || cap(d.sbuf) > 1<<20 {
		d.intern, d.sbuf = nil, nil
	}
	decoderPool.Put(d)
	return v, err
}

func (d *Decoder) errorf(format string, args ...any) error {
	return &SyntaxError{Offset: d.pos, Msg: fmt.Sprintf(format, args...)}
}

func (d *Decoder) eof() error {
	return &SyntaxError{Offset: d.pos, Msg: "unexpected end of input", Err: io.ErrUnexpectedEOF}
}

func (d *Decoder) readCode() (byte, error) {
	if d.pos >= len(d.data) {
		return 0, d.eof()
	}
	c := d.data[d.pos]
	d.pos++
	return c, nil
}

func (d *Decoder) take(n int) ([]byte, error) {
	if n < 0 || n > len(d.data)-d.pos {
		return nil, d.eof()
	}
	b := d.data[d.pos : d.pos+n]
	d.pos += n
	return b, nil
}

func (d *Decoder) count(n int) error {
	d.nodes += n
	if d.nodes > d.maxNodes {
		return d.errorf("more than %d values (cache expansion limit)", d.maxNodes)
	}
	return nil
}

func (d *Decoder) enter() error {
	d.depth++
	if d.depth > d.maxDepth {
		return d.errorf("nesting deeper than %d", d.maxDepth)
	}
	return nil
}

func (d *Decoder) readObject() (value.Value, error) {
	c, err := d.readCode()
	if err != nil {
		return nil, err
	}
	return d.read(c)
}

// isIntCode reports whether c starts an integer.
func isIntCode(c byte) bool { return c < 0x80 || c == 0xFF || c == codeInt }

// readIntCode finishes reading the integer whose code is c.
func (d *Decoder) readIntCode(c byte) (int64, error) {
	var n int
	var base int64
	switch {
	case c == 0xFF:
		return -1, nil
	case c < 0x40:
		return int64(c), nil
	case c < 0x60:
		n, base = 1, int64(c)-codeIntPacked2Zero
	case c < 0x70:
		n, base = 2, int64(c)-codeIntPacked3Zero
	case c < 0x74:
		n, base = 3, int64(c)-codeIntPacked4Zero
	case c < 0x78:
		n, base = 4, int64(c)-codeIntPacked5Zero
	case c < 0x7C:
		n, base = 5, int64(c)-codeIntPacked6Zero
	case c < 0x80:
		n, base = 6, int64(c)-codeIntPacked7Zero
	case c == codeInt:
		b, err := d.take(8)
		if err != nil {
			return 0, err
		}
		return int64(binary.BigEndian.Uint64(b)), nil
	default:
		return 0, d.errorf("expected int, got code %#02x", c)
	}
	b, err := d.take(n)
	if err != nil {
		return 0, err
	}
	var u uint64
	for _, x := range b {
		u = u<<8 | uint64(x)
	}
	return base<<(8*n) | int64(u), nil
}

// readInt reads an integer the way Reader.readInt does: any code that
// yields an int64, including a cache reference.
func (d *Decoder) readInt() (int64, error) {
	c, err := d.readCode()
	if err != nil {
		return 0, err
	}
	if isIntCode(c) {
		return d.readIntCode(c)
	}
	v, err := d.read(c)
	if err != nil {
		return 0, err
	}
	i, ok := v.(int64)
	if !ok {
		return 0, d.errorf("expected int, got %T", v)
	}
	return i, nil
}

// readInt32 reads a count or index, which Java narrows to an int.
func (d *Decoder) readInt32() (int, error) {
	i, err := d.readInt()
	if err != nil {
		return 0, err
	}
	if i != int64(int32(i)) {
		return 0, d.errorf("value out of range for int: %d", i)
	}
	return int(i), nil
}

func (d *Decoder) readCount() (int, error) {
	n, err := d.readInt32()
	if err == nil && n < 0 {
		err = d.errorf("negative length %d", n)
	}
	return n, err
}

func canonFloat(f float64) float64 {
	if f != f {
		return math.Float64frombits(javaNaN)
	}
	if f == 0 {
		return 0
	}
	return f
}

func (d *Decoder) read(c byte) (value.Value, error) {
	if err := d.count(1); err != nil {
		return nil, err
	}
	switch {
	case isIntCode(c):
		i, err := d.readIntCode(c)
		if err != nil {
			return nil, err
		}
		return i, nil
	case c < codeStructCachePackedStart:
		return d.cacheGet(int(c - codePriorityCachePackedStart))
	case c < codeStructCachePackedStart+structCachePackedEnd:
		i := int(c - codeStructCachePackedStart)
		if i >= len(d.structs) {
			return nil, d.errorf("struct cache index %d out of range", i)
		}
		return d.handle(d.structs[i])
	case c >= codeBytesPackedStart && c < codeBytesChunk:
		return d.readBytes(int(c - codeBytesPackedStart))
	case c >= codeStringPackedStart && c < codeStringChunk:
		return d.readString(int(c-codeStringPackedStart), true)
	case c >= codeListPackedStart && c < codeList:
		return d.readList(int(c - codeListPackedStart))
	}
	switch c {
	case codeMap:
		return d.handle(structEntry{h: hMap})
	case codeSet:
		return d.handle(structEntry{h: hSet})
	case codeUUID:
		return d.handle(structEntry{h: hUUID})
	case codeInst:
		return d.handle(structEntry{h: hInstant})
	case codeSym:
		return d.handle(structEntry{h: hSymbol})
	case codeKey:
		return d.handle(structEntry{h: hKeyword})
	case codeGetPriorityCache:
		i, err := d.readInt32()
		if err != nil {
			return nil, err
		}
		return d.cacheGet(i)
	case codePutPriorityCache:
		return d.cachePut()
	case codeBytes:
		n, err := d.readCount()
		if err != nil {
			return nil, err
		}
		return d.readBytes(n)
	case codeBytesChunk:
		return d.readChunkedBytes()
	case codeString:
		n, err := d.readCount()
		if err != nil {
			return nil, err
		}
		return d.readString(n, true)
	case codeStringChunk:
		return d.readChunkedString()
	case codeList:
		n, err := d.readCount()
		if err != nil {
			return nil, err
		}
		return d.readList(n)
	case codeBeginClosedList, codeBeginOpenList:
		return d.readUntilEnd(c == codeBeginOpenList)
	case codeTrue:
		return true, nil
	case codeFalse:
		return false, nil
	case codeNull:
		return nil, nil
	case codeFloat:
		b, err := d.take(4)
		if err != nil {
			return nil, err
		}
		return canonFloat(float64(math.Float32frombits(binary.BigEndian.Uint32(b)))), nil
	case codeDouble:
		b, err := d.take(8)
		if err != nil {
			return nil, err
		}
		return canonFloat(math.Float64frombits(binary.BigEndian.Uint64(b))), nil
	case codeDouble0:
		return 0.0, nil
	case codeDouble1:
		return 1.0, nil
	case codeStructType:
		if err := d.enter(); err != nil {
			return nil, err
		}
		tag, err := d.readObject()
		d.depth--
		if err != nil {
			return nil, err
		}
		if _, err := d.readInt32(); err != nil {
			return nil, err
		}
		st := structEntry{h: handlerFor(tag), tag: tag}
		d.structs = append(d.structs, st)
		return d.handle(st)
	case codeStruct:
		i, err := d.readInt32()
		if err != nil {
			return nil, err
		}
		if i < 0 || i >= len(d.structs) {
			return nil, d.errorf("struct cache index %d out of range", i)
		}
		return d.handle(d.structs[i])
	case codeResetCaches:
		d.resetCaches()
		d.nodes--
		return d.readObject()
	}
	d.pos--
	return nil, d.errorf("unsupported code %#02x", c)
}

func (d *Decoder) cacheGet(i int) (value.Value, error) {
	if i < 0 || i >= len(d.prio) {
		return nil, d.errorf("priority cache index %d out of range", i)
	}
	e := d.prio[i]
	if !e.done {
		return nil, d.errorf("circular priority cache reference %d", i)
	}
	if err := d.count(e.nodes - 1); err != nil {
		return nil, err
	}
	return e.v, nil
}

func (d *Decoder) cachePut() (value.Value, error) {
	if err := d.enter(); err != nil {
		return nil, err
	}
	i := len(d.prio)
	d.prio = append(d.prio, cacheEntry{})
	before, gen := d.nodes, d.gen
	v, err := d.readObject()
	d.depth--
	if err != nil {
		return nil, err
	}
	if gen == d.gen { // a RESET_CACHES inside emptied the cache
		d.prio[i] = cacheEntry{v: v, nodes: max(d.nodes-before, 1), done: true}
	}
	return v, nil
}

func (d *Decoder) readBytes(n int) (value.Value, error) {
	b, err := d.take(n)
	if err != nil {
		return nil, err
	}
	return append([]byte(nil), b...), nil
}

func (d *Decoder) readChunkedBytes() (value.Value, error) {
	var out []byte
	for {
		n, err := d.readCount()
		if err != nil {
			return nil, err
		}
		b, err := d.take(n)
		if err != nil {
			return nil, err
		}
		out = append(out, b...)
		c, err := d.readCode()
		if err != nil {
			return nil, err
		}
		switch c {
		case codeBytesChunk:
			continue
		case codeBytes:
			n, err := d.readCount()
			if err != nil {
				return nil, err
			}
			b, err := d.take(n)
			if err != nil {
				return nil, err
			}
			return append(out, b...), nil
		}
		d.pos--
		return nil, d.errorf("expected end of chunked bytes, got code %#02x", c)
	}
}

// readString reads n bytes of string data as one complete string.
func (d *Decoder) readString(n int, intern bool) (value.Value, error) {
	b, err := d.take(n)
	if err != nil {
		return nil, err
	}
	ascii := true
	for _, c := range b {
		if c >= 0x80 {
			ascii = false
			break
		}
	}
	if !ascii {
		var u unitDecoder
		d.sbuf, err = u.decode(d.sbuf[:0], b)
		if err != nil {
			return nil, d.errorf("%v", err)
		}
		d.sbuf = u.flush(d.sbuf)
		b = d.sbuf
	}
	return d.makeString(b, intern), nil
}

func (d *Decoder) makeString(b []byte, intern bool) value.Value {
	if !intern || len(b) > maxInternLen {
		return string(b)
	}
	if v, ok := d.intern[string(b)]; ok {
		return v
	}
	s := string(b)
	var v value.Value = s
	if d.intern == nil {
		d.intern = make(map[string]value.Value)
	}
	if len(d.intern) < maxIntern {
		d.intern[s] = v
	}
	return v
}

func (d *Decoder) readChunkedString() (value.Value, error) {
	var u unitDecoder
	out := d.sbuf[:0]
	for code := byte(codeStringChunk); ; {
		var n int
		var err error
		switch {
		case code == codeStringChunk || code == codeString:
			if n, err = d.readCount(); err != nil {
				return nil, err
			}
		case code >= codeStringPackedStart && code < codeStringChunk:
			n = int(code - codeStringPackedStart)
		default:
			d.pos--
			return nil, d.errorf("expected chunked string, got code %#02x", code)
		}
		b, err := d.take(n)
		if err != nil {
			return nil, err
		}
		if out, err = u.decode(out, b); err != nil {
			return nil, d.errorf("%v", err)
		}
		if code != codeStringChunk {
			break
		}
		if code, err = d.readCode(); err != nil {
			return nil, err
		}
	}
	out = u.flush(out)
	d.sbuf = out
	return string(out), nil
}

func (d *Decoder) readList(n int) (value.Value, error) {
	if n > len(d.data)-d.pos {
		return nil, d.eof()
	}
	if err := d.enter(); err != nil {
		return nil, err
	}
	xs := make(value.List, n)
	for i := range xs {
		v, err := d.readObject()
		if err != nil {
			return nil, err
		}
		xs[i] = v
	}
	d.depth--
	return xs, nil
}

func (d *Decoder) readUntilEnd(open bool) (value.Value, error) {
	if err := d.enter(); err != nil {
		return nil, err
	}
	start := len(d.vstack)
	defer func() {
		clear(d.vstack[start:])
		d.vstack = d.vstack[:start]
	}()
	for {
		if open && d.pos == len(d.data) {
			break
		}
		c, err := d.readCode()
		if err != nil {
			return nil, err
		}
		if c == codeEndCollection {
			break
		}
		v, err := d.read(c)
		if err != nil {
			return nil, err
		}
		d.vstack = append(d.vstack, v)
	}
	d.depth--
	return append(value.List{}, d.vstack[start:]...), nil
}

// readSeq reads a struct component that must be a list (nil counts as
// empty, as Clojure's vec, set and sequence treat it).
func (d *Decoder) readSeq() ([]value.Value, error) {
	v, err := d.readObject()
	if err != nil {
		return nil, err
	}
	switch x := v.(type) {
	case nil:
		return nil, nil
	case value.List:
		return x, nil
	case value.Vector:
		return x, nil
	}
	return nil, d.errorf("expected a list component, got %T", v)
}

func (d *Decoder) handle(st structEntry) (value.Value, error) {
	if err := d.enter(); err != nil {
		return nil, err
	}
	v, err := d.handleBody(st)
	d.depth--
	return v, err
}

func (d *Decoder) handleBody(st structEntry) (value.Value, error) {
	switch st.h {
	case hMap:
		return d.readMap()
	case hKeyword, hSymbol:
		before := d.nodes
		ns, err := d.readObject()
		if err != nil {
			return nil, err
		}
		name, err := d.readObject()
		if err != nil {
			return nil, err
		}
		d.nodes = before
		nsStr, ok1 := ns.(string)
		nameStr, ok2 := name.(string)
		if (!ok1 && ns != nil) || !ok2 {
			return nil, d.errorf("keyword or symbol parts must be strings, got %T and %T", ns, name)
		}
		if st.h == hKeyword {
			return value.Keyword{NS: nsStr, Name: nameStr}, nil
		}
		return value.Symbol{NS: nsStr, Name: nameStr}, nil
	case hVector, hSet, hList:
		xs, err := d.readSeq()
		if err != nil {
			return nil, err
		}
		switch st.h {
		case hVector:
			if xs == nil {
				return value.Vector{}, nil
			}
			return value.Vector(xs), nil
		case hSet:
			return value.Set(dedupeSet(xs)), nil
		}
		if xs == nil {
			return value.List{}, nil
		}
		return value.List(xs), nil
	case hInstant:
		i, err := d.readInt()
		return value.Instant(i), err
	case hChar:
		v, err := d.readObject()
		if err != nil {
			return nil, err
		}
		if i, ok := v.(int64); ok && i >= 0 && i <= 0xFFFF {
			return value.Char(i), nil
		}
		return nil, d.errorf("char must be an int in 0..0xFFFF, got %v", v)
	case hUUID:
		return d.readUUID()
	}
	return nil, d.errorf("unsupported tag %v", st.tag)
}

func (d *Decoder) readUUID() (value.Value, error) {
	if d.pos+18 <= len(d.data) && d.data[d.pos] == codeBytes && d.data[d.pos+1] == 16 {
		var u uuid.UUID
		copy(u[:], d.data[d.pos+2:d.pos+18])
		d.pos += 18
		return u, d.count(1)
	}
	v, err := d.readObject()
	if err != nil {
		return nil, err
	}
	b, ok := v.([]byte)
	if !ok || len(b) != 16 {
		return nil, d.errorf("invalid uuid buffer %T of %d bytes", v, len(b))
	}
	return uuid.UUID(b), nil
}

// readMap reads the key/value list of a map. The common closed or counted
// list is read straight into entries.
func (d *Decoder) readMap() (value.Value, error) {
	if d.pos >= len(d.data) {
		return nil, d.eof()
	}
	c := d.data[d.pos]
	var entries []value.Entry
	switch {
	case c == codeBeginClosedList:
		d.pos++
		if err := d.count(1); err != nil {
			return nil, err
		}
		start := len(d.estack)
		for {
			if d.pos < len(d.data) && d.data[d.pos] == codeEndCollection {
				d.pos++
				break
			}
			k, err := d.readObject()
			if err != nil {
				d.estack = d.estack[:start]
				return nil, err
			}
			if d.pos < len(d.data) && d.data[d.pos] == codeEndCollection {
				d.estack = d.estack[:start]
				return nil, d.errorf("map has an odd number of elements")
			}
			v, err := d.readObject()
			if err != nil {
				d.estack = d.estack[:start]
				return nil, err
			}
			d.estack = append(d.estack, value.Entry{Key: k, Val: v})
		}
		if n := len(d.estack) - start; n > 0 {
			entries = make([]value.Entry, n)
			copy(entries, d.estack[start:])
			clear(d.estack[start:])
			d.estack = d.estack[:start]
		}
	default:
		xs, err := d.readSeq()
		if err != nil {
			return nil, err
		}
		if len(xs)%2 != 0 {
			return nil, d.errorf("map has an odd number of elements")
		}
		entries = make([]value.Entry, len(xs)/2)
		for i := range entries {
			entries[i] = value.Entry{Key: xs[2*i], Val: xs[2*i+1]}
		}
	}
	if entries == nil {
		entries = []value.Entry{}
	}
	return &value.Map{Entries: dedupeEntries(entries)}, nil
}

// dedupeEntries drops repeated keys, keeping the first position and the
// last value, as building a Clojure hash map does.
func dedupeEntries(es []value.Entry) []value.Entry {
	if len(es) < 2 {
		return es
	}
	if len(es) <= 16 {
		dup := false
		for i := 1; i < len(es) && !dup; i++ {
			for j := 0; j < i; j++ {
				if keyEqual(es[i].Key, es[j].Key) {
					dup = true
					break
				}
			}
		}
		if !dup {
			return es
		}
	}
	idx := make(map[any]int, len(es))
	out := es[:0]
	for _, e := range es {
		k := equalKey(e.Key)
		if i, ok := idx[k]; ok {
			out[i].Val = e.Val
			continue
		}
		idx[k] = len(out)
		out = append(out, e)
	}
	return out
}

func keyEqual(a, b value.Value) bool {
	if ka, ok := a.(value.Keyword); ok {
		kb, ok := b.(value.Keyword)
		return ok && ka == kb
	}
	return value.Equal(a, b)
}

// dedupeSet drops repeated elements, keeping the first.
func dedupeSet(xs []value.Value) []value.Value {
	if xs == nil {
		return []value.Value{}
	}
	if len(xs) < 2 {
		return xs
	}
	seen := make(map[any]struct{}, len(xs))
	var out []value.Value
	for i, x := range xs {
		k := equalKey(x)
		if _, ok := seen[k]; ok {
			if out == nil {
				out = append(make([]value.Value, 0, len(xs)), xs[:i]...)
			}
			continue
		}
		seen[k] = struct{}{}
		if out != nil {
			out = append(out, x)
		}
	}
	if out == nil {
		return xs
	}
	return out
}
