package transit

import (
	"unicode/utf8"

	"tally/telemetry/value"
)

// Cache parameters of transit-js (caching.js): codes are "^" and one or
// two digits in base 44 starting at '0'.
const (
	cacheBase       = 48
	cacheDigits     = 44
	maxCacheEntries = cacheDigits * cacheDigits
	minCacheable    = 3 // strings longer than this are cached
)

// cacheable reports whether the transit string s (as written, before
// decoding) goes into the cache: map keys longer than 3 UTF-16 code units,
// and keywords, symbols and tags longer than that anywhere.
func cacheable(s []byte, asKey bool) bool {
	if len(s) <= minCacheable {
		return false
	}
	if !asKey && (s[0] != '~' || (s[1] != ':' && s[1] != '$' && s[1] != '#')) {
		return false
	}
	n := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			n++
			i++
		} else {
			r, size := utf8.DecodeRune(s[i:])
			if r >= 0x10000 {
				n += 2
			} else {
				n++
			}
			i += size
		}
		if n > minCacheable {
			return true
		}
	}
	return false
}

// isCacheCode reports whether s is read as a cache code (transit-js's
// isCacheCode, for strings that are not cacheable).
func isCacheCode(s []byte) bool {
	return len(s) > 0 && s[0] == '^' && (len(s) == 1 || s[1] != ' ')
}

// cacheAdd records a decoded cacheable value.
func (d *decoder) cacheAdd(v value.Value) {
	if d.next == maxCacheEntries {
		d.next = 0
	}
	if d.next == len(d.cache) {
		d.cache = append(d.cache, v)
	} else {
		d.cache[d.next] = v
	}
	d.next++
}

// cacheGet resolves the cache code s.
func (d *decoder) cacheGet(s []byte, pos int) (value.Value, error) {
	idx := -1
	switch len(s) {
	case 2:
		if lo := int(s[1]) - cacheBase; lo >= 0 && lo < cacheDigits {
			idx = lo
		}
	case 3:
		hi, lo := int(s[1])-cacheBase, int(s[2])-cacheBase
		if hi >= 0 && hi < cacheDigits && lo >= 0 && lo < cacheDigits {
			idx = hi*cacheDigits + lo
		}
	}
	if idx < 0 {
		return nil, d.errAt(pos, "invalid cache code")
	}
	if idx >= len(d.cache) {
		return nil, d.errAt(pos, "cache code refers to nothing")
	}
	return d.cache[idx], nil
}

// writeCache is the writer's side: the code of every cacheable string
// written so far. Clearing it when full is what transit-js's generation
// counter amounts to.
type writeCache struct {
	codes map[string]int
	next  int
}

// code returns the cache index of s when s was written before; otherwise
// it records s and reports false.
func (c *writeCache) code(s []byte) (int, bool) {
	if c.codes == nil {
		c.codes = make(map[string]int)
	}
	if c.next == maxCacheEntries {
		clear(c.codes)
		c.next = 0
	}
	if i, ok := c.codes[string(s)]; ok {
		return i, true
	}
	c.codes[string(s)] = c.next
	c.next++
	return 0, false
}

// appendCacheCode appends the JSON string of cache code i.
func appendCacheCode(dst []byte, i int) []byte {
	dst = append(dst, '"', '^')
	if hi := i / cacheDigits; hi > 0 {
		dst = append(dst, byte(hi+cacheBase))
	}
	return append(dst, byte(i%cacheDigits+cacheBase), '"')
}
