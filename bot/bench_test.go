package bot_test

import (
	"context"
	"testing"

	"bridgebot/bot"
	"bridgebot/bot/redisstore"
	"bridgebot/bot/redisstore/redistest"
	"bridgebot/flows"
)

type discard struct{}

func (discard) Send(context.Context, bot.Response) error { return nil }

// BenchmarkFormStep measures one form step handled end to end against
// Redis (REDIS_URL, else miniredis): load session, run the flow, render the
// next step in the member's language, save with the turn's reply recorded,
// send, and mark it delivered (batched). Each op is one update,
// alternating an answer and a Back press so the state stays put.
func BenchmarkFormStep(b *testing.B) {
	client, prefix := redistest.New(b)
	var rt redistest.Counter
	client.AddHook(&rt)
	store := redisstore.New(client, redisstore.Options{Prefix: prefix})
	fl, cat := content(b)
	e, err := bot.NewEngine(bot.Config{Store: store, Sender: discard{}, Flows: fl, Locales: cat})
	if err != nil {
		b.Fatal(err)
	}
	// as `bridgebot run` does: removals of delivered turns are batched
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go store.Run(ctx)
	const chat = 77
	from := bot.User{ID: chat, LanguageCode: "es"}
	id := int64(0)
	handle := func(u bot.Update) {
		id++
		u.ID, u.ChatID, u.ChatType, u.From = id, chat, bot.ChatPrivate, from
		if err := e.Handle(ctx, u); err != nil {
			b.Fatal(err)
		}
	}
	handle(bot.Update{Text: "/signup", Command: "signup"})
	back := func() string {
		m, err := store.Load(ctx, chat)
		if err != nil {
			b.Fatal(err)
		}
		return flows.CallbackData(m.Session.Rev, flows.Button{Action: flows.ActBack})
	}
	handle(bot.Update{Text: "Ana"}) // warm up: script loaded, connections open
	handle(bot.Update{Callback: &bot.Callback{ID: "w", Data: back()}})
	rt.Reset()
	var excluded int64 // round trips of the benchmark's own reads
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%2 == 0 {
			handle(bot.Update{Text: "María José"})
			continue
		}
		// The Back button's data carries the session revision; read it
		// outside the measurement.
		b.StopTimer()
		before := rt.Count()
		data := back()
		excluded += rt.Count() - before
		b.StartTimer()
		handle(bot.Update{Callback: &bot.Callback{ID: "b", Data: data, MessageID: 1}})
	}
	b.StopTimer()
	b.ReportMetric(float64(rt.Count()-excluded)/float64(b.N), "redis-roundtrips/update")
}
