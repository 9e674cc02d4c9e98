package value

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// ToJSON renders v as plain JSON with tally's output conventions (SPEC
// section 9): keywords and symbols as their names (ns/name when
// namespaced), uuids as strings, instants as RFC 3339 UTC with
// milliseconds, sets and lists as arrays, bytes as base64, characters as
// one-character strings. Map keys that are not strings or keywords are
// rendered the same way and used as the object key. Non-finite doubles,
// which JSON cannot hold, become the strings "NaN", "Infinity" and
// "-Infinity".
func ToJSON(v Value) ([]byte, error) {
	return AppendJSON(nil, v)
}

// AppendJSON appends the JSON form of v (see ToJSON) to dst.
func AppendJSON(dst []byte, v Value) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case bool:
		return strconv.AppendBool(dst, x), nil
	case int64:
		return strconv.AppendInt(dst, x, 10), nil
	case float64:
		switch {
		case math.IsNaN(x):
			return append(dst, `"NaN"`...), nil
		case math.IsInf(x, 1):
			return append(dst, `"Infinity"`...), nil
		case math.IsInf(x, -1):
			return append(dst, `"-Infinity"`...), nil
		}
		return strconv.AppendFloat(dst, x, 'g', -1, 64), nil
	case Vector:
		return appendArray(dst, x)
	case List:
		return appendArray(dst, x)
	case Set:
		return appendArray(dst, x)
	case *Map:
		dst = append(dst, '{')
		for i, e := range x.Entries {
			if i > 0 {
				dst = append(dst, ',')
			}
			k, err := KeyString(e.Key)
			if err != nil {
				return nil, err
			}
			dst = appendString(dst, k)
			dst = append(dst, ':')
			if dst, err = AppendJSON(dst, e.Val); err != nil {
				return nil, err
			}
		}
		return append(dst, '}'), nil
	}
	s, err := scalarString(v)
	if err != nil {
		return nil, err
	}
	return appendString(dst, s), nil
}

// KeyString renders a map key as the string used for it in JSON output.
// Composite keys are rendered as their JSON text.
func KeyString(k Value) (string, error) {
	switch k.(type) {
	case nil, bool, int64, float64, Vector, List, Set, *Map:
		b, err := AppendJSON(nil, k)
		return string(b), err
	}
	return scalarString(k)
}

// scalarString renders the string-like scalars.
func scalarString(v Value) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case Keyword:
		return x.FullName(), nil
	case Symbol:
		return x.FullName(), nil
	case Char:
		return string(rune(x)), nil
	case Instant:
		return x.String(), nil
	case []byte:
		return base64.StdEncoding.EncodeToString(x), nil
	case interface{ String() string }: // uuid.UUID
		if err := Check(v); err != nil {
			return "", err
		}
		return x.String(), nil
	}
	return "", fmt.Errorf("value: cannot render %T as JSON", v)
}

func appendArray(dst []byte, xs []Value) ([]byte, error) {
	dst = append(dst, '[')
	var err error
	for i, x := range xs {
		if i > 0 {
			dst = append(dst, ',')
		}
		if dst, err = AppendJSON(dst, x); err != nil {
			return nil, err
		}
	}
	return append(dst, ']'), nil
}

func appendString(dst []byte, s string) []byte {
	b, _ := json.Marshal(s) // a string always marshals
	return append(dst, b...)
}
