package transit

import (
	"strconv"
	"unicode/utf8"
	"unsafe"

	"github.com/google/uuid"
)

// appendTransitString appends the string value s as a JSON string, with
// the transit escape for a leading '~', '^' or '`'.
func appendTransitString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	if s != "" && (s[0] == '~' || s[0] == '^' || s[0] == '`') {
		dst = append(dst, '~')
	}
	dst = appendEscaped(dst, s)
	return append(dst, '"')
}

// appendQuoted appends s as a JSON string.
func appendQuoted(dst, s []byte) []byte {
	dst = append(dst, '"')
	if len(s) > 0 {
		dst = appendEscaped(dst, unsafe.String(&s[0], len(s)))
	}
	return append(dst, '"')
}

const hexDigits = "0123456789abcdef"

// appendEscaped appends the body of a JSON string as JSON.stringify
// writes it; invalid UTF-8 becomes U+FFFD.
func appendEscaped(dst []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&15])
			}
			i++
			start = i
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, "\uFFFD"...)
			i++
			start = i
			continue
		}
		i += n
	}
	return append(dst, s[start:]...)
}

// appendUUID appends u in its canonical lower-case form.
func appendUUID(dst []byte, u uuid.UUID) []byte {
	for i, b := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst = append(dst, '-')
		}
		dst = append(dst, hexDigits[b>>4], hexDigits[b&15])
	}
	return dst
}

// appendDouble appends the finite double f as transit-js would print it
// (JavaScript's Number#toString), plus ".0" when that looks integral so
// that it reads back as a double.
func appendDouble(dst []byte, f float64) []byte {
	n := len(dst)
	dst = appendJSNumber(dst, f)
	for _, c := range dst[n:] {
		if c == '.' || c == 'e' {
			return dst
		}
	}
	return append(dst, '.', '0')
}

// appendJSNumber appends the finite double f as JavaScript's
// Number#toString prints it (shortest round-trip digits, exponent form
// below 1e-6 and from 1e21 on), except that negative zero is "-0".
func appendJSNumber(dst []byte, f float64) []byte {
	var tmp [32]byte
	e := strconv.AppendFloat(tmp[:0], f, 'e', -1, 64)
	i := len(e) - 1
	for e[i] != 'e' {
		i--
	}
	exp := 0
	for _, c := range e[i+2:] {
		exp = exp*10 + int(c-'0')
	}
	if e[i+1] == '-' {
		exp = -exp
	}
	if -7 < exp && exp < 21 {
		return strconv.AppendFloat(dst, f, 'f', -1, 64)
	}
	dst = append(dst, e[:i+2]...) // mantissa, 'e' and the sign
	digits := e[i+2:]
	for len(digits) > 1 && digits[0] == '0' {
		digits = digits[1:]
	}
	return append(dst, digits...)
}
