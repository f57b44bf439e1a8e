package main

import (
	"io"
	"strings"
	"testing"

	"bridgebot/bot/telegram/tghtml"
)

// The worker's footer is sub.footer in each language, valid Telegram HTML
// naming that language's stop command.
func TestAnnouncementFooter(t *testing.T) {
	ct, err := mustContent(config{}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	f := footers(ct.locales)
	for lang, stop := range map[string]string{"en": "/stop", "es": "/baja"} {
		if !strings.Contains(f[lang], stop) || strings.Contains(f[lang], "\n") {
			t.Errorf("%s footer %q: want one line with %s", lang, f[lang], stop)
		}
		if err := tghtml.Validate(f[lang]); err != nil {
			t.Errorf("%s footer: %v", lang, err)
		}
	}
}
