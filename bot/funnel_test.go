package bot_test

import (
	"context"
	"testing"
	"time"

	"bridgebot/bot"
	"bridgebot/bot/funnel"
)

// The engine tells the durable funnel where each new form went: steps
// reached, a sign-up confirmed, a form cancelled at its step, one deleted,
// and one left to expire (the member never comes back) counted as stopped
// at its step once the form TTL has passed.
func TestFunnelSeesFormsReachStepsAndStop(t *testing.T) {
	db := newTestRedis(t)
	ctx := context.Background()
	var h *harness
	fs := funnel.New(db.client, funnel.Options{Prefix: db.prefix, Now: func() time.Time { return h.clock.Now() }})
	h = newHarness(t, "es", func(c *bot.Config) { c.Observer = fs })

	h.chat = 201 // confirms, after a Back and a change on the review
	h.toRole("Ana")
	h.press("Atrás")
	h.say("Ana María")
	h.press("Organizador/a")
	h.press("Omitir")
	h.say("Nogales")
	h.press("Sí")
	h.press("Migración")
	h.press("Detención")
	h.press("Listo")
	h.press("Omitir")
	h.press("Omitir")
	h.press("Omitir")
	h.press("Estoy de acuerdo")
	h.press("Sí")
	h.press("Confirmar")

	h.chat = 202 // cancels at the role
	h.toRole("Luis")
	h.say("/cancelar")
	h.press("Sí, cancelar")

	h.chat = 203 // leaves at the role and never comes back
	h.toRole("Rosa")

	h.chat = 204 // deletes their data at the region
	h.toRole("Eva")
	h.press("Organizador/a")
	h.press("Omitir")
	h.say("/borrar")
	h.press("Sí, borrar todo")

	if err := fs.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	check := func(when string, want map[string]funnel.StepCounts) {
		t.Helper()
		got, err := fs.Flow(ctx, "signup", []string{"es"})
		if err != nil {
			t.Fatal(err)
		}
		for step, w := range want {
			if g := got["es"].Steps[step]; g != w {
				t.Errorf("%s: %s = %+v, want %+v", when, step, g, w)
			}
		}
		if got["es"].Completed != 1 {
			t.Errorf("%s: %d completed, want 1", when, got["es"].Completed)
		}
	}
	check("at once", map[string]funnel.StepCounts{
		"name":   {Reached: 4},
		"role":   {Reached: 4, Cancelled: 1, Open: 1},
		"region": {Reached: 2, Deleted: 1},
		"review": {Reached: 1},
		"email":  {Reached: 1},
	})
	h.clock.Advance(bot.DefaultFormTTL + 2*time.Hour)
	check("after the form TTL", map[string]funnel.StepCounts{
		"name": {Reached: 4},
		"role": {Reached: 4, Cancelled: 1, Expired: 1},
	})
}
