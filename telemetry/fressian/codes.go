// Package fressian reads and writes the fressian binary format the way
// org.fressian (Java) does with the handlers Penpot registers in
// app.common.fressian: Clojure maps, keywords, symbols, vectors, sets and
// seqs, java.time.Instant and characters as tagged structs, and uuids,
// strings, integers, doubles, booleans, nil and bytes with fressian's
// built-in codes.
//
// The Encoder produces byte-for-byte what the Java writer produces for the
// same value (map and set entries in the same order), including the struct
// type cache and the priority cache Penpot uses for map keys and for the
// namespace and name of keywords and symbols. Like Penpot's fres/encode it
// writes no footer. The reader accepts everything the Java writer emits for
// these types (packed and chunked strings and bytes, every int width,
// floats, open and closed lists, cache references, RESET_CACHES and a
// trailing footer) and never panics on corrupt input.
package fressian

// Byte codes from org.fressian.impl.Codes.
const (
	codePriorityCachePackedStart = 0x80
	codeStructCachePackedStart   = 0xA0
	codeMap                      = 0xC0
	codeSet                      = 0xC1
	codeUUID                     = 0xC3
	codeInst                     = 0xC8
	codeSym                      = 0xC9
	codeKey                      = 0xCA
	codeGetPriorityCache         = 0xCC
	codePutPriorityCache         = 0xCD
	codeFooter                   = 0xCF
	codeBytesPackedStart         = 0xD0
	codeBytesChunk               = 0xD8
	codeBytes                    = 0xD9
	codeStringPackedStart        = 0xDA
	codeStringChunk              = 0xE2
	codeString                   = 0xE3
	codeListPackedStart          = 0xE4
	codeList                     = 0xEC
	codeBeginClosedList          = 0xED
	codeBeginOpenList            = 0xEE
	codeStructType               = 0xEF
	codeStruct                   = 0xF0
	codeTrue                     = 0xF5
	codeFalse                    = 0xF6
	codeNull                     = 0xF7
	codeInt                      = 0xF8
	codeFloat                    = 0xF9
	codeDouble                   = 0xFA
	codeDouble0                  = 0xFB
	codeDouble1                  = 0xFC
	codeEndCollection            = 0xFD
	codeResetCaches              = 0xFE

	codeIntPacked2Zero = 0x50
	codeIntPacked3Zero = 0x68
	codeIntPacked4Zero = 0x72
	codeIntPacked5Zero = 0x76
	codeIntPacked6Zero = 0x7A
	codeIntPacked7Zero = 0x7E

	footerMagic = 0xCFCFCFCF
)

// Limits from org.fressian.impl.Ranges.
const (
	priorityCachePackedEnd = 32
	structCachePackedEnd   = 16
	packedLengthEnd        = 8 // bytes, strings and lists
	byteChunkSize          = 65535
	stringChunkSize        = 65536 // the Java writer's string buffer
)

// Struct tags Penpot's handlers write and read.
const (
	TagMap     = "clj/map"
	TagKeyword = "clj/keyword"
	TagSymbol  = "clj/symbol"
	TagVector  = "clj/vector"
	TagSet     = "clj/set"
	TagSeq     = "clj/seq"
	TagList    = "clj/list"
	TagInstant = "java/instant"
	TagChar    = "char"
)
