package telegram_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"bridgebot/bot"
	"bridgebot/bot/telegram"
	"bridgebot/bot/telegram/telegramtest"
)

// A backlog of long messages (after downtime: members forwarding long
// texts full of links) can make one getUpdates answer of 100 updates
// larger than the bound on an answer read whole. Polling must still get
// every update, not retry the same too-large batch forever.
func TestPollGetsABacklogLargerThanOneAnswerMayBe(t *testing.T) {
	srv := telegramtest.New(t)
	b, err := telegram.New(context.Background(), telegram.Config{Token: srv.Token(), APIURL: srv.URL(), RequestTimeout: 5 * time.Second, PollTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	// about 48 KB each: a 4000-character text with 1000 entities
	var entities []string
	for i := range 1000 {
		entities = append(entities, fmt.Sprintf(`{"offset":%d,"length":1,"type":"bold"}`, i))
	}
	const n = 100
	first := srv.NextUpdateID()
	for i := range n {
		srv.PushRaw(fmt.Sprintf(`{"update_id":%d,"message":{"message_id":%d,"from":{"id":7,"is_bot":false,"first_name":"Ana"},"chat":{"id":7,"type":"private","first_name":"Ana"},"date":1700000000,"text":%q,"entities":[%s]}}`,
			first+i, i+1, strings.Repeat("ñ", 4000), strings.Join(entities, ",")))
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	got := map[int64]bool{}
	done := make(chan error, 1)
	go func() {
		done <- b.Poll(ctx, func(_ context.Context, us []bot.Update) {
			mu.Lock()
			defer mu.Unlock()
			for _, u := range us {
				if u.ChatID != 7 || len(u.Text) != 8000 {
					t.Errorf("update %d: chat %d, %d bytes of text", u.ID, u.ChatID, len(u.Text))
				}
				got[u.ID] = true
			}
			if len(got) == n {
				cancel()
			}
		})
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		cancel()
		<-done
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("after 20s polling got %d of %d updates", len(got), n)
	}
	if srv.ConfirmedOffset() != first+n {
		t.Fatalf("confirmed offset %d, want %d", srv.ConfirmedOffset(), first+n)
	}
}
