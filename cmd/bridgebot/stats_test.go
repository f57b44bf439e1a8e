package main

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"bridgebot/bot"
	"bridgebot/bot/funnel"
	"bridgebot/bot/redisstore/redistest"
)

// `bridgebot stats` prints the funnel the running bot recorded: one
// member signed up, one cancelled at the role, one asked the FAQ.
func TestStatsPrintsTheFunnelAsTextBars(t *testing.T) {
	e := newEnv(t)
	stop := e.startReady()
	ana := e.member(8101, "Ana", "es")
	ana.say("/start", "Institutos BRIDGE")
	signUp(ana, "Ana Prueba", "Red Prueba", "Tucson", "ana@prueba.org", "Aprender")
	ana.press("Confirmar", "Recibimos tu interés")
	luis := e.member(8102, "Luis", "es")
	luis.say("/start", "Institutos BRIDGE")
	luis.say("/inscribirme", "¿Cómo te llamas?")
	luis.say("Luis", "¿Cuál de estas opciones")
	luis.say("/cancelar", "¿Cancelar este formulario?")
	luis.press("Sí, cancelar", "Cancelado")
	luis.say("¿cuánto cuesta participar?", "¿Esto respondió tu pregunta?")
	stop() // the last counts are saved on the way out

	out, errOut, err := e.cli("stats")
	if err != nil {
		t.Fatalf("stats: %v\n%s", err, errOut)
	}
	for _, want := range []string{"Interest form for the BRIDGE Institutes — how far members got", "Español: 2 started, 1 sign-ups", "1 stopped (1 cancelled, 0 deleted, 0 expired)", "English: 0 started", "FAQ: 1 answered"} {
		if !strings.Contains(out, want) {
			t.Errorf("stats lack %q:\n%s", want, out)
		}
	}
	for _, bad := range []string{"Ana", "Luis", "8101", "Tucson"} {
		if strings.Contains(out, bad) {
			t.Errorf("stats show member data %q:\n%s", bad, out)
		}
	}
}

// Forms that expired are on /metrics, read from Redis.
func TestFunnelCollectorReportsExpiredForms(t *testing.T) {
	client, prefix := redistest.New(t)
	fs := funnel.New(client, funnel.Options{Prefix: prefix})
	long := time.Now().Add(-bot.DefaultFormTTL - 3*time.Hour)
	fs.FormArrived("signup", "email", "en", long, true)
	fs.FormArrived("signup", "email", "en", time.Now(), true)
	if err := fs.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := `
# HELP bridgebot_form_expired Forms left unfinished past the form TTL, by flow, the step they were at, and language. Read from Redis: the whole deployment's count, the same on every replica (use max, not sum).
# TYPE bridgebot_form_expired counter
bridgebot_form_expired{flow="signup",lang="en",step="email"} 1
`
	if err := testutil.CollectAndCompare(newFunnelCollector(fs, slog.New(slog.DiscardHandler)), strings.NewReader(want), "bridgebot_form_expired"); err != nil {
		t.Fatal(err)
	}
}
