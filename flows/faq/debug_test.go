package faq

import (
	"os"
	"strings"
	"testing"
)

// TestDebugTerms prints how the matcher sees FAQ_DEBUG messages
// (FAQ_DEBUG="msg1|msg2" go test -run TestDebugTerms -v).
func TestDebugTerms(t *testing.T) {
	env := os.Getenv("FAQ_DEBUG")
	if env == "" {
		t.Skip("set FAQ_DEBUG")
	}
	m := defaultMatcher(t)
	for _, q := range strings.Split(env, "|") {
		s := m.pool.Get().(*scratch)
		s.normalize(q)
		m.markGreetings(s)
		var parts []string
		for i := range s.toks {
			w := string(s.tok(i))
			switch {
			case s.greet[i]:
				parts = append(parts, "("+w+":greet)")
			case isStop([]byte(w)):
				parts = append(parts, "("+w+")")
			default:
				st := stem([]byte(w))
				desc := w + "→" + string(st)
				if _, ok := m.feat["w:"+string(st)]; ok {
					desc += "=known"
				} else if id, d := m.fuzzyLookup(s, st); id >= 0 {
					desc += "~" + m.rev[id] + "/" + string(rune('0'+d))
				} else {
					desc += "?"
				}
				parts = append(parts, desc)
			}
		}
		m.pool.Put(s)
		r := m.Match("es", q)
		t.Logf("%q: %s\n   → %s %+v", q, strings.Join(parts, " "), outcome(r), r.Candidates)
	}
}
