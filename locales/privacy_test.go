package locales_test

import (
	"strings"
	"testing"

	"bridgebot/locales"
)

// The consent text, the privacy answer and /delete's confirmation say what
// is stored, who sees it, how long (the deployment's settings) and how to
// erase it, in both languages; the organizers' statement appears in them.
func TestPrivacyTexts(t *testing.T) {
	cat, err := locales.Load(locales.Default())
	if err != nil {
		t.Fatal(err)
	}
	cat.SetRetention(locales.Retention{FormDays: 7, AnsweredDays: 45, DeadDays: 11})
	want := map[string]map[string][]string{
		"en": {
			"signup.consent.prompt": {"first name", "@username", "chat ID", "language", "answers", "questions", "link", "organizing team", "Slack", "7 days", "45 days", "11 days", "/delete"},
			"faq.privacy.answer":    {"first name", "@username", "chat ID", "language", "answers", "questions", "link", "organizing team", "Slack's retention", "7 days", "45 days", "11 days", "/delete", "/wipe"},
			"delete.confirm":        {"first name", "@username", "chat ID", "language", "questions", "where you came from", "Slack"},
		},
		"es": {
			"signup.consent.prompt": {"nombre", "@usuario", "ID de chat", "idioma", "respuestas", "preguntas", "enlace", "equipo organizador", "Slack", "7 días", "45 días", "11 días", "/borrar"},
			"faq.privacy.answer":    {"nombre", "@usuario", "ID de chat", "idioma", "respuestas", "preguntas", "enlace", "equipo organizador", "conservación de Slack", "7 días", "45 días", "11 días", "/borrar", "/limpiar"},
			"delete.confirm":        {"nombre", "@usuario", "ID de chat", "idioma", "preguntas", "desde dónde llegaste", "Slack"},
		},
	}
	for lang, msgs := range want {
		tr := cat.For(lang)
		org := tr.T(locales.OrganizationMessage, nil)
		for id, parts := range msgs {
			text := tr.T(id, nil)
			for _, p := range parts {
				if !strings.Contains(text, p) {
					t.Errorf("%s %s lacks %q:\n%s", lang, id, p, text)
				}
			}
			if id != "delete.confirm" && !strings.Contains(text, org) {
				t.Errorf("%s %s lacks the organizers' statement %q", lang, id, org)
			}
		}
	}
}

// Without SetRetention the texts quote the bot's defaults.
func TestPrivacyTextsDefaultRetention(t *testing.T) {
	cat, err := locales.Load(locales.Default())
	if err != nil {
		t.Fatal(err)
	}
	text := cat.For("en").T("signup.consent.prompt", nil)
	for _, p := range []string{"14 days", "90 days", "30 days"} {
		if !strings.Contains(text, p) {
			t.Errorf("consent lacks %q", p)
		}
	}
}
