package faq

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// BenchmarkMatch matches the labelled questions against the shipped FAQ;
// one op is one question.
func BenchmarkMatch(b *testing.B) {
	benchLabelled(b, defaultMatcher(b))
}

// benchLabelled matches the labelled questions of the dev set with m, one
// question an op.
func benchLabelled(b *testing.B, m *Matcher) {
	qs := loadLabelled(b, "testdata/dev.yaml")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		q := qs[i%len(qs)]
		m.Match(q.Lang, q.Q)
	}
}

// BenchmarkMatch200 does the same against 200 entries: the 13 shipped ones
// plus 187 synthetic entries built from the shipped vocabulary (so postings
// lists are long, a pessimistic case) and words of their own.
func BenchmarkMatch200(b *testing.B) {
	f, err := Parse(syntheticFAQ(b, 200), "synthetic.yaml")
	if err != nil {
		b.Fatal(err)
	}
	if n := len(f.Entries()); n != 200 {
		b.Fatalf("%d entries", n)
	}
	benchLabelled(b, NewMatcher(f))
}

// BenchmarkMatchLong measures a 10,000-character message.
func BenchmarkMatchLong(b *testing.B) {
	m := defaultMatcher(b)
	long := strings.Repeat("hola buenas tardes, quisiera saber cuanto cuesta el instituto ", 200)[:10000]
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m.Match("es", long)
	}
}

func BenchmarkNewMatcher(b *testing.B) {
	f, err := Default()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		NewMatcher(f)
	}
}

// syntheticFAQ returns FAQ YAML with n entries: the shipped ones plus
// synthetic ones of 10 examples per language and a few keywords.
func syntheticFAQ(tb testing.TB, n int) []byte {
	tb.Helper()
	f, err := Default()
	if err != nil {
		tb.Fatal(err)
	}
	var words []string
	seen := map[string]bool{}
	for _, e := range f.Entries() {
		for _, lang := range Languages {
			for _, x := range e.Examples[lang] {
				for _, w := range strings.Fields(Normalize(x)) {
					if !seen[w] {
						seen[w] = true
						words = append(words, w)
					}
				}
			}
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var b strings.Builder
	b.WriteString(strings.SplitN(string(DefaultYAML), "\nentries:\n", 2)[0])
	b.WriteString("\nentries:\n")
	b.WriteString(strings.SplitN(string(DefaultYAML), "\nentries:\n", 2)[1])
	for i := len(f.Entries()); i < n; i++ {
		fmt.Fprintf(&b, "  - id: synthetic-%d\n    examples:\n", i)
		for _, lang := range Languages {
			fmt.Fprintf(&b, "      %s:\n", lang)
			for j := 0; j < 10; j++ {
				var ws []string
				for k := 0; k < 3+rng.IntN(5); k++ {
					ws = append(ws, words[rng.IntN(len(words))])
				}
				ws = append(ws, fmt.Sprintf("thing%dx%d", i, rng.IntN(4)))
				fmt.Fprintf(&b, "        - %q\n", strings.Join(ws, " "))
			}
		}
		fmt.Fprintf(&b, "    keywords:\n      en: [thing%dx0, %s]\n      es: [thing%dx1, %s]\n",
			i, words[rng.IntN(len(words))], i, words[rng.IntN(len(words))])
	}
	return []byte(b.String())
}
