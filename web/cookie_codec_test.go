package web

import (
	"reflect"
	"testing"
	"unicode/utf8"
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

// FuzzCookieSerializer_RoundTrip: whatever the session holds (secret,
// CSRF token, company, flash messages) decodes to exactly what was encoded;
// text that is not UTF-8 is refused rather than silently changed.
func FuzzCookieSerializer_RoundTrip(f *testing.F) {
	f.Add("c2VjcmV0", "dG9rZW4", uint(42), "success\x00Saved the changes to Zoë.", "error\x00<b>No</b> \"quotes\"")
	f.Add("", "", uint(0), "", "")
	f.Add("\xff", "tok", uint(1)<<63, "\x00", "\u2028")
	f.Fuzz(func(t *testing.T, sid, csrf string, company uint, flash1, flash2 string) {
		values := map[any]any{sidKey: sid, csrfKey: csrf, companyKey: company, flashKey: []any{flash1, flash2}}
		b, err := cookieSerializer{}.Serialize(values)
		// Each on its own: two halves of one character are each invalid.
		valid := utf8.ValidString(sid) && utf8.ValidString(csrf) && utf8.ValidString(flash1) && utf8.ValidString(flash2)
		if !valid {
			if err == nil {
				t.Fatalf("Serialize took text that is not UTF-8: %q", b)
			}
			return
		}
		if err != nil {
			t.Fatalf("Serialize: %v", err)
		}
		got := map[any]any{}
		if err := (cookieSerializer{}).Deserialize(b, &got); err != nil {
			t.Fatalf("Deserialize(%q): %v", b, err)
		}
		if !reflect.DeepEqual(got, values) {
			t.Fatalf("round trip: got %#v, want %#v", got, values)
		}
	})
}

// FuzzCookieSerializer_Decode: any bytes (a decrypted cookie is only as
// good as our own encoder) decode without a panic, and what decodes
// encodes again to the same values.
func FuzzCookieSerializer_Decode(f *testing.F) {
	f.Add([]byte(`{"s":{"sid":"x","csrf":"y"},"u":{"company":7},"l":{"flash":["a\u0000b"]}}`))
	f.Add([]byte(`{"s":{"sid":"x"},"u":{"sid":1}}`))
	f.Add([]byte(`{"u":{"company":-1}}`))
	f.Add([]byte(`{"u":{"company":1.5}}`))
	f.Add([]byte(`{"l":{"flash":null}}`))
	f.Add([]byte(`{"s":{"a":"\ud800"}}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`not json`))
	f.Fuzz(func(t *testing.T, b []byte) {
		got := map[any]any{}
		if err := (cookieSerializer{}).Deserialize(b, &got); err != nil {
			return
		}
		again, err := cookieSerializer{}.Serialize(got)
		if err != nil {
			t.Fatalf("decoded %q to %#v, which does not encode: %v", b, got, err)
		}
		back := map[any]any{}
		if err := (cookieSerializer{}).Deserialize(again, &back); err != nil || !reflect.DeepEqual(back, got) {
			t.Fatalf("decoded %q to %#v, then %#v (%v)", b, got, back, err)
		}
	})
}
