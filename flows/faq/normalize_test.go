package faq

import (
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"¿Cuánto CUESTA?", "cuanto cuesta"},
		{"¡Hola!!! ¿Qué tal?", "hola que tal"},
		{"holaaaa", "hola"},
		{"Educación   popular...", "educacion popular"},
		{"what's the e-mail", "whats the correo"},
		{"siiiii gracias", "si gracias"},
		{"llamar", "llamar"},
		{"q es bridge", "que es bridge"},
		{"k tal", "que tal"},
		{"año niño", "ano nino"},
		{"Bilingüe", "bilingue"},
		{"Educacio\u0301n", "educacion"}, // decomposed accent
		{"cost😂😂?", "cost"},
		{"  ", ""},
		{"", ""},
		{"مرحبا كيف", "مرحبا كيف"}, // other scripts are kept
		{"ЧТО это", "что это"},
		{"room 101, 2023", "room 101 2023"},
		{"$$?", "money"},
		{"is it $50 or $ 60", "is it money 50 or money 60"},
		{"costo$$$ $", "costo money money"},
	}
	for _, tt := range tests {
		if got := Normalize(tt.in); got != tt.want {
			t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestStem(t *testing.T) {
	// groups of words that must share a stem
	same := [][]string{
		{"cuesta", "cuestan"},
		{"costo", "costos", "cost", "costs"},
		{"inscribirme", "inscribo", "inscribir"},
		{"apply", "applies", "applied", "applying", "application"},
		{"organizing", "organization", "organizacion", "organizar", "organize", "organizes"},
		{"organizadora", "organizadoras", "organizador", "organizadores"},
		{"fechas", "fecha"},
		{"sesiones", "sesion"},
		{"ciudades", "ciudad"},
		{"becas", "beca"},
		{"datos", "dato", "data"},
		{"dates", "date"},
		{"participar", "participate", "participation", "participo"},
		{"aprender", "aprende", "aprendo"},
		{"parte", "part", "parts"},
		{"detention", "detencion"},
		{"avisenme", "avisen", "avisar"},
		{"materiales", "material", "materials"},
	}
	for _, g := range same {
		want := Stem(g[0])
		for _, w := range g[1:] {
			if got := Stem(w); got != want {
				t.Errorf("Stem(%q) = %q, want %q (like %q)", w, got, want, g[0])
			}
		}
	}
	// words that must stay apart
	apart := [][2]string{
		{"organizer", "organize"},        // who-can-join vs about-nnirr
		{"organizadora", "organizacion"}, // idem
		{"datos", "dates"},               // privacy vs when
		{"question", "cuesta"},           // contact vs cost
		{"educadora", "educacion"},
	}
	for _, p := range apart {
		if Stem(p[0]) == Stem(p[1]) {
			t.Errorf("Stem(%q) == Stem(%q) == %q, want different", p[0], p[1], Stem(p[0]))
		}
	}
	for _, w := range []string{"", "a", "si", "que", "ñu"} {
		if got := Stem(w); got != w {
			t.Errorf("Stem(%q) = %q, short words stay", w, got)
		}
	}
}

// TestDictatedSentenceAsksFromItsLastQuestionWord: a long sentence with no
// question mark is a story and then its question; a short one, or one whose
// only question word opens it, asks as a whole only when punctuated so.
func TestDictatedSentenceAsksFromItsLastQuestionWord(t *testing.T) {
	tests := []struct{ in, asks string }{
		{in: "soy de oaxaca trabajo en la pisca y no puedo faltar mucho cuantos dias va a ser", asks: "cuantos dias va a ser"},
		{in: "i volunteer with day laborers every saturday and i want to know when it starts", asks: "when it starts"},
		// the question word opens the sentence: nothing is told apart
		{in: "when i got here ten years ago i started organizing my neighbors", asks: ""},
		// short: as before
		{in: "y cuando empieza", asks: ""},
		// a question mark decides
		{in: "soy promotora en nogales. cuando empieza?", asks: "cuando empieza"},
		// "como", "que", "porque" are as often not questions
		{in: "no puedo faltar mucho porque me corren del trabajo en el campo", asks: ""},
	}
	for _, tt := range tests {
		var a analyzer
		a.normalize(tt.in)
		var asks []string
		for i := range a.toks {
			if a.asking[i] {
				asks = append(asks, string(a.tok(i)))
			}
		}
		if got := strings.Join(asks, " "); got != tt.asks {
			t.Errorf("%q asks %q, want %q", tt.in, got, tt.asks)
		}
	}
}
