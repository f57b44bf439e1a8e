package bot_test

import "testing"

// toPhone walks the Spanish form up to the phone question.
func (h *harness) toPhone() {
	h.t.Helper()
	h.say("/start")
	h.press("Quiero participar")
	h.say("Ana")
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
			mustContain(t, r, tc.want...)
			r = h.say("+52 656 123 4567")
			mustContain(t, r, "¿Qué esperas aportar")
		})
	}
}
