package broadcast_test

import (
	"strings"
	"testing"

	"bridgebot/bot"
	"bridgebot/bot/broadcast"
	"bridgebot/bot/telegram/tghtml"
)

// Every announcement ends with one line, in the member's own language,
// on how to stop them, also when they get the other language's version;
// a message that would be too long with it is sent without it.
func TestAnnouncementFooterInTheMembersLanguage(t *testing.T) {
	e := newEnv(t)
	en := e.members(1, 2, bot.Subscription{Lang: "en"})
	es := e.members(100, 2, bot.Subscription{Lang: "es"})
	footers := map[string]string{"en": "<i>Stop these with /stop.</i>", "es": "<i>Para dejar de recibirlos: /baja.</i>"}
	e.worker(nil, nil, broadcast.Options{Rate: 100, Footer: footers})

	long := strings.Repeat("a", tghtml.MaxTextLen-5)
	for _, tc := range []struct {
		name   string
		job    broadcast.Job
		wantEN []string // in each English speaker's message
		wantES []string
		lackEN []string
		lackES []string
	}{
		{"each language its own", broadcast.Job{Texts: map[string]string{"en": "News one", "es": "Noticia uno"}},
			[]string{"News one\n\nStop these with /stop."}, []string{"Noticia uno\n\nPara dejar de recibirlos: /baja."},
			[]string{"/baja"}, []string{"/stop"}},
		{"fallback version, footer in the member's language", broadcast.Job{Texts: map[string]string{"en": "News two"}, Fallback: true},
			[]string{"News two\n\nStop these with /stop."}, []string{"News two\n\nPara dejar de recibirlos: /baja."},
			nil, []string{"/stop"}},
		{"too long with it: sent without", broadcast.Job{Texts: map[string]string{"en": long, "es": "Noticia tres"}},
			[]string{long}, []string{"Noticia tres\n\nPara dejar de recibirlos: /baja."},
			[]string{long + "\n\nStop"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.waitStatus(e.create(tc.job).ID, broadcast.StatusDone)
			check := func(ids []int64, want, lack []string) {
				for _, id := range ids {
					msgs := e.srv.Messages(id)
					last := msgs[len(msgs)-1].PlainText
					for _, w := range want {
						if !strings.Contains(last, w) {
							t.Errorf("chat %d: %q lacks %q", id, last, w)
						}
					}
					for _, l := range lack {
						if strings.Contains(last, l) {
							t.Errorf("chat %d: %q has %q", id, last, l)
						}
					}
				}
			}
			check(en, tc.wantEN, tc.lackEN)
			check(es, tc.wantES, tc.lackES)
		})
	}
}

// The preview shows each version with its footer, as members see it.
func TestPreviewShowsTheFooter(t *testing.T) {
	for _, tc := range []struct {
		name   string
		footer map[string]string
		want   map[string]string
	}{
		{"with a footer", map[string]string{"en": "<i>Stop: /stop</i>", "es": "<i>Baja: /baja</i>"},
			map[string]string{"en": "News\n\nStop: /stop", "es": "Noticia\n\nBaja: /baja"}},
		{"without", nil, map[string]string{"en": "News", "es": "Noticia"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _, _ := newStore(t, broadcast.Options{Footer: tc.footer})
			p, err := s.Preview(t.Context(), broadcast.Job{Texts: map[string]string{"en": "<b>News</b>", "es": "Noticia"}})
			if err != nil {
				t.Fatal(err)
			}
			for l, w := range tc.want {
				if p.Plain[l] != w {
					t.Errorf("%s: %q, want %q", l, p.Plain[l], w)
				}
			}
		})
	}
}
