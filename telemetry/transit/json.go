package transit

import (
	"bytes"
	"strings"
	"unicode"
	"unicode/utf8"

	"tally/telemetry/value"
)

// DecodeJSON reads a plain JSON document (an application/json body) as
// Penpot's JSON reader does: objects become maps whose keys are keywords
// in kebab case at every depth (see KebabCase; a key holding '/' stays a
// string, as does one with nothing left after conversion), arrays become
// vectors, numbers int64 (no fraction or exponent, within range) or
// float64, and strings stay strings with no transit meaning.
func DecodeJSON(data []byte) (value.Value, error) {
	return decodeWhole(data, (*decoder).json)
}

func (d *decoder) json() (value.Value, error) {
	c, err := d.peek()
	if err != nil {
		return nil, err
	}
	switch {
	case c == '"':
		s, err := d.readString()
		if err != nil {
			return nil, err
		}
		return d.str(s), nil
	case c == '[':
		return d.jsonArray()
	case c == '{':
		return d.jsonObject()
	case c == 't' || c == 'f' || c == 'n':
		return d.literal()
	case c == '-' || ('0' <= c && c <= '9'):
		return d.number()
	}
	return nil, d.errorf("unexpected %q", c)
}

func (d *decoder) jsonArray() (value.Value, error) {
	d.pos++
	if err := d.enter(); err != nil {
		return nil, err
	}
	defer d.leave()
	c, err := d.peek()
	if err != nil {
		return nil, err
	}
	if c == ']' {
		d.pos++
		return value.Vector{}, nil
	}
	base := len(d.vals)
	for {
		v, err := d.json()
		if err != nil {
			return nil, err
		}
		d.vals = append(d.vals, v)
		more, err := d.sep(']')
		if err != nil {
			return nil, err
		}
		if !more {
			return value.Vector(d.pop(base)), nil
		}
	}
}

func (d *decoder) jsonObject() (value.Value, error) {
	d.pos++
	if err := d.enter(); err != nil {
		return nil, err
	}
	defer d.leave()
	c, err := d.peek()
	if err != nil {
		return nil, err
	}
	if c == '}' {
		d.pos++
		return &value.Map{}, nil
	}
	m := mapBuilder{base: len(d.ents)}
	for {
		c, err := d.peek()
		if err != nil {
			return nil, err
		}
		if c != '"' {
			return nil, d.errorf("object key is not a string")
		}
		s, err := d.readString()
		if err != nil {
			return nil, err
		}
		k := d.kebabKey(s)
		if err := d.expect(':'); err != nil {
			return nil, err
		}
		v, err := d.json()
		if err != nil {
			return nil, err
		}
		m.add(d, k, v)
		more, err := d.sep('}')
		if err != nil {
			return nil, err
		}
		if !more {
			return m.done(d), nil
		}
	}
}

// kebabKey converts an object key as Penpot's read-kebab-key does.
func (d *decoder) kebabKey(s []byte) value.Value {
	if bytes.IndexByte(s, '/') >= 0 {
		return d.str(s)
	}
	if isKebab(s) {
		return value.Keyword{Name: d.str(s)}
	}
	k := kebab(s)
	if k == "" {
		return d.str(s)
	}
	return value.Keyword{Name: k}
}

// KebabCase converts s to kebab case as Penpot's JSON reader does for
// object keys (cuerdas' kebab, the version Penpot pins): a '-' goes before
// each run of upper-case letters, every run of characters other than
// letters, digits, apostrophes and brackets becomes one '-', leading and
// trailing ones are dropped, and the result is lower case.
// "browserVersion" and "browser_version" become "browser-version",
// "profileID" becomes "profile-id", "already-kebab" stays.
func KebabCase(s string) string {
	if isKebab([]byte(s)) {
		return s
	}
	return kebab([]byte(s))
}

// isKebab reports whether s is already its own kebab case in the common
// ASCII form: lower-case words of letters and digits joined by single '-'.
func isKebab(s []byte) bool {
	if len(s) == 0 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i, c := range s {
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case c == '-' && s[i-1] != '-':
		default:
			return false
		}
	}
	return true
}

func kebab(s []byte) string {
	var b strings.Builder
	b.Grow(len(s) + 4)
	dash, prevUpper := false, false
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRune(s[i:])
		i += n
		if !wordRune(r) {
			dash, prevUpper = true, false
			continue
		}
		upper := unicode.IsUpper(r)
		if upper && !prevUpper {
			dash = true
		}
		prevUpper = upper
		if dash && b.Len() > 0 {
			b.WriteByte('-')
		}
		dash = false
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// wordRune reports whether r belongs to a word for kebab: letters,
// numbers, apostrophes, opening and closing punctuation.
func wordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' ||
			r == '\'' || r == '(' || r == ')' || r == '[' || r == ']' || r == '{' || r == '}'
	}
	return unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.In(r, unicode.Ps, unicode.Pe)
}
