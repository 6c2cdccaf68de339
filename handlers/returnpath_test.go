package handlers

import (
	"net/url"
	"strings"
	"testing"
	"unicode"
)

// returnPathCases are return paths to keep or refuse; they also seed the
// fuzzer.
var returnPathCases = []struct {
	raw  string
	keep bool
}{
	{"/users", true},
	{"/users?q=ada+lovelace&sort=-last_active", true},
	{"/users/12/created", true},
	{"/companies/3/users#add", true},
	{"/users?q=%C3%A9lodie", true},
	{"/login?next=%2Fusers", true},
	{"", false},
	{"users", false},
	{"//evil.example/", false},
	{"///evil.example/", false},
	{"/\\evil.example", false},
	{"\\/evil.example", false},
	{"\\\\evil.example", false},
	{"/%5Cevil.example", false},
	{"/%5cevil.example", false},
	{"/%2F/evil.example", false},
	{"/%2fevil.example", false},
	{"/\t/evil.example/phish", false},
	{"/%09/evil.example/phish", false},
	{"/\r\n/evil.example", false},
	{"/%0d%0aSet-Cookie:x=1", false},
	{"/%0a/evil.example", false},
	{"/users\nLocation: //evil.example", false},
	{"/ /evil.example", false},
	{"/%20/evil.example", false},
	{"/\x00/evil.example", false},
	{"/%00", false},
	{"/\x7f", false},
	{"https://evil.example", false},
	{"https:evil.example", false},
	{"http:/evil.example", false},
	{"javascript:alert(1)", false},
	{"JavaScript:alert(1)", false},
	{"data:text/html,<script>alert(1)</script>", false},
	{" /users", false},
	{"/users ", false},
	{"\u2215\u2215evil.example", false},
	{"/\u2215evil.example", false},
	{"/\uFF0Fevil.example", false},
	{"/\uFE68evil.example", false},
	{"/\u29F5evil.example", false},
	{"/\uFF3Cevil.example", false},
	{"/%E2%88%95evil.example", false},
	{"/%EF%BC%8Fevil.example", false},
	{"/\u00A0/evil.example", false},
	{"/%C2%A0/evil.example", false},
	{"/\u2028/evil.example", false},
	{"/%zz", false},
	{"/" + strings.Repeat("a", maxReturnPath), false},
	{"/\xff", false},
	{"/%ff", false},
}

func TestReturnPath_KeepsOnlyPathsOnThisSite(t *testing.T) {
	for _, c := range returnPathCases {
		want := "/fallback"
		if c.keep {
			want = c.raw
		}
		if got := returnPath(c.raw, "/fallback"); got != want {
			t.Errorf("returnPath(%q) = %q, want %q", c.raw, got, want)
		}
	}
}

// FuzzReturnPath: whatever comes in, an accepted path starts with exactly
// one slash, is printable ASCII without backslash, decodes to no control
// character, whitespace or backslash, and is a relative URL with no scheme
// or host whose path does not start with two slashes.
func FuzzReturnPath(f *testing.F) {
	for _, c := range returnPathCases {
		f.Add(c.raw)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got := returnPath(raw, "")
		if got == "" {
			return
		}
		if got != raw {
			t.Fatalf("returnPath(%q) changed it to %q", raw, got)
		}
		if !strings.HasPrefix(got, "/") || strings.HasPrefix(got, "//") {
			t.Fatalf("accepted %q: not exactly one leading slash", got)
		}
		for _, r := range got {
			if r <= ' ' || r >= 0x7f || r == '\\' {
				t.Fatalf("accepted %q: holds %U", got, r)
			}
		}
		decoded, err := url.PathUnescape(got)
		if err != nil {
			t.Fatalf("accepted %q with bad escapes: %v", got, err)
		}
		for _, r := range decoded {
			if unicode.IsControl(r) || unicode.IsSpace(r) || r == '\\' || slashLookalike(r) {
				t.Fatalf("accepted %q: decodes to %U", got, r)
			}
		}
		u, err := url.Parse(got)
		if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || strings.HasPrefix(u.Path, "//") {
			t.Fatalf("accepted %q: parses as %#v, %v", got, u, err)
		}
		// What a browser does with it: resolved against our origin, it
		// stays on our origin.
		base, _ := url.Parse("https://switchboard.example/users/1")
		if r := base.ResolveReference(u); r.Host != base.Host || r.Scheme != base.Scheme {
			t.Fatalf("accepted %q resolves to %s", got, r)
		}
	})
}
