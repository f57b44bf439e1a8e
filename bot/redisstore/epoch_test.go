package redisstore_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"bridgebot/bot"
	"bridgebot/bot/redisstore"
	"bridgebot/internal/testkit"
)

// Redis restarting without persistence loses every key: the store says so
// clearly in the log and goes on working.
func TestDataLossIsReportedAndTheStoreGoesOn(t *testing.T) {
	var logs testkit.Buffer
	st, client, prefix := newStore(t, redisstore.Options{OwnerTTL: 150 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go st.Run(ctx)
	sess := &bot.Session{ChatID: 5, Lang: "es"}
	if err := st.Save(ctx, sess, bot.Change{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for client.Exists(ctx, prefix+"epoch").Val() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no epoch written")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if strings.Contains(logs.String(), "lost its data") {
		t.Fatal("data loss reported before any")
	}
	// the server lost everything (only this test's keys: the server is shared)
	keys, _ := client.Keys(ctx, prefix+"*").Result()
	client.Del(ctx, keys...)
	for !strings.Contains(logs.String(), "Redis lost its data") {
		if time.Now().After(deadline) {
			t.Fatalf("data loss not reported; log:\n%s", logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	// and the store goes on: a member starts over
	m, err := st.Load(ctx, 5)
	if err != nil || m.Session.Version != 0 {
		t.Fatalf("after the loss: %+v, %v", m.Session, err)
	}
	if err := st.Save(ctx, m.Session, bot.Change{}); err != nil {
		t.Fatal(err)
	}
}
