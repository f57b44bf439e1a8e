package broadcast_test

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"

	"bridgebot/bot"
	"bridgebot/bot/broadcast"
)

func TestEraseRemovesSubscriptionAndDeliveryRecords(t *testing.T) {
	ctx := context.Background()
	s, rdb, prefix := newStore(t, broadcast.Options{})
	if err := s.Subscribe(ctx, bot.Subscription{ChatID: 77, Lang: "es"}); err != nil {
		t.Fatal(err)
	}
	rdb.ZAdd(ctx, prefix+"broadcast:active", redis.Z{Score: 1, Member: "JOB1"})
	rdb.ZAdd(ctx, prefix+"broadcast:job:JOB1:done", redis.Z{Score: 77, Member: "77"})
	if err := s.Erase(ctx, 77); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.IsSubscribed(ctx, 77); ok {
		t.Error("still subscribed")
	}
	if n, _ := rdb.HLen(ctx, prefix+"subs:data").Result(); n != 0 {
		t.Errorf("subscription record kept: %d fields", n)
	}
	if n, _ := rdb.ZCard(ctx, prefix+"broadcast:job:JOB1:done").Result(); n != 0 {
		t.Errorf("delivery record kept: %d", n)
	}
}
