package redisstore_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"bridgebot/bot"
	"bridgebot/bot/redisstore"
	"bridgebot/bot/sealed"
)

// Sessions and sign-ups are sealed in Redis; values stored before
// encryption existed still read; a value under a key that is not in the
// ring is an error naming that key, never garbage.
func TestSessionsAndSignupsAreSealed(t *testing.T) {
	ctx := context.Background()
	ring := sealed.Throwaway()
	st, rdb, prefix := newStore(t, redisstore.Options{Keyring: ring})

	sess := &bot.Session{ChatID: 11, Lang: "es", Question: "¿Puedo llevar a mi abuela?", Source: "volante_rojo"}
	su := signup(11, t0)
	su.Answers["name"] = []string{"Inés Cuauhtli"}
	if err := st.Save(ctx, sess, bot.Change{Signup: su}); err != nil {
		t.Fatal(err)
	}
	d, _ := rdb.HGet(ctx, prefix+"session:11", "d").Result()
	raw, _ := rdb.Get(ctx, prefix+"signup:11").Result()
	for _, v := range []string{d, raw} {
		if !sealed.IsSealed([]byte(v)) || strings.Contains(v, "abuela") || strings.Contains(v, "Cuauhtli") || strings.Contains(v, "volante") {
			t.Fatalf("stored in clear: %q", v)
		}
	}
	m, err := st.Load(ctx, 11)
	if err != nil || m.Session.Question != sess.Question || m.Signup.Answers["name"][0] != "Inés Cuauhtli" {
		t.Fatalf("Load = %+v, %v", m, err)
	}

	// Written before encryption: plain JSON still reads.
	rdb.Set(ctx, prefix+"signup:12", `{"chat_id":12,"lang":"en","answers":{"name":["Old"]}}`, 0)
	if got, err := st.GetSignup(ctx, 12); err != nil || got.Answers["name"][0] != "Old" {
		t.Fatalf("legacy sign-up: %+v, %v", got, err)
	}

	// Under a key this store does not have: an error naming its ID.
	other := sealed.Throwaway()
	rdb.Set(ctx, prefix+"signup:13", other.Seal([]byte(`{"chat_id":13}`)), 0)
	_, err = st.GetSignup(ctx, 13)
	var missing *sealed.MissingKeyError
	if !errors.As(err, &missing) || missing.KeyID != other.CurrentID() {
		t.Fatalf("GetSignup under an unknown key: %v", err)
	}
}
