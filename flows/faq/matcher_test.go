package faq

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestMatchExamples(t *testing.T) {
	m := defaultMatcher(t)
	tests := []struct{ lang, q, want string }{
		// the issue's own examples
		{"es", "¿Cuánto cuesta una visa de trabajo?", ""},
		{"en", "¿Cuánto cuesta una visa de trabajo?", ""},
		{"es", "hola, cuanto cuesta?", "cost"},
		{"es", "hola", wantGreeting},
		{"en", "hi", wantGreeting},
		{"es", "buenas tardes", wantGreeting},
		{"es", "hola amiga!!", wantGreeting},
		{"en", "good morning, thank you", wantGreeting},
		{"es", "buenas tardes, donde va a ser?", "where"},
		// a Spanish question from an English-speaking member, and vice versa
		{"en", "como me inscribo", "how-to-apply"},
		{"es", "how do I sign up", "how-to-apply"},
		// accents, case, punctuation, typos
		{"es", "¿¿CUÁNDO EMPIEZA??", "when"},
		{"es", "cuando empiesa", "when"},
		{"es", "educasion popular", "popular-education"},
		{"en", "privacy", "privacy"},
		{"es", "nnir", "about-nnirr"},
	}
	for _, tt := range tests {
		if got := outcome(m.Match(tt.lang, tt.q)); got != tt.want {
			t.Errorf("Match(%s, %q) = %q, want %q", tt.lang, tt.q, got, tt.want)
		}
	}
}

func TestMatchAmbiguous(t *testing.T) {
	f, err := Parse([]byte(`entries:
  - id: card-lost
    examples:
      en: ["I lost my card", "card"]
      es: ["perdí mi tarjeta", "tarjeta"]
  - id: card-new
    examples:
      en: ["I need a new card", "card"]
      es: ["quiero una tarjeta nueva", "tarjeta"]
  - id: hours
    examples:
      en: ["opening hours"]
      es: ["horario"]
`), "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	m := NewMatcher(f)
	r := m.Match("en", "card")
	if !r.Ambiguous || r.ID != "" || len(r.Candidates) < 2 {
		t.Fatalf("Match(card) = %+v, want unsure with the two card entries first", r)
	}
	ids := r.Candidates[0].ID + "," + r.Candidates[1].ID
	if ids != "card-lost,card-new" && ids != "card-new,card-lost" {
		t.Errorf("candidates %s", ids)
	}
	if r.Candidates[0].Score < r.Candidates[1].Score {
		t.Errorf("candidates not best first: %+v", r.Candidates)
	}
	if r := m.Match("en", "I lost my card"); r.ID != "card-lost" || r.Ambiguous {
		t.Errorf("Match(I lost my card) = %+v", r)
	}
	if r := m.Match("en", "what are the opening hours?"); r.ID != "hours" || r.Candidates[0].ID != "hours" || r.Score != r.Candidates[0].Score {
		t.Errorf("Match(opening hours) = %+v", r)
	}
}

func TestResultJSON(t *testing.T) {
	m := defaultMatcher(t)
	b, err := json.Marshal(m.Match("es", "cuanto cuesta"))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got["id"] != "cost" || got["score"] == nil || got["candidates"] == nil {
		t.Errorf("JSON = %s", b)
	}
	if _, ok := got["ambiguous"]; ok {
		t.Errorf("ambiguous should be omitted when false: %s", b)
	}
	b, _ = json.Marshal(m.Match("es", "zzzz qqqq"))
	if !strings.Contains(string(b), `"id":""`) || !strings.Contains(string(b), `"candidates":[]`) {
		t.Errorf("no-match JSON = %s", b)
	}
}

func TestMatchRobust(t *testing.T) {
	m := defaultMatcher(t)
	long := strings.Repeat("cuanto cuesta el instituto? ", 400) // 11,200 bytes
	inputs := []string{
		"", " ", "\n\t", "?!¿¡...", "😀😀😀", "🙏", "👍🏽",
		"مرحبا، كم التكلفة؟", "שלום מה המחיר", "你好", "Привет",
		"\x00\x01\xff\xfe", string([]byte{0xe2, 0x82}), // invalid UTF-8
		strings.Repeat("a", 10000), strings.Repeat("ñ", 10000), strings.Repeat("😀", 3000),
		strings.Repeat("hola ", 2000), long, strings.Repeat("x ", 5000),
		"\u202eevif si ti\u202c", // RTL override
	}
	for _, in := range inputs {
		start := time.Now()
		r := m.Match("es", in)
		// a guard against pathological inputs (not a benchmark): a match
		// takes microseconds, so even the race detector on a loaded
		// machine stays far below this
		if d := time.Since(start); d > 200*time.Millisecond {
			t.Errorf("Match(%.20q…) took %v", in, d)
		}
		if r.Candidates == nil {
			t.Errorf("Match(%.20q…) Candidates is nil (want [] for JSON)", in)
		}
	}
	if r := m.Match("es", long); r.ID != "cost" {
		t.Errorf("long repeated question → %s, want cost", outcome(r))
	}
	if r := m.Match("es", ""); r.ID != "" || r.Greeting || r.Ambiguous {
		t.Errorf("empty → %+v", r)
	}
	if r := m.Match("xx", "cuanto cuesta"); r.ID != "cost" {
		t.Errorf("unknown language → %+v", r)
	}
}

func TestMatchConcurrent(t *testing.T) {
	m := defaultMatcher(t)
	qs := loadLabelled(t, "testdata/dev.yaml")
	want := make([]string, len(qs))
	for i, q := range qs {
		want[i] = outcome(m.Match(q.Lang, q.Q))
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := range qs {
				j := (i + g*17) % len(qs)
				if got := outcome(m.Match(qs[j].Lang, qs[j].Q)); got != want[j] {
					t.Errorf("concurrent Match(%q) = %s, want %s", qs[j].Q, got, want[j])
				}
			}
		}(g)
	}
	wg.Wait()
}
