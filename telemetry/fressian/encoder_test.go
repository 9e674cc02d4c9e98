package fressian_test

import (
	"encoding/hex"
	"math"
	"strings"
	"testing"

	"github.com/google/uuid"

	"tally/telemetry/fressian"
	"tally/telemetry/value"
)

func kw(ns, name string) value.Keyword { return value.Keyword{NS: ns, Name: name} }

func mapOf(kvs ...value.Value) *value.Map {
	m := value.NewMap(len(kvs) / 2)
	for i := 0; i < len(kvs); i += 2 {
		m.Append(kvs[i], kvs[i+1])
	}
	return m
}

// Expected bytes are what org.fressian 0.6.6 with Penpot's handlers
// writes for the same Clojure value (checked with the JVM harness).
var marshalTests = []struct {
	name string
	v    value.Value
	hex  string
}{
	{"nil", nil, "f7"},
	{"true", true, "f5"},
	{"false", false, "f6"},
	{"int 0", int64(0), "00"},
	{"int 63", int64(63), "3f"},
	{"int 64", int64(64), "5040"},
	{"int -1", int64(-1), "ff"},
	{"int -2", int64(-2), "4ffe"},
	{"int -64", int64(-64), "4fc0"},
	{"int -65", int64(-65), "4fbf"},
	{"int 4095", int64(4095), "5fff"},
	{"int 4096", int64(4096), "681000"},
	{"int -4096", int64(-4096), "4000"},
	{"int -4097", int64(-4097), "67efff"},
	{"int 2^19", int64(1 << 19), "72080000"},
	{"int epoch ms", int64(1735689600000), "7b941f297c00"},
	{"int max", int64(math.MaxInt64), "f87fffffffffffffff"},
	{"int min", int64(math.MinInt64), "f88000000000000000"},
	{"double 0", 0.0, "fb"},
	{"double -0", math.Copysign(0, -1), "fb"},
	{"double 1", 1.0, "fc"},
	{"double 1.5", 1.5, "fa3ff8000000000000"},
	{"double NaN", math.Float64frombits(0x7ff8000000000000), "fa7ff8000000000000"},
	{"double other NaN", math.NaN(), "fa7ff8000000000000"},
	{"string empty", "", "da"},
	{"string packed", "héllo", "e068c3a96c6c6f"},
	{"string 8 bytes", "abcdefgh", "e3086162636465666768"},
	{"string emoji", "😀", "e0eda0bdedb880"},
	{"string nul", "\x00", "db00"},
	{"bytes", []byte{1, 2, 3}, "d3010203"},
	{"bytes 8", []byte("abcdefgh"), "d9086162636465666768"},
	{"uuid", uuid.MustParse("00000000-0000-4000-8000-000000000001"), "c3d91000000000000040008000000000000001"},
	{"keyword", kw("", "a"), "efe30b636c6a2f6b6579776f726402f7cddb61"},
	{"symbol", value.Symbol{NS: "x", Name: "y"}, "efe30a636c6a2f73796d626f6c02cddb78cddb79"},
	{"char", value.Char('a'), "efde63686172015061"},
	{"instant", value.Instant(0), "efe30c6a6176612f696e7374616e740100"},
	{"map", mapOf(kw("", "a"), int64(1)), "efe1636c6a2f6d617001edcdefe30b636c6a2f6b6579776f726402f7cddb6101fd"},
	{"map string key", mapOf("k", "v"), "efe1636c6a2f6d617001edcddb6bdb76fd"},
	{"map int key cached", mapOf(int64(5000), int64(1)), "efe1636c6a2f6d617001edcd68138801fd"},
	{"vector of repeated keyword", value.Vector{kw("", "a"), kw("", "a")}, "efe30a636c6a2f766563746f7201e6efe30b636c6a2f6b6579776f726402f7cddb61a1f780"},
	{"empty set", value.Set{}, "efe1636c6a2f73657401e4"},
	{"empty list", value.List{}, "efe1636c6a2f73657101e4"},
}

func TestMarshal(t *testing.T) {
	for _, tt := range marshalTests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := fressian.Marshal(tt.v)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := hex.EncodeToString(b), tt.hex; got != want {
				t.Errorf("Marshal(%#v) = %s, want %s", tt.v, got, want)
			}
		})
	}
}

func TestUnmarshalTable(t *testing.T) {
	for _, tt := range marshalTests {
		t.Run(tt.name, func(t *testing.T) {
			b, _ := hex.DecodeString(tt.hex)
			v, err := fressian.Unmarshal(b)
			if err != nil {
				t.Fatal(err)
			}
			want := tt.v
			if f, ok := want.(float64); ok && f == 0 {
				want = 0.0 // -0.0 is written as DOUBLE_0
			} else if ok && f != f {
				want = math.Float64frombits(0x7ff8000000000000) // Java's NaN
			}
			if got := v; !value.Equal(got, want) {
				t.Errorf("Unmarshal(%s) = %#v, want %#v", tt.hex, got, want)
			}
		})
	}
}

func TestMarshalErrors(t *testing.T) {
	cyclic := value.NewMap(1)
	cyclic.Append(kw("", "self"), cyclic)
	for _, tt := range []struct {
		name string
		v    value.Value
	}{
		{"unsupported type", 42},
		{"nil map", (*value.Map)(nil)},
		{"char beyond BMP", value.Char(0x1F600)},
		{"nested unsupported", value.Vector{mapOf(kw("", "a"), float32(1))}},
		{"cyclic map", cyclic},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := fressian.Marshal(tt.v); err == nil {
				t.Errorf("Marshal(%T) succeeded, want an error", tt.v)
			}
		})
	}
}

// TestPriorityCacheIndexes checks references past the 32 packed slots
// (GET_PRIORITY_CACHE with an int index).
func TestPriorityCacheIndexes(t *testing.T) {
	var e fressian.Encoder
	e.BeginVector(2)
	for range 2 {
		e.BeginMap()
		for i := range 40 {
			e.WriteKeywordKey("", "k"+string(rune('a'+i%26))+strings.Repeat("x", i/26))
			e.WriteInt(int64(i))
		}
		e.EndMap()
	}
	v, err := fressian.Unmarshal(e.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	vec := v.(value.Vector)
	if got, want := len(vec), 2; got != want {
		t.Fatalf("len = %d, want %d", got, want)
	}
	if !value.Equal(vec[0], vec[1]) || vec[1].(*value.Map).Len() != 40 {
		t.Errorf("maps differ after cache references: %v", v)
	}
	if !strings.Contains(hex.EncodeToString(e.Bytes()), "cc20") {
		t.Errorf("no GET_PRIORITY_CACHE 32 in %x", e.Bytes())
	}
}

func TestEncoderReset(t *testing.T) {
	var e fressian.Encoder
	e.WriteKeyword("", "a")
	first := hex.EncodeToString(e.Bytes())
	e.Reset()
	e.WriteKeyword("", "a")
	if got := hex.EncodeToString(e.Bytes()); got != first {
		t.Errorf("after Reset: %s, want %s (caches must be cleared)", got, first)
	}
	if got, want := e.Len(), len(first)/2; got != want {
		t.Errorf("Len = %d, want %d", got, want)
	}
}
