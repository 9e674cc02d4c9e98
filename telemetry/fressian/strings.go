package fressian

import (
	"errors"
	"unicode/utf8"
)

// Fressian strings are not UTF-8: org.fressian writes each UTF-16 code unit
// of the Java string as one, two or three bytes (the 3-byte form also for
// each half of a surrogate pair, as in CESU-8), and NUL as a single zero
// byte. Go strings hold UTF-8; a lone surrogate, which a Java string may
// carry, is kept in its 3-byte WTF-8 form so that it survives a round trip.

var errBadString = errors.New("fressian: invalid string encoding")

// nextUnits decodes the character at s[i:] and returns its UTF-16 code
// units (u2 is 0 unless the character needs a surrogate pair) and its size
// in s. Invalid UTF-8 bytes read as U+FFFD, one byte at a time; a WTF-8
// encoded surrogate reads as that code unit.
func nextUnits(s string, i int) (u1, u2 uint16, size int) {
	c := s[i]
	if c < utf8.RuneSelf {
		return uint16(c), 0, 1
	}
	r, n := utf8.DecodeRuneInString(s[i:])
	if r == utf8.RuneError && n == 1 {
		if c == 0xED && i+2 < len(s) && s[i+1] >= 0xA0 && s[i+1] <= 0xBF && s[i+2]&0xC0 == 0x80 {
			return 0xD000 | uint16(s[i+1]&0x3F)<<6 | uint16(s[i+2]&0x3F), 0, 3
		}
		return utf8.RuneError, 0, 1
	}
	if r >= 0x10000 {
		r -= 0x10000
		return 0xD800 + uint16(r>>10), 0xDC00 + uint16(r&0x3FF), n
	}
	return uint16(r), 0, n
}

// unitLen is the number of bytes fressian uses for one code unit.
func unitLen(u uint16) int {
	switch {
	case u < 0x80:
		return 1
	case u < 0x800:
		return 2
	}
	return 3
}

// fressLen returns the encoded length of s and whether s is plain ASCII
// (in which case the encoding is s itself).
func fressLen(s string) (n int, ascii bool) {
	i := 0
	for i < len(s) && s[i] < utf8.RuneSelf {
		i++
	}
	if i == len(s) {
		return len(s), true
	}
	n = i
	for i < len(s) {
		u1, u2, size := nextUnits(s, i)
		n += unitLen(u1)
		if u2 != 0 {
			n += unitLen(u2)
		}
		i += size
	}
	return n, false
}

func appendUnit(dst []byte, u uint16) []byte {
	switch {
	case u < 0x80:
		return append(dst, byte(u))
	case u < 0x800:
		return append(dst, 0xC0|byte(u>>6), 0x80|byte(u&0x3F))
	}
	return append(dst, 0xE0|byte(u>>12), 0x80|byte(u>>6&0x3F), 0x80|byte(u&0x3F))
}

// appendFress appends the fressian encoding of s to dst.
func appendFress(dst []byte, s string) []byte {
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			dst = append(dst, c)
			i++
			continue
		}
		u1, u2, size := nextUnits(s, i)
		dst = appendUnit(dst, u1)
		if u2 != 0 {
			dst = appendUnit(dst, u2)
		}
		i += size
	}
	return dst
}

// unitDecoder turns fressian string bytes, possibly split over chunks,
// back into a Go string. A high surrogate is held back until the next unit
// shows whether it starts a pair.
type unitDecoder struct {
	pending uint16
}

func isHigh(u uint16) bool { return u >= 0xD800 && u < 0xDC00 }
func isLow(u uint16) bool  { return u >= 0xDC00 && u < 0xE000 }

func (d *unitDecoder) put(dst []byte, u uint16) []byte {
	if d.pending != 0 {
		if isLow(u) {
			r := 0x10000 + (rune(d.pending)-0xD800)<<10 + rune(u) - 0xDC00
			d.pending = 0
			return utf8.AppendRune(dst, r)
		}
		dst = appendUnit(dst, d.pending)
		d.pending = 0
	}
	if isHigh(u) {
		d.pending = u
		return dst
	}
	return appendUnit(dst, u)
}

// decode appends the characters of one chunk to dst. A multi-byte
// sequence may not cross the end of the chunk.
func (d *unitDecoder) decode(dst, src []byte) ([]byte, error) {
	for i := 0; i < len(src); {
		c := src[i]
		var u uint16
		switch c >> 4 {
		case 0, 1, 2, 3, 4, 5, 6, 7:
			if d.pending == 0 {
				dst = append(dst, c)
				i++
				continue
			}
			u = uint16(c)
			i++
		case 12, 13:
			if i+1 >= len(src) {
				return dst, errBadString
			}
			u = uint16(c&0x1F)<<6 | uint16(src[i+1]&0x3F)
			i += 2
		case 14:
			if i+2 >= len(src) {
				return dst, errBadString
			}
			u = uint16(c&0x0F)<<12 | uint16(src[i+1]&0x3F)<<6 | uint16(src[i+2]&0x3F)
			i += 3
		default:
			return dst, errBadString
		}
		dst = d.put(dst, u)
	}
	return dst, nil
}

// flush writes out a trailing lone high surrogate.
func (d *unitDecoder) flush(dst []byte) []byte {
	if d.pending != 0 {
		dst = appendUnit(dst, d.pending)
		d.pending = 0
	}
	return dst
}
