package views

import (
	"bytes"
	"context"
	"regexp"
	"testing"

	"github.com/a-h/templ"
)

// controlTag is the opening tag of the field's input or textarea.
var controlTag = regexp.MustCompile(`<(input|textarea)\b[^>]*>`)

// attrName is every attribute name in a tag.
var attrName = regexp.MustCompile(`\s([a-zA-Z-]+)(?:=("[^"]*"|\S+))?`)

// TestField_DescribedByItsHintAndError renders the field widgets with each
// mix of hint and error: the control has each attribute at most once (no
// second aria-describedby hiding the hint, no stray attribute such as a
// literal "else"), and aria-describedby names exactly the notes shown.
func TestField_DescribedByItsHintAndError(t *testing.T) {
	widgets := map[string]func(FieldProps) templ.Component{"Field": Field, "TextArea": TextArea}
	for _, tc := range []struct {
		name, hint, err, want string
	}{
		{name: "neither"},
		{name: "hint", hint: "We send the invitation here.", want: "h-email"},
		{name: "error", err: "Enter an email address.", want: "e-email"},
		{name: "both", hint: "We send the invitation here.", err: "Enter an email address.", want: "h-email e-email"},
	} {
		for wname, widget := range widgets {
			t.Run(wname+"_"+tc.name, func(t *testing.T) {
				var b bytes.Buffer
				p := FieldProps{Name: "email", Label: "Email", Type: "email", Hint: tc.hint, Error: tc.err, Required: true, MaxLength: 254}
				if err := widget(p).Render(context.Background(), &b); err != nil {
					t.Fatal(err)
				}
				tag := controlTag.FindString(b.String())
				if tag == "" {
					t.Fatalf("no control in %s", b.String())
				}
				allowed := map[string]bool{"id": true, "name": true, "type": true, "value": true, "required": true, "maxlength": true, "aria-invalid": true, "aria-describedby": true}
				seen := map[string]int{}
				for _, m := range attrName.FindAllStringSubmatch(tag, -1) {
					seen[m[1]]++
					if !allowed[m[1]] {
						t.Errorf("unexpected attribute %q in %s", m[1], tag)
					}
					if seen[m[1]] > 1 {
						t.Errorf("attribute %q twice in %s", m[1], tag)
					}
				}
				got := regexp.MustCompile(`aria-describedby="([^"]*)"`).FindStringSubmatch(tag)
				switch {
				case tc.want == "" && got != nil:
					t.Errorf("aria-describedby=%q with nothing to describe: %s", got[1], tag)
				case tc.want != "" && (got == nil || got[1] != tc.want):
					t.Errorf("aria-describedby in %s, want %q", tag, tc.want)
				}
				for _, id := range regexp.MustCompile(`\S+`).FindAllString(tc.want, -1) {
					if !bytes.Contains(b.Bytes(), []byte(`id="`+id+`"`)) {
						t.Errorf("aria-describedby names %s, which is not on the page: %s", id, b.String())
					}
				}
				if (tc.err != "") != (seen["aria-invalid"] == 1) {
					t.Errorf("aria-invalid does not follow the error: %s", tag)
				}
			})
		}
	}
}
