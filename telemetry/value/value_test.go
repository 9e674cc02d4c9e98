package value

import (
	"math"
	"testing"

	"github.com/google/uuid"
)

func TestEqual(t *testing.T) {
	u := uuid.MustParse("1b3c4d5e-0000-4000-8000-000000000001")
	m1 := &Map{}
	m1.Append(K("a"), int64(1))
	m1.Append(K("b"), Vector{"x", u})
	m2 := &Map{}
	m2.Append(K("b"), Vector{"x", u})
	m2.Append(K("a"), int64(1))
	tests := []struct {
		name string
		a, b Value
		want bool
	}{
		{"nil", nil, nil, true},
		{"int vs float", int64(1), float64(1), false},
		{"nan", math.NaN(), math.NaN(), true},
		{"map order", m1, m2, true},
		{"set order", Set{int64(1), "a"}, Set{"a", int64(1)}, true},
		{"vector order", Vector{int64(1), "a"}, Vector{"a", int64(1)}, false},
		{"vector vs list", Vector{}, List{}, false},
		{"keyword ns", Keyword{"a", "b"}, K("b"), false},
		{"bytes", []byte("ab"), []byte("ab"), true},
		{"set dup", Set{int64(1), int64(1)}, Set{int64(1), int64(2)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Equal(tt.a, tt.b); got != tt.want {
				t.Fatalf("Equal(%v, %v) = %v, want %v", tt.a, tt.b, got, tt.want)
			}
		})
	}
}

func TestMapSetGetDelete(t *testing.T) {
	m := &Map{}
	m.Set(K("a"), int64(1))
	m.Set("a", int64(2))
	m.Set(K("a"), int64(3))
	if got, want := m.Len(), 2; got != want {
		t.Fatalf("Len = %d, want %d", got, want)
	}
	if v, _ := m.GetKW("a"); v != int64(3) {
		t.Fatalf("GetKW(a) = %v, want 3", v)
	}
	m.Delete(K("a"))
	if _, ok := m.GetKW("a"); ok {
		t.Fatal("deleted key still present")
	}
	if v, _ := m.Get("a"); v != int64(2) {
		t.Fatalf(`Get("a") = %v, want 2`, v)
	}
}

func TestToJSON(t *testing.T) {
	u := uuid.MustParse("1b3c4d5e-0000-4000-8000-000000000001")
	m := &Map{}
	m.Append(K("name"), "x")
	m.Append(Keyword{"app", "id"}, u)
	m.Append(K("at"), Instant(1700000000123))
	m.Append(K("tags"), Set{K("a"), Symbol{"", "s"}})
	m.Append(K("raw"), []byte{1, 2, 3})
	m.Append(K("c"), Char('é'))
	m.Append(int64(7), Vector{nil, true, 1.5, math.Inf(1)})
	m.Append(K("empty"), &Map{})
	got, err := ToJSON(m)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"name":"x","app/id":"1b3c4d5e-0000-4000-8000-000000000001","at":"2023-11-14T22:13:20.123Z","tags":["a","s"],"raw":"AQID","c":"é","7":[null,true,1.5,"Infinity"],"empty":{}}`
	if string(got) != want {
		t.Fatalf("ToJSON =\n%s\nwant\n%s", got, want)
	}
	if _, err := ToJSON(Vector{struct{}{}}); err == nil {
		t.Fatal("ToJSON accepted a type outside the model")
	}
}
