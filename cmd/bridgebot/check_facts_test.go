package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"bridgebot/locales"
)

// check lists the organizer-maintained facts still as shipped, as notes
// that do not fail it.
func TestCheckListsFactsStillAsShipped(t *testing.T) {
	dir := t.TempDir()
	if err := fs.WalkDir(locales.Default(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(locales.Default(), p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, p), data, 0o644)
	}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name        string
		edit        func()
		want, avoid []string
	}{
		{"as shipped", func() {}, []string{
			`note: ` + filepath.Join(dir, "facts.en.yaml") + `:`, `"faq.when.answer" still holds the shipped text`,
			`note: ` + filepath.Join(dir, "facts.es.yaml") + `:`,
		}, nil},
		{"English dates updated", func() {
			p := filepath.Join(dir, "facts.en.yaml")
			data, _ := os.ReadFile(p)
			s := strings.Replace(string(data), "When NNIRR announced the BRIDGE Institutes", "The next institute is in May 2027. When NNIRR announced the BRIDGE Institutes", 1)
			if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
				t.Fatal(err)
			}
		}, []string{`facts.es.yaml:11: message "faq.when.answer"`, `facts.en.yaml:16: message "faq.where.answer"`},
			[]string{`facts.en.yaml:11: message "faq.when.answer"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.edit()
			out, _, err := (&env{t: t, vars: map[string]string{"LOCALES_DIR": dir}}).cli("check")
			if err != nil {
				t.Fatalf("check failed: %v\n%s", err, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("check output lacks %q:\n%s", w, out)
				}
			}
			for _, a := range tc.avoid {
				if strings.Contains(out, a) {
					t.Errorf("check output has %q:\n%s", a, out)
				}
			}
		})
	}
}
