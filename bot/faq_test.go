package bot_test

import (
	"strings"
	"testing"

	"bridgebot/bot"
)

func withContact(c string) func(*bot.Config) { return func(cfg *bot.Config) { cfg.Contact = c } }

// An unsure match offers up to three entries, the team and the whole list:
// never a bare "I didn't find an answer".
func TestUnsureOffersLikelyEntries(t *testing.T) {
	for _, tt := range []struct {
		lang, q           string
		withDesk          bool
		want, wantButtons []string
		notButtons        []string
	}{
		{lang: "es", q: "no se?", withDesk: true, want: []string{"¿Quisiste decir…?"},
			wantButtons: []string{"Ninguna — preguntarle al equipo", "Ver todas las preguntas"}},
		{lang: "en", q: "no se?", withDesk: false, want: []string{"Did you mean…?"},
			wantButtons: []string{"See all the questions"}, notButtons: []string{"ask our team"}},
	} {
		t.Run(tt.lang, func(t *testing.T) {
			var opts []func(*bot.Config)
			if tt.withDesk {
				opts = append(opts, withDesk(&fakeDesk{}))
			}
			h := newHarness(t, tt.lang, opts...)
			h.say("/start")
			r := h.say(tt.q)
			mustShow(t, r, tt.want...)
			for _, b := range tt.wantButtons {
				if !strings.Contains(allButtons(r), b) {
					t.Errorf("buttons lack %q: %s", b, allButtons(r))
				}
			}
			for _, b := range tt.notButtons {
				if strings.Contains(allButtons(r), b) {
					t.Errorf("buttons have %q: %s", b, allButtons(r))
				}
			}
			// 1–3 entries, each answerable
			n := strings.Count(allButtons(r), "|") + 1 - len(tt.wantButtons)
			if n < 1 || n > 3 {
				t.Errorf("%d entries offered: %s", n, allButtons(r))
			}
			r = h.press(strings.Split(allButtons(r), " | ")[0])
			mustShow(t, r, map[string]string{"es": "¿Esto respondió tu pregunta?", "en": "Did this answer your question?"}[tt.lang])
		})
	}
}

// Nothing fits: a kind reply that says what the bot can answer and where
// to go instead — the team, the organizers' contact, or the list — and for
// legal questions, plainly that it gives no legal advice.
func TestNoMatchIsNeverADeadEnd(t *testing.T) {
	const wheel = "Is there wheelchair access at the venue?"
	const asylum = "necesito un abogado para mi caso de asilo"
	for _, tt := range []struct {
		name, lang, q string
		opts          func() []func(*bot.Config)
		want, not     []string
	}{
		{name: "desk", lang: "en", q: wheel, opts: func() []func(*bot.Config) { return []func(*bot.Config){withDesk(&fakeDesk{})} },
			want: []string{"I can only answer questions about the BRIDGE Institutes", "Shall I send them your question", "Send it to the team"},
			not:  []string{"legal advice", "through NNIRR"}},
		{name: "contact", lang: "en", q: wheel, opts: func() []func(*bot.Config) { return []func(*bot.Config){withContact("bridge@example.org")} },
			want: []string{"I can only answer questions about the BRIDGE Institutes", "To reach the organizers: bridge@example.org"},
			not:  []string{"Send it to the team", "through NNIRR"}},
		{name: "nothing", lang: "es", q: "¿hay acceso para silla de ruedas?", opts: func() []func(*bot.Config) { return nil },
			want: []string{"Solo puedo responder preguntas sobre los Institutos BRIDGE", "/preguntas"},
			not:  []string{"a través de NNIRR", "Enviarla al equipo"}},
		{name: "legal+desk", lang: "es", q: asylum, opts: func() []func(*bot.Config) { return []func(*bot.Config){withDesk(&fakeDesk{})} },
			want: []string{"no puedo dar asesoría legal", "¿Le envío tu pregunta?", "Enviarla al equipo"}},
		{name: "legal+contact", lang: "en", q: "my husband was detained by ICE, can you help with his case?",
			opts: func() []func(*bot.Config) { return []func(*bot.Config){withContact("+1 915 555 0100")} },
			want: []string{"I can't give legal advice", "To reach the organizers: +1 915 555 0100"}},
		{name: "legal", lang: "en", q: "how do I apply for asylum", opts: func() []func(*bot.Config) { return nil },
			want: []string{"I can't give legal advice", "/faq"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.lang, tt.opts()...)
			h.say("/start")
			r := h.say(tt.q)
			mustShow(t, r, tt.want...)
			mustNotContain(t, r, tt.not...)
			mustNotContain(t, r, "Did this answer", "¿Esto respondió")
		})
	}
}

// toRegion walks the form up to the region question: an organizer with
// Cosecha, Ana in Spanish, Sam in English.
func (h *harness) toRegion() bot.Response {
	h.t.Helper()
	if strings.HasPrefix(h.lang, "es") {
		h.toRole("Ana")
		h.press("Organizador/a")
	} else {
		h.toRole("Sam")
		h.press("Organizer")
	}
	return h.say("Cosecha")
}

// A question asked in the middle of the form is answered and the same step
// asked again, its earlier answer intact; ordinary answers with "?" stay
// answers; in doubt the member chooses.
func TestQuestionsInTheMiddleOfTheForm(t *testing.T) {
	t.Run("es: answered, step asked again, earlier answer intact", func(t *testing.T) {
		h := newHarness(t, "es")
		h.toRegion()
		h.press("Atrás") // back to the organization question, answered "Cosecha"
		r := h.say("¿es gratis?")
		mustShow(t, r, "costos", "sigamos con el formulario", "organización, colectivo o grupo", "Cosecha")
		mustNotContain(t, r, "¿Esto respondió")
		h.mustAnswer("organization", "Cosecha")
		if h.session().Form.Step != "organization" {
			t.Fatalf("step = %s", h.session().Form.Step)
		}
	})
	t.Run("en: after a detour through /faq", func(t *testing.T) {
		h := newHarness(t, "en")
		h.toRole("Sam")
		h.press("Organizer")
		h.say("/faq")
		r := h.say("is it free?")
		mustShow(t, r, "costs", "back to the form", "organization")
		h.mustNotAnswer("organization")
	})
	t.Run("ordinary answers ending in ? that no question matches are kept", func(t *testing.T) {
		for _, a := range []struct{ step, text string }{
			{"name", "María?"}, {"organization", "Cosecha?"},
		} {
			h := newHarness(t, "es")
			h.takePart()
			if a.step != "name" {
				h.say("Ana")
				h.press("Organizador/a")
			}
			h.say(a.text)
			got := h.session().Form.Answers[a.step]
			if len(got) != 1 || got[0] != a.text {
				t.Errorf("%s: %q stored as %v", a.step, a.text, got)
			}
		}
	})
	t.Run("in doubt, the member chooses", func(t *testing.T) {
		h := newHarness(t, "es")
		h.toRegion()
		r := h.say("Tucson, AZ?")
		mustShow(t, r, "¿Esta es tu respuesta a la pregunta, o es una pregunta para nosotros?", "Tucson, AZ?")
		r = h.press("Es mi respuesta")
		h.mustAnswer("region", "Tucson, AZ?")
		mustShow(t, r, "fronteriza")

		// A city the FAQ knows from its "where" examples is as much in
		// doubt as "Tucson, AZ?".
		h3 := newHarness(t, "es")
		h3.toRegion()
		r = h3.say("El Paso?")
		mustShow(t, r, "¿Esta es tu respuesta a la pregunta, o es una pregunta para nosotros?")
		h3.press("Es mi respuesta")
		h3.mustAnswer("region", "El Paso?")

		h2 := newHarness(t, "en")
		h2.toRegion()
		h2.say("Tucson, AZ?")
		r = h2.press("It's a question")
		mustShow(t, r, "U.S.–Mexico border", "back to the form", "city or region")
		h2.mustNotAnswer("region")
	})
	t.Run("a question where buttons are offered", func(t *testing.T) {
		h := newHarness(t, "en")
		h.toRole("Sam")
		r := h.say("how much does it cost?")
		mustShow(t, r, "costs", "back to the form", "Which of these best describes you?")
	})
}

// Typed answers where buttons are offered are understood in both
// languages, with the buttons as the fallback.
func TestTypedAnswersForButtons(t *testing.T) {
	h := newHarness(t, "es")
	h.toRole("Ana")
	r := h.say("educadora popular")
	mustShow(t, r, "organización")
	h.say("Cosecha")
	h.say("Nogales")
	r = h.say("sí")
	mustShow(t, r, "¿En qué temas trabajas?")
	h.say("migración y pobreza")
	if got := h.session().Form.Draft; strings.Join(got, ",") != "migration,poverty" {
		t.Fatalf("draft = %v", got)
	}
	r = h.say("listo")
	mustShow(t, r, "correo")
	a := h.session().Form.Answers
	if a["role"][0] != "popular-educator" || a["border"][0] != "yes" || strings.Join(a["areas"], ",") != "migration,poverty" {
		t.Fatalf("answers = %v", a)
	}

	en := newHarness(t, "en")
	en.toRole("Sam")
	en.say("community leader")
	en.say("-")
	en.say("Yuma")
	r = en.say("maybe")
	mustShow(t, r, "Please choose one of the buttons")
	r = en.say("no")
	mustShow(t, r, "Which issues do you work on?")
}
