package web

import (
	"reflect"
	"testing"
)

func TestCookieSerializer(t *testing.T) {
	cases := []struct {
		name   string
		values map[any]any
		ok     bool
	}{
		{"empty", map[any]any{}, true},
		{"session", map[any]any{sidKey: "secret", csrfKey: "token", companyKey: uint(42)}, true},
		{"flashes", map[any]any{flashKey: []any{"ok\x00Saved.", "error\x00<b>No</b> \"quotes\""}}, true},
		{"an int is not a uint", map[any]any{companyKey: 42}, false},
		{"a key that is not a string", map[any]any{1: "x"}, false},
		{"a list of numbers", map[any]any{flashKey: []any{1}}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := cookieSerializer{}.Serialize(c.values)
			if (err == nil) != c.ok {
				t.Fatalf("Serialize: err %v, want ok=%v", err, c.ok)
			}
			if !c.ok {
				return
			}
			got := map[any]any{}
			if err := (cookieSerializer{}).Deserialize(b, &got); err != nil {
				t.Fatalf("Deserialize: %v", err)
			}
			if !reflect.DeepEqual(got, c.values) {
				t.Errorf("round trip: got %#v, want %#v", got, c.values)
			}
		})
	}
	got := map[any]any{}
	if err := (cookieSerializer{}).Deserialize([]byte("not json"), &got); err == nil {
		t.Error("garbage decoded without an error")
	}
}
