package fressian_test

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash/adler32"
	"io"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/uuid"

	"tally/telemetry/fressian"
	"tally/telemetry/fressian/fresstest"
	"tally/telemetry/value"
)

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func withFooter(b []byte) []byte {
	out := binary.BigEndian.AppendUint32(append([]byte(nil), b...), 0xCFCFCFCF)
	out = binary.BigEndian.AppendUint32(out, uint32(len(b)))
	return binary.BigEndian.AppendUint32(out, adler32.Checksum(b))
}

// Inputs the Java writer (or reader) handles that Penpot's writer does not
// itself produce.
func TestUnmarshalReaderFeatures(t *testing.T) {
	abc := "abcdefgh"
	for _, tt := range []struct {
		name string
		hex  string
		want value.Value
	}{
		{"float", "f9 3fc00000", 1.5},
		{"float NaN", "f9 7fc00001", 0x7ff8000000000000},
		{"double -0 reads as 0", "fa 8000000000000000", 0.0},
		{"int 8 bytes small", "f8 0000000000000005", int64(5)},
		{"open list to EOF", "ee 01 02 03", value.List{int64(1), int64(2), int64(3)}},
		{"open list ended", "ee 01 fd", value.List{int64(1)}},
		{"closed list", "ed 01 02 fd", value.List{int64(1), int64(2)}},
		{"counted list", "ec 08 0102030405060708", value.List{int64(1), int64(2), int64(3), int64(4), int64(5), int64(6), int64(7), int64(8)}},
		{"put and get priority cache", "e7 cd e308" + hex.EncodeToString([]byte(abc)) + " cc00 80", value.List{abc, abc, abc}},
		{"reset caches", "e7 cd e308" + hex.EncodeToString([]byte(abc)) + " fe cd dd616263 80", value.List{abc, "abc", "abc"}},
		{"struct by index", "e7 efe30a636c6a2f766563746f7201 e501 f000 e502 a0 e4", value.List{value.Vector{int64(1)}, value.Vector{int64(2)}, value.Vector{}}},
		{"fressian map code", "c0 e4", mapOf()},
		{"fressian set code", "c1 e7 010201", value.Set{int64(1), int64(2)}},
		{"fressian key code", "ca db61 db62", kw("a", "b")},
		{"fressian sym code", "c9 f7 db62", value.Symbol{Name: "b"}},
		{"fressian inst code", "c8 05", value.Instant(5)},
		{"data.fressian key tag", "ef dd6b6579 02 f7 db61", kw("", "a")},
		{"clj/list tag", "ef e308636c6a2f6c697374 01 e5 01", value.List{int64(1)}},
		{"vector of nil", "ef e3 0a636c6a2f766563746f72 01 f7", value.Vector{}},
		{"map from counted list", "ef e1636c6a2f6d6170 01 e6 db61 01", mapOf("a", int64(1))},
		{"map duplicate keys", "ef e1636c6a2f6d6170 01 ed 01 02 01 03 fd", mapOf(int64(1), int64(3))},
		{"set duplicates", "ef e1636c6a2f736574 01 e7 01 02 01", value.Set{int64(1), int64(2)}},
		{"chunked string split pair", "e2 03 eda0bd dd edb880", "😀"},
		{"chunked string final STRING", "e2 01 61 e3 08 6263646566676869", "abcdefghi"},
		{"overlong NUL", "dc c080", "\x00"},
		{"lone surrogate", "dd eda080", "\xed\xa0\x80"},
		{"chunked bytes", "d8 02 0102 d8 00 d9 01 03", []byte{1, 2, 3}},
		{"uuid via cache", "e6 cd c3 d910 " + strings.Repeat("ab", 16) + " 80", value.List{uuid.UUID(mustHex(t, strings.Repeat("ab", 16))), uuid.UUID(mustHex(t, strings.Repeat("ab", 16)))}},
		{"instant int via cache", "e6 cd 681000 ef e30c6a6176612f696e7374616e74 01 80", value.List{int64(4096), value.Instant(4096)}},
		{"trailing footer", hex.EncodeToString(withFooter([]byte{0x05})), int64(5)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.want
			if bits, ok := want.(int); ok {
				want = mathFloat(uint64(bits))
			}
			v, err := fressian.Unmarshal(mustHex(t, tt.hex))
			if err != nil {
				t.Fatal(err)
			}
			if got := v; !value.Equal(got, want) {
				t.Errorf("got %#v, want %#v", got, want)
			}
		})
	}
}

func TestUnmarshalErrors(t *testing.T) {
	deep := strings.Repeat("e5", 5000) + "01"
	for _, tt := range []struct {
		name string
		hex  string
	}{
		{"empty", ""},
		{"truncated int", "f8 0001"},
		{"truncated string", "e3 08 6162"},
		{"string length beyond input", "e3 7fffffff 61"},
		{"negative count", "e3 ff"},
		{"huge list count", "ec 74 7fffffff 01"},
		{"count out of int range", "ec f8 0000000100000000"},
		{"bad utf8 lead", "db ff"},
		{"utf8 across end", "dc e0 80"},
		{"unknown code ANY", "f4"},
		{"unknown code META", "f1 01"},
		{"end outside list", "fd"},
		{"footer code", "cf"},
		{"trailing data", "01 02"},
		{"bad footer checksum", "05 cfcfcfcf 00000001 00000000"},
		{"cache miss", "80"},
		{"cache get miss", "cc 05"},
		{"circular cache", "cd 80"},
		{"struct cache miss", "a0"},
		{"struct index miss", "f0 03"},
		{"unknown tag", "ef dd666f6f 01 01"},
		{"non-string tag", "ef 01 01 01"},
		{"odd map", "ef e1636c6a2f6d6170 01 e5 01"},
		{"odd closed map", "ef e1636c6a2f6d6170 01 ed 01 fd"},
		{"map not list", "ef e1636c6a2f6d6170 01 01"},
		{"keyword name not string", "ca f7 01"},
		{"keyword ns not string", "ca 01 db61"},
		{"char out of range", "ef de63686172 01 72 01 0000"},
		{"char not int", "ef de63686172 01 db61"},
		{"uuid short", "c3 d3 010203"},
		{"uuid not bytes", "c3 01"},
		{"chunked bytes bad end", "d8 01 01 d3 010203"},
		{"chunked string bad end", "e2 01 61 01"},
		{"bigdec code", "c7 d1 01 02"},
		{"too deep", deep},
		{"unclosed closed list", "ed 01 02"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v, err := fressian.Unmarshal(mustHex(t, tt.hex))
			if err == nil {
				t.Errorf("Unmarshal(%s) = %#v, want an error", tt.hex, v)
			}
			var se *fressian.SyntaxError
			if !errors.As(err, &se) {
				t.Errorf("error %v is not a *SyntaxError", err)
			}
		})
	}
}

// TestExpansionLimit decodes a value whose cache references would expand
// to 2^41 values.
func TestExpansionLimit(t *testing.T) {
	// [x0 x1 ... x40] where x0 = 1 and x(i) = [x(i-1) x(i-1)], each put
	// in the cache and referenced twice by the next.
	b := []byte{0xEC, 41, 0xCD, 0x01}
	for i := 1; i <= 40; i++ {
		b = append(b, 0xCD, 0xE6)
		ref := 0x80 + byte(i-1)
		if i-1 >= 32 {
			b = append(b, 0xCC, byte(i-1), 0xCC, byte(i-1))
		} else {
			b = append(b, ref, ref)
		}
	}
	_, err := fressian.Unmarshal(b)
	if err == nil || !strings.Contains(err.Error(), "expansion") {
		t.Errorf("Unmarshal = %v, want the expansion limit error", err)
	}
}

func TestUnmarshalTruncated(t *testing.T) {
	b, err := fressian.Marshal(fresstest.Page(3))
	if err != nil {
		t.Fatal(err)
	}
	for i := range b {
		if _, err := fressian.Unmarshal(b[:i]); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("Unmarshal of %d of %d bytes: %v, want io.ErrUnexpectedEOF", i, len(b), err)
		}
	}
}

func TestRoundTripRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var d fressian.Decoder
	for i := range 2000 {
		v := fresstest.Random(r, 4)
		b, err := fressian.Marshal(v)
		if err != nil {
			t.Fatalf("value %d: Marshal: %v", i, err)
		}
		got, err := d.Decode(b)
		if err != nil {
			t.Fatalf("value %d: Decode: %v", i, err)
		}
		if !value.Equal(got, v) {
			t.Fatalf("value %d: round trip\n got %s\nwant %s", i, fresstest.Canon(got), fresstest.Canon(v))
		}
		again, err := fressian.Marshal(got)
		if err != nil || string(again) != string(b) {
			t.Fatalf("value %d: second encoding differs (%v)", i, err)
		}
	}
}

func TestDecoderMaxDepth(t *testing.T) {
	b := mustHex(t, strings.Repeat("e5", 10)+"01")
	d := fressian.Decoder{MaxDepth: 5}
	if _, err := d.Decode(b); err == nil {
		t.Error("Decode with MaxDepth 5 of 10 nested lists succeeded")
	}
	d.MaxDepth = 11
	if _, err := d.Decode(b); err != nil {
		t.Errorf("Decode with MaxDepth 11: %v", err)
	}
}

func mathFloat(bits uint64) float64 { return math.Float64frombits(bits) }
