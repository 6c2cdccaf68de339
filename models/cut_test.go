package models_test

import (
	"context"
	"strings"
	"testing"
	"unicode/utf8"

	"switchboard/models"
	"switchboard/models/modelstest"
)

func TestCutText_WholeCharactersAndAnEllipsis(t *testing.T) {
	const (
		eAcute  = "e\u0301"                                    // e + combining acute
		family  = "\U0001F468\u200D\U0001F469\u200D\U0001F467" // man ZWJ woman ZWJ girl
		thumbs  = "\U0001F44D\U0001F3FD"                       // thumbs up, medium skin tone
		france  = "\U0001F1EB\U0001F1F7"
		germany = "\U0001F1E9\U0001F1EA"
		han     = "\u1112\u1161\u11AB" // 한 as three jamo
	)
	for _, c := range []struct {
		name string
		in   string
		max  int
		want string
	}{
		{"short enough", "Ada Lovelace", 12, "Ada Lovelace"},
		{"plain", "Ada Lovelace", 8, "Ada Lov…"},
		{"no space before the ellipsis", "Ada Lovelace", 5, "Ada…"},
		{"multibyte letters", "Zoë Ångström", 6, "Zoë Å…"},
		{"combining accent kept with its letter", "Ren" + eAcute + "e", 5, "Ren…"},
		{"combining accent whole", "Ren" + eAcute + "e!", 6, "Ren" + eAcute + "…"},
		{"ZWJ family not split", "Hi " + family + " there", 8, "Hi…"},
		{"skin tone not split", "ok " + thumbs + "!", 5, "ok…"},
		{"flags pair up", france + germany + "!", 4, france + "…"},
		{"flags pair up from the start of the run", "x" + france + germany, 4, "x" + france + "…"},
		{"half a flag is dropped", "x" + france + germany, 3, "x…"},
		{"hangul jamo not split", "A" + han + han, 4, "A…"},
		{"precomposed hangul", "한국어 이름", 3, "한국…"},
		{"invalid UTF-8 replaced", "Ada\xffLovelace", 20, "Ada\uFFFDLovelace"},
		{"one character", "Ada", 1, "…"},
		{"nothing", "Ada", 0, ""},
	} {
		got := models.CutText(c.in, c.max)
		if got != c.want {
			t.Errorf("%s: CutText(%q, %d) = %q, want %q", c.name, c.in, c.max, got, c.want)
		}
	}
}

// FuzzCutText: the result always fits, is valid UTF-8, is the input when
// that fits, and otherwise a prefix of it followed by the ellipsis.
func FuzzCutText(f *testing.F) {
	for _, s := range []string{"Ada Lovelace", "Ren\u0065\u0301e", "\U0001F1EB\U0001F1F7\U0001F1E9\U0001F1EA", "\U0001F468\u200D\U0001F469", "한국어", "\xff\xfe", ""} {
		f.Add(s, 3)
	}
	f.Fuzz(func(t *testing.T, s string, max int) {
		max = max % 300
		if max < 0 {
			max = -max
		}
		got := models.CutText(s, max)
		if !utf8.ValidString(got) || utf8.RuneCountInString(got) > max {
			t.Fatalf("CutText(%q, %d) = %q: invalid or too long", s, max, got)
		}
		valid := strings.ToValidUTF8(s, "\uFFFD")
		if utf8.RuneCountInString(valid) <= max {
			if got != valid {
				t.Fatalf("CutText(%q, %d) = %q, want it unchanged", s, max, got)
			}
			return
		}
		if max > 0 && (!strings.HasSuffix(got, "…") || !strings.HasPrefix(valid, strings.TrimSuffix(got, "…"))) {
			t.Fatalf("CutText(%q, %d) = %q: not a prefix and an ellipsis", s, max, got)
		}
	})
}

// A generated subject or recipient name longer than the outbox holds is
// cut, never refused, and what is stored fits the column on every
// database (PostgreSQL refuses an overlong value outright).
func TestEnqueueEmail_CutsLongSubjectAndName(t *testing.T) {
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			s := modelstest.OpenDialect(t, dialect)
			subject := strings.Repeat("Zoë Ångström-Żółć ", 30)  // 540 characters
			name := strings.Repeat("é\U0001F1EB\U0001F1F7", 100) // 300
			m := outboxMessage("ada@example.com", subject)
			m.ToName = name
			if err := s.EnqueueEmail(context.Background(), m); err != nil {
				t.Fatalf("enqueue: %v", err)
			}
			got := loadOutbox(t, s, m.ID)
			if n := utf8.RuneCountInString(got.Subject); n > models.MaxOutboxSubject || n < models.MaxOutboxSubject-20 ||
				!strings.HasSuffix(got.Subject, "…") || !strings.HasPrefix(subject, strings.TrimSuffix(got.Subject, "…")) {
				t.Errorf("subject of %d characters: %q", n, got.Subject)
			}
			if n := utf8.RuneCountInString(got.ToName); n > models.MaxOutboxToName || !strings.HasSuffix(got.ToName, "é…") {
				t.Errorf("recipient name of %d characters, ending %q: a flag was split or too much kept", n, got.ToName[max(0, len(got.ToName)-12):])
			}
		})
	}
}
