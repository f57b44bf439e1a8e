package testkit

// Step is one thing a member does in a chat with the bot, and the reply
// it waits for.
type Step struct {
	Kind   string // "say" (send Arg), "press" (the button labelled Arg on the newest keyboard), "toggle" (a multi-select button, which then shows ✅)
	Arg    string // the text, or the button's label
	Expect string // a new bot message containing this (toggle: none, the button changes)
}

// Signup is one member's answers to the shipped sign-up form, in the
// member's language ("en" or "es"). An empty optional answer is skipped
// with the form's Skip button.
type Signup struct {
	Lang          string
	Name          string
	Role          string // the label of the role button, e.g. "Organizer"
	Organization  string // optional
	Region        string
	Border        bool     // lives or works in the border region
	Areas         []string // the labels of the issues toggled, at least one
	Email, Phone  string   // optional
	Hopes         string   // optional
	Announcements bool
}

// signupText is what a member reads and presses in the sign-up form, per
// language: a distinctive part of each prompt and the buttons' labels.
type signupText struct {
	welcome, takePart                                   string
	name, role, organization, region, border, areas     string
	email, phone, hopes, consent, announcements, review string
	done                                                string
	skip, yes, no, areasDone, agree, confirm            string
}

var signupTexts = map[string]signupText{
	"en": {
		welcome: "BRIDGE Institutes", takePart: "I want to take part",
		name: "What is your name?", role: "Which of these", organization: "organization", region: "In which city or region",
		border: "border region", areas: "Which issues", email: "email", phone: "phone number", hopes: "hope to bring",
		consent: "consent", announcements: "announcements", review: "check your answers", done: "we have your details",
		skip: "Skip", yes: "Yes", no: "No", areasDone: "Done", agree: "I agree", confirm: "Confirm",
	},
	"es": {
		welcome: "Institutos BRIDGE", takePart: "Quiero participar",
		name: "¿Cómo te llamas?", role: "¿Cuál de estas opciones", organization: "organización", region: "¿En qué ciudad o región",
		border: "región fronteriza", areas: "¿En qué temas", email: "correo electrónico", phone: "teléfono", hopes: "aportar",
		consent: "consentimiento", announcements: "anuncios", review: "revisa tus respuestas", done: "Recibimos tu interés",
		skip: "Omitir", yes: "Sí", no: "No", areasDone: "Listo", agree: "Estoy de acuerdo", confirm: "Confirmar",
	},
}

// Steps is the whole sign-up as a member goes through it: /start, the
// welcome's take-part button, the Answers, Confirm on the review (which
// saves the sign-up).
func (s Signup) Steps() []Step {
	tx := s.text()
	steps := append([]Step{{"say", "/start", tx.welcome}, {"press", tx.takePart, tx.name}}, s.Answers()...)
	return append(steps, Step{"press", tx.confirm, tx.done})
}

// Answers is the form from answering the name prompt up to the review of
// the answers, not yet confirmed.
func (s Signup) Answers() []Step {
	tx := s.text()
	optional := func(answer, next string) Step {
		if answer == "" {
			return Step{"press", tx.skip, next}
		}
		return Step{"say", answer, next}
	}
	yesNo := func(yes bool, next string) Step {
		if yes {
			return Step{"press", tx.yes, next}
		}
		return Step{"press", tx.no, next}
	}
	steps := []Step{
		{"say", s.Name, tx.role},
		{"press", s.Role, tx.organization},
		optional(s.Organization, tx.region),
		{"say", s.Region, tx.border},
		yesNo(s.Border, tx.areas),
	}
	for _, a := range s.Areas {
		steps = append(steps, Step{"toggle", a, ""})
	}
	return append(steps,
		Step{"press", tx.areasDone, tx.email},
		optional(s.Email, tx.phone),
		optional(s.Phone, tx.hopes),
		optional(s.Hopes, tx.consent),
		Step{"press", tx.agree, tx.announcements},
		yesNo(s.Announcements, tx.review),
	)
}

func (s Signup) text() signupText {
	tx, ok := signupTexts[s.Lang]
	if !ok {
		panic("testkit.Signup: no texts for language " + s.Lang)
	}
	return tx
}
