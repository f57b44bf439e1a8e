package faq

import "testing"

// A travel question filed under "what is it" is found.
func TestCrossValidateFindsAMisfiledExample(t *testing.T) {
	f, err := Parse([]byte(`
entries:
  - id: what-is-it
    examples:
      en: ["what is this program", "what is it about", "tell me about the program", "what are the institutes",
           "explain the program", "what kind of program is this", "what is this training",
           "do you pay for the bus ticket and the hotel"]
      es: ["que es el programa", "de que se trata", "que son los institutos"]
  - id: cost
    examples:
      en: ["how much does it cost", "is it free", "do i have to pay", "is there a fee", "do you cover travel",
           "do you pay for the hotel", "is the bus ticket paid", "who pays for lodging"]
      es: ["cuanto cuesta", "es gratis", "hay que pagar", "pagan el hotel", "pagan el pasaje"]
  - id: when
    examples:
      en: ["when does it start", "what are the dates", "when is it", "what time are the sessions",
           "how long does it last", "when is the deadline", "which month", "what days"]
      es: ["cuando empieza", "que fechas", "cuando es"]
`), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	got := CrossValidate(f, 4)
	var found bool
	for _, s := range got {
		t.Logf("%s [%s] %q → %s %.2f", s.Entry, s.Lang, s.Example, s.Answer, s.Score)
		if s.Example == "do you pay for the bus ticket and the hotel" && s.Answer == "cost" && s.Entry == "what-is-it" {
			found = true
		}
	}
	if !found {
		t.Fatalf("the misfiled travel question was not found among %d suspects", len(got))
	}
}
