package bot_test

import (
	"strings"
	"testing"
	"time"

	"bridgebot/bot"
)

// toPhone walks the Spanish form up to the phone question.
func (h *harness) toPhone() {
	h.t.Helper()
	h.toRole("Ana")
	h.roleToPhone()
}

// roleToPhone answers the Spanish form from the role question (an
// organizer in Nogales, on the border, working on migration) up to the
// phone question.
func (h *harness) roleToPhone() {
	h.t.Helper()
	h.press("Organizador/a")
	h.press("Omitir")
	h.say("Nogales")
	h.press("Sí")
	h.press("Migración")
	h.press("Listo")
	h.press("Omitir")
}

// A phone number without its country code is asked again, with the
// examples for Mexico and the U.S.; a number that is not one says what is
// allowed, matching the same examples.
func TestPhoneNumberAskedWithCountryCode(t *testing.T) {
	for _, tc := range []struct {
		name, typed string
		want        []string
	}{
		{"no country code", "656 123 4567", []string{"agrega el código del país", "+52 656 123 4567", "México", "+1 915 555 0123", "Estados Unidos", "¿Y un número de teléfono?"}},
		{"US number without it", "(915) 555-0123", []string{"agrega el código del país", "+1 915 555 0123"}},
		{"not a number", "llámame", []string{"no parece un número", "espacios y el signo +", "+52 656 123 4567", "+1 915 555 0123"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, "es")
			h.toPhone()
			r := h.say(tc.typed)
			mustShow(t, r, tc.want...)
			r = h.say("+52 656 123 4567")
			mustContain(t, r, "¿Qué esperas aportar")
		})
	}
}

// Coming back to a finished sign-up: it is shown as it is, with "Change
// something" and the menu; what the member types there is a question;
// leaving or letting an edit expire keeps the sign-up as it was.
func TestComingBackToAFinishedSignup(t *testing.T) {
	for _, tc := range []struct {
		name string
		run  func(h *harness) bot.Response
		want []string
		lack []string
		// the stored sign-up is unchanged and no form is left open
		check func(t *testing.T, h *harness)
	}{
		{"shown read-only with Change something and the menu", func(h *harness) bot.Response {
			return h.say("/inscribirme")
		}, []string{"Ya nos dijiste que quieres participar", "<b>Ciudad o región:</b> Ciudad Juárez", "Cambiar algo", "Preguntas frecuentes", "¿Qué te gustaría hacer?"},
			[]string{"Confirmar", "Ver o cambiar mis datos", "Pregunta "}, nil},
		{"free text there is a question", func(h *harness) bot.Response {
			h.say("/inscribirme")
			return h.say("¿cuánto cuesta?")
		}, []string{"costos"}, []string{"elige uno de los botones", "Por favor revisa tus respuestas"}, nil},
		{"Change something opens the list of answers", func(h *harness) bot.Response {
			h.say("/inscribirme")
			return h.press("Cambiar algo")
		}, []string{"¿Qué respuesta quieres cambiar?", "Ciudad o región", "Correo", "/borrar"}, []string{"Consentimiento"}, nil},
		{"leaving an edit says the sign-up stays as it was", func(h *harness) bot.Response {
			h.say("/inscribirme")
			h.press("Cambiar algo")
			h.press("Ciudad")
			r := h.say("/cancelar")
			mustContain(h.t, r, "¿Dejar de cambiar tus datos?", "siguen como estaban")
			mustNotContain(h.t, r, "se borrarán")
			return h.press("Sí, cancelar")
		}, []string{"Tus datos siguen como estaban"}, []string{"No se guardó nada"}, nil},
		{"an expired edit does not say the sign-up was deleted", func(h *harness) bot.Response {
			h.say("/inscribirme")
			h.press("Cambiar algo")
			h.press("Ciudad")
			h.clock.Advance(15 * 24 * time.Hour)
			return h.say("hola")
		}, []string{"dejamos esos cambios de lado", "Tus datos siguen como estaban"}, []string{"la borramos", "borramos"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, "es")
			h.fillSpanish()
			before := h.signup()
			h.clock.Advance(time.Hour)
			r := tc.run(h)
			mustShow(t, r, tc.want...)
			mustNotContain(t, r, tc.lack...)
			after := h.signup()
			if after == nil || after.Answers["region"][0] != before.Answers["region"][0] || !after.Updated.Equal(before.Updated) {
				t.Fatalf("sign-up changed: %+v", after)
			}
		})
	}
}

// Mid-form: one welcome back on /start; /help says where the member is;
// declining consent gets the short answer with the buttons, not the whole
// consent text again.
func TestMidFormHelpAndWelcome(t *testing.T) {
	h := newHarness(t, "es")
	h.toRole("Ana")

	r := h.say("/start")
	welcomes := 0
	for _, m := range r.Messages {
		if strings.Contains(m.Text, "Qué bueno que volviste") || strings.Contains(m.Text, "Qué gusto verte") {
			welcomes++
		}
	}
	if welcomes != 1 {
		t.Fatalf("%d welcome-backs on /start mid-form:\n%s", welcomes, text(r))
	}
	mustContain(t, r, "¿Cuál de estas opciones")

	r = h.say("/ayuda")
	mustContain(t, r, "Estás llenando el formulario de interés: la pregunta 2 de 11", "/cancelar", "/preguntas", "¿Cuál de estas opciones")

	h.roleToPhone()
	h.press("Omitir")
	h.press("Omitir")
	r = h.press("No estoy de acuerdo")
	if len(r.Messages) != 1 {
		t.Fatalf("decline: want one message, got %d:\n%s", len(r.Messages), text(r))
	}
	mustContain(t, r, "sin tu consentimiento no se guarda nada")
	mustNotContain(t, r, "Tu consentimiento</b>", "Para guardar tus datos")
	if b := buttons(r.Messages[0]); !strings.Contains(b, "Estoy de acuerdo") || !strings.Contains(b, "Cancelar") {
		t.Fatalf("decline answer lacks the buttons: %s", b)
	}
	r = h.say("/ayuda")
	mustContain(t, r, "la pregunta 10 de 11")
	r = h.press("Estoy de acuerdo")
	mustContain(t, r, "¿Quieres recibir anuncios")
}

// The language row is offered to newcomers and by /idioma, not on every
// menu.
func TestLanguageRowOnlyWhereNeeded(t *testing.T) {
	h := newHarness(t, "es")
	for _, tc := range []struct {
		say       string
		wantLangs bool
	}{
		{"/start", true},
		{"/menu", false},
		{"/ayuda", false},
		{"/idioma", true},
		{"/start", false},
	} {
		r := h.say(tc.say)
		got := strings.Contains(allButtons(r), "English")
		if got != tc.wantLangs {
			t.Errorf("%s: language buttons %v, want %v: %s", tc.say, got, tc.wantLangs, allButtons(r))
		}
	}
}

// The updates answer offers what the member wants: Stop to a subscriber,
// Get announcements to anyone else.
func TestUpdatesAnswerOffersTheRightAction(t *testing.T) {
	for _, tc := range []struct {
		name       string
		lang       string
		subscribed bool
		ask        string
		want, lack string
	}{
		{"es subscriber wants out", "es", true, "ya no quiero recibir mensajes", "Dejar de recibir anuncios", "🔔 Recibir anuncios"},
		{"es not subscribed", "es", false, "ya no quiero recibir mensajes", "Recibir anuncios", "Dejar de recibir"},
		{"en subscriber", "en", true, "how do I stop the announcements", "Stop announcements", "Get announcements"},
		{"en not subscribed", "en", false, "how do I get updates", "Get announcements", "Stop announcements"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			subs := &fakeSubs{subs: map[int64]bot.Subscription{}}
			h := newHarness(t, tc.lang, withSubs(subs))
			h.say("/start")
			if tc.subscribed {
				h.say("/subscribe")
			}
			r := h.say(tc.ask)
			if b := buttons(r.Messages[0]); !strings.Contains(b, tc.want) || strings.Contains(b, tc.lack) {
				t.Fatalf("answer buttons %q: want %q, not %q\n%s", b, tc.want, tc.lack, text(r))
			}
			h.press(tc.want)
			if tc.subscribed {
				if _, ok := subs.subs[h.chat]; ok {
					t.Fatal("still subscribed after the Stop button")
				}
			} else if _, ok := subs.subs[h.chat]; !ok {
				t.Fatal("not subscribed after the button")
			}
		})
	}
}

// The Spanish command says what it is for (/participar); the old
// /inscribirme still works.
func TestSpanishSignupCommand(t *testing.T) {
	h := newHarness(t, "es")
	var names []string
	for _, c := range h.e.Commands("es") {
		names = append(names, c.Name)
	}
	if !strings.Contains(strings.Join(names, " "), "participar") || strings.Contains(strings.Join(names, " "), "inscribirme") {
		t.Fatalf("Spanish command menu: %v", names)
	}
	h.say("/start")
	for _, cmd := range []string{"/participar", "/inscribirme"} {
		r := h.say(cmd)
		mustContain(t, r, "¿Cómo te llamas?")
		h.say("/cancelar")
		h.press("Sí, cancelar")
	}
}

// Confirming an edit that changed nothing saves nothing and tells the
// team nothing.
func TestConfirmWithoutChangesKeepsTheSignup(t *testing.T) {
	h := newHarness(t, "es")
	h.fillSpanish()
	before := h.signup()
	h.clock.Advance(time.Hour)
	h.say("/participar")
	h.press("Cambiar algo")
	h.press("Atrás")
	r := h.press("Confirmar")
	mustContain(t, r, "no se cambió nada", "Tus datos siguen como estaban")
	if after := h.signup(); !after.Updated.Equal(before.Updated) {
		t.Fatalf("sign-up rewritten: %v → %v", before.Updated, after.Updated)
	}
	if h.session().Form != nil {
		t.Fatal("form left open")
	}
}
