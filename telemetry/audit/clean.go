package audit

import "tally/telemetry/value"

// secretProps are the props keys never kept on backend events.
var secretProps = set("password", "old-password", "token", "session-id", "client-secret")

// CleanProps returns props without the keys a backend event must never
// keep: password, old-password, token, session-id, client-secret, any
// namespaced key, and any key whose value is nil. Keys may be keywords or
// strings. props is not changed.
func CleanProps(props *value.Map) *value.Map {
	out := &value.Map{}
	if props == nil {
		return out
	}
	for _, e := range props.Entries {
		if e.Val == nil {
			continue
		}
		switch k := e.Key.(type) {
		case value.Keyword:
			if k.NS != "" || secretProps[k.Name] {
				continue
			}
		case string:
			if secretProps[k] || isNamespaced(k) {
				continue
			}
		}
		out.Append(e.Key, e.Val)
	}
	return out
}

// isNamespaced reports whether a string key looks like ns/name.
func isNamespaced(s string) bool {
	for i := 1; i < len(s)-1; i++ {
		if s[i] == '/' {
			return true
		}
	}
	return false
}
