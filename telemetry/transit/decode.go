package transit

import (
	"tally/telemetry/value"
)

// tag is a decoded "~#name" string. It only ever lives in the read cache
// and between reading an array's (or object's) first string and deciding
// that the array is a tagged value; it never reaches the caller.
type tag string

// Decode reads one transit JSON document, normal or verbose. See the
// package documentation for the rules it follows.
func Decode(data []byte) (value.Value, error) {
	return decodeWhole(data, (*decoder).elem)
}

// decodeWhole reads one document from data with read, refusing anything
// after it.
func decodeWhole(data []byte, read func(*decoder) (value.Value, error)) (value.Value, error) {
	d := getDecoder(data)
	defer putDecoder(d)
	v, err := read(d)
	if err == nil {
		err = d.end()
	}
	if err != nil {
		return nil, err
	}
	return v, nil
}

// elem reads one value, refusing a bare tag.
func (d *decoder) elem() (value.Value, error) {
	v, err := d.any(false, false)
	if err != nil {
		return nil, err
	}
	if _, ok := v.(tag); ok {
		return nil, d.errorf("tag %q without a value", string(v.(tag)))
	}
	return v, nil
}

// any reads one value, which may be a tag when it is a string. rep is set
// when the value is the representation of a tagged value: an array there
// is never itself read as a tagged value (transit-js's tagValue flag).
func (d *decoder) any(asKey, rep bool) (value.Value, error) {
	c, err := d.peek()
	if err != nil {
		return nil, err
	}
	switch {
	case c == '"':
		pos := d.pos
		s, err := d.readString()
		if err != nil {
			return nil, err
		}
		return d.transitString(s, asKey, pos)
	case c == '[':
		return d.array(rep)
	case c == '{':
		return d.object()
	case c == 't' || c == 'f' || c == 'n':
		return d.literal()
	case c == '-' || ('0' <= c && c <= '9'):
		return d.number()
	}
	return nil, d.errorf("unexpected %q", c)
}

// transitString decodes the transit string s (read at pos) through the
// read cache.
func (d *decoder) transitString(s []byte, asKey bool, pos int) (value.Value, error) {
	if cacheable(s, asKey) {
		v, err := d.parseString(s, pos)
		if err != nil {
			return nil, err
		}
		d.cacheAdd(v)
		return v, nil
	}
	if isCacheCode(s) {
		return d.cacheGet(s, pos)
	}
	return d.parseString(s, pos)
}

// parseString decodes a transit string that is not a cache code.
func (d *decoder) parseString(s []byte, pos int) (value.Value, error) {
	if len(s) == 0 || s[0] != '~' {
		return d.str(s), nil
	}
	if len(s) == 1 {
		return nil, d.errAt(pos, `lone "~" in string`)
	}
	switch s[1] {
	case '~', '^', '`':
		return d.str(s[1:]), nil
	case '#':
		return d.tagName(s[2:]), nil
	}
	return d.scalar(s[1], s[2:], pos)
}

// tagName returns the tag, without allocating for the common ones.
func (d *decoder) tagName(s []byte) value.Value {
	switch string(s) {
	case "set":
		return tag("set")
	case "list":
		return tag("list")
	case "cmap":
		return tag("cmap")
	case "'":
		return tag("'")
	}
	return tag(string(s))
}

// array reads a JSON array: a map when it starts with "^ ", a tagged value
// when it is [tag, rep] (unless rep is set), else a vector.
func (d *decoder) array(rep bool) (value.Value, error) {
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
	if c == '"' {
		pos := d.pos
		s, err := d.readString()
		if err != nil {
			return nil, err
		}
		if string(s) == "^ " {
			return d.arrayMap()
		}
		first, err := d.transitString(s, false, pos)
		if err != nil {
			return nil, err
		}
		if t, ok := first.(tag); ok {
			if rep {
				return nil, d.errAt(pos, "tag inside a tagged value's array")
			}
			return d.taggedArray(t, pos)
		}
		d.vals = append(d.vals, first)
		more, err := d.sep(']')
		if err != nil {
			return nil, err
		}
		if !more {
			return value.Vector(d.pop(base)), nil
		}
	}
	for {
		v, err := d.elem()
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

// pop removes the values above base from the stack and returns a copy.
func (d *decoder) pop(base int) []value.Value {
	out := make([]value.Value, len(d.vals)-base)
	copy(out, d.vals[base:])
	d.vals = d.vals[:base]
	return out
}

// taggedArray reads the rest of [tag, rep] after the tag.
func (d *decoder) taggedArray(t tag, pos int) (value.Value, error) {
	more, err := d.sep(']')
	if err != nil {
		return nil, err
	}
	if !more {
		return nil, d.errAt(pos, "tag without a value")
	}
	v, err := d.tagged(t, pos)
	if err != nil {
		return nil, err
	}
	if more, err = d.sep(']'); err != nil {
		return nil, err
	}
	if more {
		return nil, d.errAt(pos, "tagged value with more than one value")
	}
	return v, nil
}

// arrayMap reads the rest of a ["^ ", k, v, …] map.
func (d *decoder) arrayMap() (value.Value, error) {
	m := mapBuilder{base: len(d.ents)}
	for {
		more, err := d.sep(']')
		if err != nil {
			return nil, err
		}
		if !more {
			return m.done(d), nil
		}
		c, err := d.peek()
		if err != nil {
			return nil, err
		}
		if c != '"' {
			return nil, d.errorf("map key is not a string")
		}
		pos := d.pos
		s, err := d.readString()
		if err != nil {
			return nil, err
		}
		k, err := d.transitString(s, true, pos)
		if err != nil {
			return nil, err
		}
		if _, ok := k.(tag); ok {
			return nil, d.errAt(pos, "tag used as a map key")
		}
		if err := d.expect(','); err != nil {
			return nil, err
		}
		v, err := d.elem()
		if err != nil {
			return nil, err
		}
		m.add(d, k, v)
	}
}

// expect consumes the byte c after optional whitespace.
func (d *decoder) expect(c byte) error {
	got, err := d.peek()
	if err != nil {
		return err
	}
	if got != c {
		return d.errorf("expected %q, found %q", c, got)
	}
	d.pos++
	return nil
}

// object reads a JSON object: a tagged value {"~#tag": rep} when its only
// key is a tag, else a (verbose) map.
func (d *decoder) object() (value.Value, error) {
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
	for first := true; ; first = false {
		c, err := d.peek()
		if err != nil {
			return nil, err
		}
		if c != '"' {
			return nil, d.errorf("object key is not a string")
		}
		pos := d.pos
		s, err := d.readString()
		if err != nil {
			return nil, err
		}
		// transit-js reads a lone key as a value first, to find a tag;
		// tags and cache codes read the same either way.
		tagLike := first && (isCacheCode(s) || (len(s) >= 2 && s[0] == '~' && s[1] == '#'))
		k, err := d.transitString(s, !tagLike, pos)
		if err != nil {
			return nil, err
		}
		if err := d.expect(':'); err != nil {
			return nil, err
		}
		if t, ok := k.(tag); ok {
			if !first {
				return nil, d.errAt(pos, "tag used as a map key")
			}
			v, err := d.tagged(t, pos)
			if err != nil {
				return nil, err
			}
			if err := d.expect('}'); err != nil {
				return nil, err
			}
			return v, nil
		}
		v, err := d.elem()
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

// PlainJSON decodes transit (normal or verbose) and renders the value as
// plain JSON with value.ToJSON's conventions: how tally prints stored
// props and context.
func PlainJSON(data []byte) ([]byte, error) {
	v, err := Decode(data)
	if err != nil {
		return nil, err
	}
	return value.ToJSON(v)
}
