package faq

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
	"gopkg.in/yaml.v3"
)

var localeFiles = map[string]string{"en": "../../locales/faq.en.yaml", "es": "../../locales/faq.es.yaml"}

var (
	// Telegram HTML as we use it: <b>, <i>, <a href="...">.
	tagRE    = regexp.MustCompile(`<[^>]*>`)
	okTagRE  = regexp.MustCompile(`^(<b>|</b>|<i>|</i>|<a href="[^"<>]+">|</a>)$`)
	entityRE = regexp.MustCompile(`&(amp|lt|gt|quot);`)
	emailRE  = regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}`)
)

func loadLocale(t *testing.T, lang string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(localeFiles[lang])
	if err != nil {
		t.Fatal(err)
	}
	var msgs map[string]string
	if err := yaml.Unmarshal(data, &msgs); err != nil {
		t.Fatalf("%s: %v", localeFiles[lang], err)
	}
	// and the way the bot loads it
	b := i18n.NewBundle(language.English)
	b.RegisterUnmarshalFunc("yaml", yaml.Unmarshal)
	if _, err := b.ParseMessageFileBytes(data, "faq."+lang+".yaml"); err != nil {
		t.Fatalf("go-i18n: %s: %v", localeFiles[lang], err)
	}
	// the answers that change with time, which organizers keep up to date
	facts := strings.Replace(localeFiles[lang], "/faq.", "/facts.", 1)
	data, err = os.ReadFile(facts)
	if err != nil {
		t.Fatal(err)
	}
	var more map[string]string
	if err := yaml.Unmarshal(data, &more); err != nil {
		t.Fatalf("%s: %v", facts, err)
	}
	for id, text := range more {
		msgs[id] = text
	}
	return msgs
}

// TestLocales checks that both locale files have every message the FAQ and
// the bot around it use, with non-empty, valid Telegram HTML text.
func TestLocales(t *testing.T) {
	f, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	ids := append(f.MessageIDs(), UIMessageIDs()...)
	all := map[string]map[string]string{}
	for _, lang := range Languages {
		msgs := loadLocale(t, lang)
		all[lang] = msgs
		for _, id := range ids {
			if strings.TrimSpace(msgs[id]) == "" {
				t.Errorf("%s: message %q missing or empty", localeFiles[lang], id)
			}
		}
		for id, text := range msgs {
			if strings.HasSuffix(id, ".title") || strings.HasPrefix(id, "faq.action.") || strings.HasPrefix(id, "faq.feedback.yes") || strings.HasPrefix(id, "faq.feedback.no") {
				if n := utf8.RuneCountInString(text); n > 60 {
					t.Errorf("%s: %s is a button label of %d characters (max 60)", lang, id, n)
				}
				if strings.ContainsAny(text, "<>&") {
					t.Errorf("%s: %s is a button label with markup", lang, id)
				}
			}
			for _, tag := range tagRE.FindAllString(text, -1) {
				if !okTagRE.MatchString(tag) {
					t.Errorf("%s: %s: tag %q not allowed in Telegram HTML", lang, id, tag)
				}
			}
			if strings.Count(text, "<b>") != strings.Count(text, "</b>") || strings.Count(text, "<i>") != strings.Count(text, "</i>") {
				t.Errorf("%s: %s: unbalanced tags", lang, id)
			}
			rest := tagRE.ReplaceAllString(entityRE.ReplaceAllString(text, ""), "")
			if strings.ContainsAny(rest, "<>&") {
				t.Errorf("%s: %s: unescaped & < or > in %q", lang, id, text)
			}
			if emailRE.MatchString(text) {
				t.Errorf("%s: %s: contains an email address; the seed gives none", lang, id)
			}
		}
	}
	for id := range all["en"] {
		if _, ok := all["es"][id]; !ok {
			t.Errorf("%s is in English but not in Spanish", id)
		}
	}
	for id := range all["es"] {
		if _, ok := all["en"][id]; !ok {
			t.Errorf("%s is in Spanish but not in English", id)
		}
	}
	// contact names the people of the seed
	for _, lang := range Languages {
		c := all[lang]["faq.contact.answer"]
		if !strings.Contains(c, "Sarah Cruz") || !strings.Contains(c, "Alma Maquitico") {
			t.Errorf("%s: contact answer must name Sarah Cruz and Alma Maquitico", lang)
		}
	}
	if p := all["en"]["faq.privacy.answer"]; !strings.Contains(p, "/delete") || !strings.Contains(p, "/stop") {
		t.Error("en privacy answer must mention /delete and /stop")
	}
	if p := all["es"]["faq.privacy.answer"]; !strings.Contains(p, "/borrar") || !strings.Contains(p, "/baja") {
		t.Error("es privacy answer must mention /borrar and /baja")
	}
	if u := all["en"]["faq.updates.answer"]; !strings.Contains(u, "/subscribe") || !strings.Contains(u, "/stop") {
		t.Error("en updates answer must mention /subscribe and /stop")
	}
	if u := all["es"]["faq.updates.answer"]; !strings.Contains(u, "/suscribir") || !strings.Contains(u, "/baja") {
		t.Error("es updates answer must mention /suscribir and /baja")
	}
}
