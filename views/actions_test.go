package views

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var (
	actionsRow   = regexp.MustCompile(`class="actions"`)
	actionEnd    = regexp.MustCompile(`</(div|p|footer)>`)
	cancelAction = regexp.MustCompile(`>\s*Cancel\s*<`)
	strongAction = regexp.MustCompile(`button-(primary|danger)`)
)

// TestTemplates_CancelComesFirst reads every template's rows of form
// buttons: where a row offers Cancel, it comes before the primary or
// destructive action, so every form reads [Cancel] [Action] and the action
// that changes something is last. (The wizard's row is written action
// first, so that Enter in a field goes forward, and shown reversed by the
// stylesheet; it is not a class="actions" row.)
func TestTemplates_CancelComesFirst(t *testing.T) {
	files, err := filepath.Glob("*.templ")
	if err != nil || len(files) == 0 {
		t.Fatalf("no templates found: %v", err)
	}
	rows := 0
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		text := string(src)
		for _, loc := range actionsRow.FindAllStringIndex(text, -1) {
			rest := text[loc[1]:]
			end := actionEnd.FindStringIndex(rest)
			if end == nil {
				t.Fatalf("%s: a row of actions that does not end", f)
			}
			row := rest[:end[0]]
			cancel := cancelAction.FindStringIndex(row)
			if cancel == nil {
				continue
			}
			rows++
			if strong := strongAction.FindStringIndex(row); strong != nil && strong[0] < cancel[0] {
				line := 1 + strings.Count(text[:loc[0]], "\n")
				t.Errorf("%s:%d: the action comes before Cancel; write [Cancel] [Action]:%s", f, line, row)
			}
		}
	}
	if rows == 0 {
		t.Fatal("no row of actions with Cancel found: the test reads nothing")
	}
}
