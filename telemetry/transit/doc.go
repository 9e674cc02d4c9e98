// Package transit reads and writes transit JSON (normal and verbose) and
// reads plain JSON, over tally's value model (package value).
//
// # Reading
//
// Decode reads what Penpot's frontend sends as application/transit+json:
// normal transit with its write cache (`["^ ",k,v,…]` maps, `^0` cache
// codes) as well as JSON-verbose (objects as maps, `{"~#tag": rep}`
// tagged values). It follows transit-js's reader:
//
//   - Scalars: `~:` keyword and `~$` symbol (split at the first '/' into
//     namespace and name), `~u` uuid, `~m` epoch-ms and `~t` RFC 3339
//     instants, `~i` int64, `~d` double, `~c` char, `~b` base64 bytes,
//     `~?t`/`~?f`, `~_` nil, `~z` NaN/INF/-INF, and the escapes `~~`,
//     `~^` and "~`" for strings that begin with those characters.
//   - Tagged values: set, list, cmap (map with composite keys), ' (quote,
//     accepted anywhere), u and uuid (a string or [hi64 lo64]), m (an
//     integer or a string), t, and any one-character scalar tag with a
//     string rep. Other tags ("~n", "~f", "~r", "link", extension tags)
//     are errors: tally only needs the types of its value model.
//   - JSON numbers: no fraction or exponent gives int64; otherwise, or
//     when an integer does not fit int64, float64 (what JSON.parse gives).
//     A number beyond float64's range is an error.
//   - The read cache holds, in the order met across the whole document,
//     every string longer than 3 UTF-16 code units that is a map key, and
//     every keyword, symbol and tag string (`~:`, `~$`, `~#`) longer than
//     3 code units anywhere. Codes are `^` plus one or two base-44 digits
//     starting at '0' (index = (d1-48)*44 + (d2-48)); after 1936 entries
//     the index wraps to 0. A cache code can name a tag (`["^1",[…]]` is
//     a second set).
//   - Keys of `["^ ",…]` maps and of objects must be JSON strings (writers
//     put composite keys in a cmap). The array that is a tag's value is
//     never itself read as a tagged value, as in transit-js, so
//     `["~#'",["~#set",[]]]` is an error.
//   - Maps keep their order. A repeated key keeps its first position and
//     takes the last value (as JSON.parse and Clojure do); a repeated set
//     element is dropped.
//
// Input that is not valid JSON, invalid UTF-8, an unknown tag, a dangling
// cache code, nesting deeper than MaxDepth or anything else unexpected is
// an error; the readers never panic, and allocate in proportion to the
// input only.
//
// DecodeJSON reads plain JSON (application/json) as Penpot's JSON reader
// does: objects become maps whose keys are keywords converted to kebab
// case at every depth (see KebabCase), arrays vectors, strings strings.
//
// # Writing
//
// Encode writes normal transit JSON exactly as transit-js does: maps as
// `["^ ",…]` with stringable keys, `["~#cmap",[k,v,…]]` otherwise, sets and
// lists as `["~#set",[…]]` and `["~#list",[…]]`, the write cache, and a
// top-level scalar quoted as `["~#'",x]`. EncodeVerbose and AppendVerbose
// write JSON-verbose, Penpot's storage form for the props and context
// columns: `{"~:route":"x","~:team-id":"~u…"}`, no cache, `{}` for an empty
// map, `{"~#set":[…]}` for tagged values. Instants are `~m<epoch-ms>` in
// both modes (transit-js's verbose writer would use `~t`; tally's SPEC
// wants `~m`).
//
// Integers within ±(2^53-1) are JSON numbers, larger ones "~i…". Doubles
// are written as JavaScript prints them, except that an integral double
// gets a ".0" (so 2.0 reads back as a double, not an int64); non-finite
// doubles are "~zNaN", "~zINF", "~z-INF". Map keys that are not strings
// are written in their tagged string form ("~i1", "~?t", "~_", "~d1.5").
// Strings that begin with '~', '^' or '`' get a leading '~'.
//
// Every type of the value model round-trips through both writers and
// Decode, including List versus Vector ("~#list") and Char ("~c").
// Invalid UTF-8 in a string is written as U+FFFD.
package transit

// MaxDepth is the deepest nesting of arrays, maps and tagged values the
// readers accept.
const MaxDepth = 512
