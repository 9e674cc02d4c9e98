// Package blob encodes and decodes Penpot's blob version 4: a 2-byte
// big-endian version (4), the 4-byte big-endian length of the
// uncompressed fressian bytes, and a zstd frame of those bytes. The
// string form Penpot's telemetry batch carries in "events" is that blob
// in URL-safe base64 without padding.
//
// Any zstd frame that decodes is accepted: zstd-jni (Penpot) and
// github.com/klauspost/compress (tally) produce different frames for the
// same bytes, and each side reads the other's.
package blob

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/klauspost/compress/zstd"

	"tally/telemetry/fressian"
	"tally/telemetry/value"
)

// Version is the blob version this package reads and writes.
const Version = 4

// HeaderSize is the length of the version and length prefix.
const HeaderSize = 6

// DefaultMaxSize is the largest uncompressed payload a Decoder accepts
// unless told otherwise: 256 MiB, far above a page of 10,000 events
// (about 1.5 MB of fressian).
const DefaultMaxSize = 256 << 20

// Errors returned for malformed blobs.
var (
	ErrShort    = errors.New("blob: shorter than its 6-byte header")
	ErrVersion  = errors.New("blob: unsupported version")
	ErrTooLarge = errors.New("blob: declared size exceeds the limit")
	ErrLength   = errors.New("blob: payload length differs from the header")
)

// Encoding is the base64 alphabet of the string form: URL-safe, no
// padding (java.util.Base64.getUrlEncoder().withoutPadding()).
var Encoding = base64.RawURLEncoding

// encoderWindow caps the zstd window (zstd-jni's level 3 uses 2 MiB at
// most); each pooled encoder keeps twice this much history.
const encoderWindow = 4 << 20

// encoder is shared: EncodeAll is safe for concurrent use and keeps a
// small set of encoders (one per GOMAXPROCS) warm.
var encoder = sync.OnceValue(func() *zstd.Encoder {
	e, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithWindowSize(encoderWindow))
	if err != nil {
		panic(err) // only for invalid options
	}
	return e
})

// Encode returns the blob of the given fressian bytes.
func Encode(fressian []byte) []byte {
	return AppendEncode(nil, fressian)
}

// AppendEncode appends the blob of the given fressian bytes to dst.
func AppendEncode(dst, fressian []byte) []byte {
	dst = binary.BigEndian.AppendUint16(dst, Version)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(fressian)))
	return encoder().EncodeAll(fressian, dst)
}

var blobBufs = sync.Pool{New: func() any { return new([]byte) }}

// EncodeString returns the string form of the blob of the given fressian
// bytes.
func EncodeString(fressian []byte) string {
	return string(AppendString(nil, fressian))
}

// AppendString appends the string form (URL-safe base64, no padding) of
// the blob of the given fressian bytes to dst, e.g. straight into a JSON
// request body (the alphabet needs no JSON escaping).
func AppendString(dst, fressian []byte) []byte {
	bp := blobBufs.Get().(*[]byte)
	b := AppendEncode((*bp)[:0], fressian)
	dst = Encoding.AppendEncode(dst, b)
	if cap(b) <= 16<<20 {
		*bp = b[:0]
		blobBufs.Put(bp)
	}
	return dst
}

// EncodeValue writes v as fressian (as Penpot's writer does) and returns
// the blob string.
func EncodeValue(v value.Value) (string, error) {
	f, err := fressian.Marshal(v)
	if err != nil {
		return "", err
	}
	return EncodeString(f), nil
}

// A Decoder decodes blobs with a bound on the uncompressed size. It is
// safe for concurrent use. The zero value is not usable: use NewDecoder.
type Decoder struct {
	maxSize int
	zd      func() *zstd.Decoder
}

// NewDecoder returns a Decoder that refuses payloads larger than maxSize
// bytes (DefaultMaxSize when maxSize <= 0). Its zstd decoder is created on
// first use and reused; keep Decoders for the life of the program.
func NewDecoder(maxSize int) *Decoder {
	if maxSize <= 0 {
		maxSize = DefaultMaxSize
	}
	return &Decoder{
		maxSize: maxSize,
		zd: sync.OnceValue(func() *zstd.Decoder {
			d, err := zstd.NewReader(nil,
				zstd.WithDecoderMaxMemory(uint64(maxSize)),
				zstd.WithDecoderMaxWindow(uint64(max(maxSize, zstd.MinWindowSize))),
				zstd.WithDecodeAllCapLimit(true),
				zstd.WithDecoderConcurrency(0))
			if err != nil {
				panic(err) // only for invalid options
			}
			return d
		}),
	}
}

// MaxSize returns the Decoder's limit on the uncompressed size.
func (d *Decoder) MaxSize() int { return d.maxSize }

var defaultDecoder = NewDecoder(DefaultMaxSize)

// Decode checks a blob and returns its fressian bytes.
func (d *Decoder) Decode(b []byte) ([]byte, error) {
	if len(b) < HeaderSize {
		return nil, ErrShort
	}
	if v := binary.BigEndian.Uint16(b); v != Version {
		return nil, fmt.Errorf("%w %d", ErrVersion, int16(v))
	}
	ulen := int64(int32(binary.BigEndian.Uint32(b[2:])))
	if ulen < 0 || ulen > int64(d.maxSize) {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, ulen, d.maxSize)
	}
	frame := b[HeaderSize:]
	var h zstd.Header
	if err := h.Decode(frame); err != nil {
		return nil, fmt.Errorf("blob: zstd frame: %w", err)
	}
	if h.HasFCS && h.FrameContentSize != uint64(ulen) {
		return nil, fmt.Errorf("%w: header says %d, zstd frame %d", ErrLength, ulen, h.FrameContentSize)
	}
	// With WithDecodeAllCapLimit the decoder stops at cap(dst): a frame
	// that inflates beyond the declared length is an error, not a bomb.
	out, err := d.zd().DecodeAll(frame, make([]byte, 0, ulen))
	if errors.Is(err, zstd.ErrDecoderSizeExceeded) {
		return nil, fmt.Errorf("%w: payload is longer than the %d bytes declared", ErrLength, ulen)
	}
	if err != nil {
		return nil, fmt.Errorf("blob: zstd: %w", err)
	}
	if len(out) != int(ulen) {
		return nil, fmt.Errorf("%w: header says %d, payload has %d", ErrLength, ulen, len(out))
	}
	return out, nil
}

// DecodeString decodes the string form of a blob (padding tolerated) and
// returns its fressian bytes.
func (d *Decoder) DecodeString(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	if Encoding.DecodedLen(len(s)) > HeaderSize+d.maxSize+d.maxSize/8+1024 {
		return nil, fmt.Errorf("%w: %d base64 characters", ErrTooLarge, len(s))
	}
	b, err := Encoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("blob: base64: %w", err)
	}
	return d.Decode(b)
}

// DecodeValue decodes the string form of a blob and reads its fressian
// value.
func (d *Decoder) DecodeValue(s string) (value.Value, error) {
	f, err := d.DecodeString(s)
	if err != nil {
		return nil, err
	}
	return fressian.Unmarshal(f)
}

// Decode checks a blob and returns its fressian bytes, with the default
// size limit.
func Decode(b []byte) ([]byte, error) { return defaultDecoder.Decode(b) }

// DecodeString decodes the string form of a blob with the default size
// limit.
func DecodeString(s string) ([]byte, error) { return defaultDecoder.DecodeString(s) }

// DecodeValue decodes the string form of a blob and reads its fressian
// value, with the default size limit.
func DecodeValue(s string) (value.Value, error) { return defaultDecoder.DecodeValue(s) }
