package views

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"switchboard/models"
)

// aBeforeVowelType finds "a" in front of a type's label, in a template or
// in Go that builds a sentence: "a { t.Label() }", "a " + t.Label(), "a %s
// user" fed a label. WithArticle says "an Admin".
var aBeforeVowelType = []*regexp.Regexp{
	regexp.MustCompile(`(?i)\ba\s+\{\s*[^}]*\.Label\(\)\s*\}`),
	regexp.MustCompile(`(?i)\ba "\s*\+\s*[A-Za-z_.()]*Label\(\)`),
	regexp.MustCompile(`(?i)\ba %s user\b`),
	regexp.MustCompile(`\b[aA] Admin\b`),
}

// TestArticle_NoTemplateSaysAAdmin reads every template and every Go file
// of the views, handlers and models: none may put "a" before a type label,
// which reads "a Admin".
func TestArticle_NoTemplateSaysAAdmin(t *testing.T) {
	var files []string
	for _, dir := range []string{".", "../handlers", "../models"} {
		for _, pattern := range []string{"*.templ", "*.go"} {
			found, err := filepath.Glob(filepath.Join(dir, pattern))
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, found...)
		}
	}
	if len(files) < 20 {
		t.Fatalf("found only %d files to read", len(files))
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_templ.go") || strings.HasSuffix(f, "_test.go") {
			continue
		}
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(raw), "\n") {
			for _, re := range aBeforeVowelType {
				if m := re.FindString(line); m != "" {
					t.Errorf("%s:%d says %q: use UserType.WithArticle", f, i+1, m)
				}
			}
		}
	}
}

func TestUserType_WithArticle(t *testing.T) {
	want := map[models.UserType]string{models.Admin: "an Admin", models.Manager: "a Manager",
		models.Reporting: "a Reporting", models.Notification: "a Notification"}
	for typ, w := range want {
		if got := typ.WithArticle(); got != w {
			t.Errorf("%s.WithArticle() = %q, want %q", typ, got, w)
		}
	}
}
