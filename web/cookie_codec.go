package web

import (
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// cookieSerializer encodes the session cookie's values as a small JSON
// object. gorilla's default, gob, describes its types again in every
// cookie and compiles a decoder for them on every request, which cost more
// than the rest of reading a session. The cookie holds only what this
// package puts there: strings (session secret, CSRF token), a uint (the
// company in use) and a list of strings (flash messages); anything else
// is refused when written, so a new kind of value cannot go unnoticed, and
// so is text that is not UTF-8, which JSON would silently change.
type cookieSerializer struct{}

type cookieValues struct {
	Strings map[string]string   `json:"s,omitempty"`
	Uints   map[string]uint     `json:"u,omitempty"`
	Lists   map[string][]string `json:"l,omitempty"`
}

func (cookieSerializer) Serialize(src any) ([]byte, error) {
	values, ok := src.(map[any]any)
	if !ok {
		return nil, fmt.Errorf("session cookie: cannot encode %T", src)
	}
	var out cookieValues
	for k, v := range values {
		key, ok := k.(string)
		if !ok || !utf8.ValidString(key) {
			return nil, fmt.Errorf("session cookie: key %q is not a string of UTF-8", k)
		}
		switch v := v.(type) {
		case string:
			if !utf8.ValidString(v) {
				return nil, fmt.Errorf("session cookie: %s is not UTF-8", key)
			}
			out.Strings = setKey(out.Strings, key, v)
		case uint:
			out.Uints = setKey(out.Uints, key, v)
		case []any:
			list := make([]string, len(v))
			for i, item := range v {
				s, ok := item.(string)
				if !ok {
					return nil, fmt.Errorf("session cookie: %s holds a %T", key, item)
				}
				if !utf8.ValidString(s) {
					return nil, fmt.Errorf("session cookie: %s is not UTF-8", key)
				}
				list[i] = s
			}
			out.Lists = setKey(out.Lists, key, list)
		default:
			return nil, fmt.Errorf("session cookie: %s holds a %T", key, v)
		}
	}
	return json.Marshal(out)
}

func (cookieSerializer) Deserialize(src []byte, dst any) error {
	values, ok := dst.(*map[any]any)
	if !ok {
		return fmt.Errorf("session cookie: cannot decode into %T", dst)
	}
	var in cookieValues
	if err := json.Unmarshal(src, &in); err != nil {
		return fmt.Errorf("session cookie: %w", err)
	}
	for k, v := range in.Strings {
		(*values)[k] = v
	}
	for k, v := range in.Uints {
		(*values)[k] = v
	}
	for k, v := range in.Lists {
		list := make([]any, len(v))
		for i, s := range v {
			list[i] = s
		}
		(*values)[k] = list
	}
	return nil
}

func setKey[V any](m map[string]V, k string, v V) map[string]V {
	if m == nil {
		m = make(map[string]V)
	}
	m[k] = v
	return m
}
