package broadcast_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"bridgebot/bot"
	"bridgebot/bot/broadcast"
	"bridgebot/bot/telegram/telegramtest"
	"bridgebot/internal/testkit"
)

func TestDeliversAtTheConfiguredRate(t *testing.T) {
	e := newEnv(t, telegramtest.WithRateLimit(30, 1))
	ids := e.members(1000, 100, bot.Subscription{})
	e.worker(nil, nil, broadcast.Options{Rate: 25})
	j := e.create(broadcast.Job{})
	j = e.waitStatus(j.ID, broadcast.StatusDone)

	e.exactlyOnce(ids)
	if n := e.srv.RateLimited(); n != 0 {
		t.Errorf("%d answers 429, want 0", n)
	}
	if got := j.Counts; got != (broadcast.Counts{Total: 100, Sent: 100}) {
		t.Errorf("counts %+v", got)
	}
	sends := e.sends()
	span := sends[len(sends)-1].Time.Sub(sends[0].Time)
	rate := float64(len(sends)-1) / span.Seconds()
	t.Logf("achieved %.2f msg/s against 25 (%.1f%%), max %d in one second", rate, rate/25*100, e.srv.MaxPerSecond())
	if rate < 0.95*25 || rate > 25*1.02 {
		t.Errorf("achieved %.2f msg/s, want 95–102%% of 25", rate)
	}
	// Telegram's limit is 30 a second (the fake enforces it: no 429s
	// above); the bucket aims at 25, and arrival jitter on a loaded
	// machine can put a couple more in one sliding second.
	if m := e.srv.MaxPerSecond(); m > 28 {
		t.Errorf("%d messages in one second, want ≤ 28", m)
	}
	if j.Finished.IsZero() || j.Started.IsZero() || j.CreatedBy != "test" {
		t.Errorf("audit fields: %+v", j)
	}
}

func TestBlockedUnsubscribedNotFoundFailed(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ids := e.members(1, 8, bot.Subscription{})
	e.srv.BlockChat(2)
	e.srv.BlockChat(5)
	e.srv.DeactivateChat(7)
	// A subscriber Telegram does not know: chat not found.
	if err := e.store.Subscribe(ctx, bot.Subscription{ChatID: 50, Lang: "es"}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var hooked []int64
	e.worker(nil, nil, broadcast.Options{Rate: 200, OnUnsubscribe: func(chat int64) {
		mu.Lock()
		hooked = append(hooked, chat)
		mu.Unlock()
	}})
	j := e.waitStatus(e.create(broadcast.Job{}).ID, broadcast.StatusDone)
	if want := (broadcast.Counts{Total: 9, Sent: 5, Blocked: 3, Failed: 1}); j.Counts != want {
		t.Errorf("counts %+v, want %+v", j.Counts, want)
	}
	for _, id := range append(ids, 50) {
		sub, err := e.store.IsSubscribed(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		blocked := id == 2 || id == 5 || id == 7
		if sub == blocked {
			t.Errorf("chat %d subscribed = %v", id, sub)
		}
	}
	counts, err := e.store.UnsubscribeCounts(ctx)
	if err != nil || counts[bot.UnsubscribeBlocked] != 3 {
		t.Errorf("unsubscribe counts %v, %v", counts, err)
	}
	mu.Lock()
	slices.Sort(hooked)
	if !slices.Equal(hooked, []int64{2, 5, 7}) {
		t.Errorf("OnUnsubscribe got %v", hooked)
	}
	mu.Unlock()
	// The next broadcast does not try them again.
	calls := e.srv.Calls("sendMessage")
	j = e.waitStatus(e.create(broadcast.Job{}).ID, broadcast.StatusDone)
	if n := e.srv.Calls("sendMessage") - calls; n != 6 || j.Counts.Total != 6 {
		t.Errorf("second broadcast: %d calls, counts %+v; want 6 (5 members + chat not found)", n, j.Counts)
	}
}

func TestRateLimitPausesEveryReplica(t *testing.T) {
	e := newEnv(t)
	ids := e.members(1, 60, bot.Subscription{})
	e.srv.FailNext("sendMessage", 1, 429, "Too Many Requests: retry after 1", 1)
	o := broadcast.Options{Rate: 50, PageSize: 10}
	e.worker(e.client(), nil, o)
	e.worker(e.client(), nil, o)
	j := e.waitStatus(e.create(broadcast.Job{}).ID, broadcast.StatusDone)

	e.exactlyOnce(ids)
	if j.Counts.Sent != 60 || e.srv.RateLimited() != 1 {
		t.Errorf("counts %+v, %d answers 429", j.Counts, e.srv.RateLimited())
	}
	var at time.Time
	for _, r := range e.srv.Requests() {
		if r.Status == 429 {
			at = r.Time
		}
	}
	// Messages already on their way when the 429 came, and the other
	// replica's current ~100 ms of slots, may still land; then nothing
	// until retry_after has passed.
	for _, r := range e.sends() {
		if d := r.Time.Sub(at); d > 250*time.Millisecond && d < 950*time.Millisecond {
			t.Errorf("a message was accepted %v after the 429 (retry after 1s)", d)
		}
	}
}

func TestTransientErrorsAreRetried(t *testing.T) {
	e := newEnv(t)
	ids := e.members(1, 20, bot.Subscription{})
	e.srv.FailNext("sendMessage", 3, 502, "Bad Gateway", 0)
	e.srv.DropNext("sendMessage", 1)
	e.worker(nil, nil, broadcast.Options{Rate: 100, RetryBackoff: 100 * time.Millisecond})
	j := e.waitStatus(e.create(broadcast.Job{}).ID, broadcast.StatusDone)
	e.exactlyOnce(ids)
	if j.Counts != (broadcast.Counts{Total: 20, Sent: 20}) {
		t.Errorf("counts %+v", j.Counts)
	}
	for _, id := range ids {
		if m := e.srv.MaxPerSecondForChat(id); m > 1 {
			t.Errorf("chat %d got %d messages in a second", id, m)
		}
	}
}

func TestTransientErrorsExhausted(t *testing.T) {
	e := newEnv(t)
	e.members(1, 1, bot.Subscription{})
	e.srv.FailNext("sendMessage", 2, 500, "Internal Server Error", 0)
	e.worker(nil, nil, broadcast.Options{MaxAttempts: 2, RetryBackoff: 100 * time.Millisecond})
	j := e.waitStatus(e.create(broadcast.Job{}).ID, broadcast.StatusDone)
	if j.Counts != (broadcast.Counts{Total: 1, Failed: 1}) {
		t.Errorf("counts %+v", j.Counts)
	}
	// Two attempts, a second apart: one message per second per chat. The
	// worker spaces its sends; their arrival at the fake can jitter by a
	// few milliseconds of scheduling and network, hence the tolerance.
	var times []time.Time
	for _, r := range e.srv.Requests() {
		if r.Method == "sendMessage" {
			times = append(times, r.Time)
		}
	}
	if len(times) != 2 || times[1].Sub(times[0]) < time.Second-50*time.Millisecond {
		t.Errorf("attempts at %v, want 2 about 1s apart", times)
	}
}

func TestKillAndResume(t *testing.T) {
	e := newEnv(t)
	ids := e.members(1, 60, bot.Subscription{})
	const conc = 4
	o := broadcast.Options{Rate: 40, Concurrency: conc, PageSize: 20, LeaseTime: time.Second}
	clientA := e.client()
	stopA := e.worker(clientA, nil, o)
	j := e.create(broadcast.Job{})
	e.accepted(20)
	// Kill A: its Redis connection and its context go at once, so what
	// it had in flight is never recorded and its leases never handed back.
	clientA.Close()
	stopA()
	e.worker(e.client(), nil, o)
	j = e.waitStatus(j.ID, broadcast.StatusDone)

	dups := e.duplicates(t, ids)
	t.Logf("duplicates after the kill: %d (concurrency %d)", dups, conc)
	if dups > conc {
		t.Errorf("%d duplicates, want ≤ %d", dups, conc)
	}
	if j.Counts.Sent != 60 {
		t.Errorf("counts %+v, want 60 sent", j.Counts)
	}
}

// A replica killed mid-broadcast (its leases left behind, as in a crash)
// and restarted under the same name takes its own page back at once;
// another replica takes the abandoned page over within 10 s. Default
// lease time.
func TestKilledReplicaIsResumedWithinTenSeconds(t *testing.T) {
	for _, tc := range []struct {
		name, restartAs string
		within          time.Duration
	}{
		{"same replica restarted", "replica-a", 3 * time.Second},
		{"another replica", "replica-b", 10 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			ids := e.members(1, 60, bot.Subscription{})
			const conc = 4
			// One page holds the whole audience: nothing is left to claim
			// but the killed replica's page.
			o := broadcast.Options{Rate: 40, Concurrency: conc, PageSize: 100, Consumer: "replica-a"}
			clientA := e.client()
			stopA := e.worker(clientA, nil, o)
			j := e.create(broadcast.Job{})
			e.accepted(20)
			clientA.Close() // kill: nothing recorded or handed back from here on
			stopA()
			killed, before := time.Now(), e.srv.AcceptedTotal()

			o.Consumer = tc.restartAs
			e.worker(e.client(), nil, o)
			e.srv.WaitFor(t, wait, func() bool { return e.srv.AcceptedTotal() > before })
			resumed := time.Since(killed)
			t.Logf("resumed %v after the kill", resumed.Round(time.Millisecond))
			if resumed > tc.within {
				t.Errorf("resumed %v after the kill, want within %v", resumed.Round(time.Millisecond), tc.within)
			}
			j = e.waitStatus(j.ID, broadcast.StatusDone)
			if dups := e.duplicates(t, ids); dups > conc {
				t.Errorf("%d duplicates, want ≤ %d", dups, conc)
			}
		})
	}
}

func TestCleanShutdownHandsBackAtOnce(t *testing.T) {
	e := newEnv(t)
	ids := e.members(1, 40, bot.Subscription{})
	// A long lease: only a clean hand-back lets B continue quickly.
	o := broadcast.Options{Rate: 40, PageSize: 100, LeaseTime: time.Minute}
	stopA := e.worker(e.client(), nil, o)
	j := e.create(broadcast.Job{})
	e.accepted(10)
	stopA()
	e.worker(e.client(), nil, o)
	e.waitStatus(j.ID, broadcast.StatusDone)
	e.exactlyOnce(ids)
}

func TestTwoWorkersShareAJobWithoutDuplicates(t *testing.T) {
	e := newEnv(t, telegramtest.WithRateLimit(30, 1))
	ids := e.members(1, 80, bot.Subscription{})
	o := broadcast.Options{Rate: 25, PageSize: 10}
	a := &countingSender{next: e.bot}
	b := &countingSender{next: e.bot}
	e.worker(e.client(), a, o)
	e.worker(e.client(), b, o)
	j := e.waitStatus(e.create(broadcast.Job{}).ID, broadcast.StatusDone)
	e.exactlyOnce(ids)
	if n := e.srv.RateLimited(); n != 0 {
		t.Errorf("%d answers 429, want 0", n)
	}
	t.Logf("worker A sent %d, B %d; max %d in one second", a.calls.Load(), b.calls.Load(), e.srv.MaxPerSecond())
	if a.calls.Load() == 0 || b.calls.Load() == 0 {
		t.Errorf("one worker did everything: %d / %d", a.calls.Load(), b.calls.Load())
	}
	if j.Counts.Sent != 80 {
		t.Errorf("counts %+v", j.Counts)
	}
}

func TestCancelStopsSending(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ids := e.members(1, 100, bot.Subscription{})
	const conc = 4
	e.worker(nil, nil, broadcast.Options{Rate: 20, Concurrency: conc})
	a := e.create(broadcast.Job{Texts: map[string]string{"en": "first"}})
	atCancel := e.interrupt(a.ID, e.store.Cancel)
	// The worker runs one job at a time: once a later one is done, it has
	// left the cancelled one for good.
	b := e.create(broadcast.Job{Texts: map[string]string{"en": "second"}, Audience: broadcast.Audience{Langs: []string{"es"}}})
	e.waitStatus(b.ID, broadcast.StatusDone)
	got := e.textCountAll(ids, "first")
	if got > atCancel+conc {
		t.Errorf("%d messages of the cancelled broadcast, %d when cancelled (concurrency %d)", got, atCancel, conc)
	}
	j, err := e.store.Get(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if j.Status != broadcast.StatusCancelled || j.Finished.IsZero() || j.Counts.Sent < int64(atCancel) || j.Counts.Sent > int64(got) {
		t.Errorf("cancelled job %+v (sent %d)", j, got)
	}
	if err := e.store.Resume(ctx, a.ID); err == nil {
		t.Error("a cancelled broadcast was resumed")
	}
}

func TestPauseAndResume(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ids := e.members(1, 60, bot.Subscription{Lang: "en"})
	es := e.members(500, 3, bot.Subscription{Lang: "es"})
	cs := &countingSender{next: e.bot}
	const conc = 4
	e.worker(nil, cs, broadcast.Options{Rate: 30, Concurrency: conc})
	a := e.create(broadcast.Job{Texts: map[string]string{"en": "paused one"}, Audience: broadcast.Audience{Langs: []string{"en"}}})
	atPause := e.interrupt(a.ID, e.store.Pause)
	// A paused job does not hold up the others.
	b := e.create(broadcast.Job{Texts: map[string]string{"es": "otro"}, Audience: broadcast.Audience{Langs: []string{"es"}}})
	e.waitStatus(b.ID, broadcast.StatusDone)
	e.exactlyOnce(es)
	testkit.Eventually(t, wait, "no send in flight", func() bool { return cs.inflight.Load() == 0 })
	paused := e.textCountAll(ids, "paused one")
	if paused > atPause+conc {
		t.Errorf("%d sent while paused, %d at pause", paused, atPause)
	}
	if j, _ := e.store.Get(ctx, a.ID); j.Status != broadcast.StatusPaused || j.Counts.Done() != int64(paused) {
		t.Errorf("paused job: %+v, %d messages", j, paused)
	}
	if err := e.store.Resume(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	j := e.waitStatus(a.ID, broadcast.StatusDone)
	e.exactlyOnce(ids)
	if j.Counts.Sent != 60 {
		t.Errorf("counts %+v", j.Counts)
	}
}

func TestScheduledStartsOnTime(t *testing.T) {
	e := newEnv(t)
	ids := e.members(1, 3, bot.Subscription{})
	e.worker(nil, nil, broadcast.Options{})
	at := time.Now().Add(500 * time.Millisecond)
	j := e.create(broadcast.Job{At: at})
	if j.Status != broadcast.StatusScheduled {
		t.Fatalf("status %s, want scheduled", j.Status)
	}
	j = e.waitStatus(j.ID, broadcast.StatusDone)
	e.exactlyOnce(ids)
	first := e.sends()[0].Time
	if first.Before(at) || first.After(at.Add(time.Second)) {
		t.Errorf("first message at %v, want just after %v", first.Format(time.StampMilli), at.Format(time.StampMilli))
	}
	if j.Started.Before(at.Truncate(time.Millisecond)) {
		t.Errorf("started %v before %v", j.Started, at)
	}
}

func TestScheduledDueBeforeTheWorkerStarts(t *testing.T) {
	e := newEnv(t)
	ids := e.members(1, 3, bot.Subscription{})
	at := time.Now().Add(300 * time.Millisecond)
	j := e.create(broadcast.Job{At: at})
	testkit.Eventually(t, wait, "the send time to pass", func() bool { return time.Now().After(at.Add(100 * time.Millisecond)) })
	if got, _ := e.store.Get(context.Background(), j.ID); got.Status != broadcast.StatusScheduled {
		t.Fatalf("status %s before any worker, want scheduled", got.Status)
	}
	e.worker(nil, nil, broadcast.Options{})
	e.waitStatus(j.ID, broadcast.StatusDone)
	e.exactlyOnce(ids)
}

func TestLanguagesAndFallback(t *testing.T) {
	e := newEnv(t)
	en := e.members(1, 3, bot.Subscription{Lang: "en"})
	es := e.members(100, 2, bot.Subscription{Lang: "es"})
	e.worker(nil, nil, broadcast.Options{Rate: 100})

	j := e.waitStatus(e.create(broadcast.Job{Texts: map[string]string{"en": "English", "es": "Español"}}).ID, broadcast.StatusDone)
	for _, id := range en {
		if e.textCount(id, "English") != 1 {
			t.Errorf("chat %d: %v", id, e.srv.Messages(id))
		}
	}
	for _, id := range es {
		if e.textCount(id, "Español") != 1 {
			t.Errorf("chat %d: %v", id, e.srv.Messages(id))
		}
	}
	if j.Counts != (broadcast.Counts{Total: 5, Sent: 5}) {
		t.Errorf("counts %+v", j.Counts)
	}

	// Only English, no fallback: Spanish speakers are skipped.
	j = e.waitStatus(e.create(broadcast.Job{Texts: map[string]string{"en": "Only English"}}).ID, broadcast.StatusDone)
	if j.Counts != (broadcast.Counts{Total: 5, Sent: 3, Skipped: 2}) {
		t.Errorf("no fallback: counts %+v", j.Counts)
	}
	for _, id := range es {
		if e.textCount(id, "Only English") != 0 {
			t.Errorf("chat %d got the English version without fallback", id)
		}
	}
	// With fallback they get it.
	j = e.waitStatus(e.create(broadcast.Job{Texts: map[string]string{"en": "Fallback English"}, Fallback: true}).ID, broadcast.StatusDone)
	if j.Counts != (broadcast.Counts{Total: 5, Sent: 5}) {
		t.Errorf("fallback: counts %+v", j.Counts)
	}
	for _, id := range es {
		if e.textCount(id, "Fallback English") != 1 {
			t.Errorf("chat %d did not get the fallback", id)
		}
	}
}

func TestAudienceFilterAndButton(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	match := e.members(1, 2, bot.Subscription{Lang: "es", Role: "organizer", Areas: []string{"labor", "climate"}, Border: "yes"})
	e.members(10, 2, bot.Subscription{Lang: "es", Role: "organizer", Areas: []string{"labor"}, Border: "no"})
	e.members(20, 2, bot.Subscription{Lang: "en", Role: "other", Areas: []string{"migration"}, Border: "yes"})
	match = append(match, e.members(30, 1, bot.Subscription{Lang: "en", Role: "community-leader", Areas: []string{"migration", "detention"}, Border: "yes"})...)
	aud, err := broadcast.ParseAudience("area=labor,detention border=yes", shipped(t))
	if err != nil {
		t.Fatal(err)
	}
	counts, err := e.store.Count(ctx, aud)
	if err != nil || counts["es"] != 2 || counts["en"] != 1 {
		t.Fatalf("count %v, %v", counts, err)
	}
	e.worker(nil, nil, broadcast.Options{Rate: 100})
	j := e.create(broadcast.Job{Audience: aud, ButtonURL: "https://example.org/i",
		ButtonLabel: map[string]string{"en": "Details", "es": "Detalles"}})
	j = e.waitStatus(j.ID, broadcast.StatusDone)
	if j.Counts != (broadcast.Counts{Total: 3, Sent: 3}) {
		t.Errorf("counts %+v", j.Counts)
	}
	e.exactlyOnce(match)
	if e.srv.AcceptedTotal() != 3 {
		t.Errorf("%d messages, want 3", e.srv.AcceptedTotal())
	}
	if m := e.srv.Messages(1)[0]; len(m.Buttons) != 1 || m.Buttons[0][0].Text != "Detalles" || m.Buttons[0][0].URL != "https://example.org/i" {
		t.Errorf("es button %+v", m.Buttons)
	}
	if m := e.srv.Messages(30)[0]; m.Buttons[0][0].Text != "Details" {
		t.Errorf("en button %+v", m.Buttons)
	}
}

func TestLateSubscribersWaitForTheNextBroadcast(t *testing.T) {
	e := newEnv(t)
	early := e.members(1, 3, bot.Subscription{})
	j := e.create(broadcast.Job{})
	// Since has millisecond precision: subscribe in a later millisecond.
	testkit.Eventually(t, wait, "the next millisecond", func() bool { return time.Since(j.Created) > 2*time.Millisecond })
	late := e.members(100, 2, bot.Subscription{})
	e.worker(nil, nil, broadcast.Options{})
	j = e.waitStatus(j.ID, broadcast.StatusDone)
	e.exactlyOnce(early)
	for _, id := range late {
		if n := e.srv.Accepted(id); n != 0 {
			t.Errorf("chat %d subscribed after the start got %d messages", id, n)
		}
	}
	if j.Counts.Sent != 3 || j.Counts.Total != 3 {
		t.Errorf("counts %+v", j.Counts)
	}
}

func TestProgressAndWorkers(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.members(1, 80, bot.Subscription{})
	if ws, err := e.store.Workers(ctx); err != nil || len(ws) != 0 {
		t.Fatalf("workers before start: %v, %v", ws, err)
	}
	stop := e.worker(nil, nil, broadcast.Options{Rate: 20, Consumer: "test-worker"})
	testkit.Eventually(t, wait, "a heartbeat", func() bool {
		ws, err := e.store.Workers(ctx)
		return err == nil && len(ws) == 1 && ws[0].Consumer == "test-worker" && ws[0].Rate == 20
	})
	j := e.create(broadcast.Job{})
	var p broadcast.Progress
	testkit.Eventually(t, wait, "a measured rate", func() bool {
		var err error
		p, err = e.store.Progress(ctx, j.ID)
		if err != nil {
			t.Fatal(err)
		}
		return p.Rate > 0 && p.Done > 0
	})
	t.Logf("progress: %d/%d at %.1f/s, ETA %v", p.Done, p.Counts.Total, p.Rate, p.ETA)
	if p.ETA <= 0 || p.ETA > 10*time.Second || p.Rate < 15 || p.Rate > 24 {
		t.Errorf("progress %+v", p)
	}
	e.waitStatus(j.ID, broadcast.StatusDone)
	p, err := e.store.Progress(ctx, j.ID)
	if err != nil || p.Done != 80 || p.ETA != 0 {
		t.Errorf("final progress %+v, %v", p, err)
	}
	stop()
	if ws, err := e.store.Workers(ctx); err != nil || len(ws) != 0 {
		t.Errorf("workers after stop: %v, %v", ws, err)
	}
}

func TestAuditList(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.members(1, 2, bot.Subscription{})
	e.worker(nil, nil, broadcast.Options{})
	var ids []string
	for i := range 3 {
		j := e.create(broadcast.Job{Texts: map[string]string{"en": fmt.Sprintf("<i>number %d</i>", i)}})
		e.waitStatus(j.ID, broadcast.StatusDone)
		ids = append(ids, j.ID)
	}
	list, err := e.store.List(ctx, 2)
	if err != nil || len(list) != 2 || list[0].ID != ids[2] || list[1].ID != ids[1] {
		t.Fatalf("list %+v, %v", list, err)
	}
	j := list[0]
	if j.Texts["en"] != "<i>number 2</i>" || j.CreatedBy != "test" || j.Counts.Sent != 2 || j.Status != broadcast.StatusDone || j.Finished.Before(j.Created) {
		t.Errorf("audit record %+v", j)
	}
	if err := e.store.SetPreviewRef(ctx, j.ID, "C123/1700000000.000100"); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.store.Get(ctx, j.ID); got.PreviewRef != "C123/1700000000.000100" {
		t.Errorf("preview ref %q", got.PreviewRef)
	}
	if err := e.store.SetPreviewRef(ctx, "404", "x"); !broadcast.IsNotFound(err) {
		t.Errorf("preview ref of a missing job: %v", err)
	}
	if err := e.store.Pause(ctx, j.ID); err == nil || !strings.Contains(err.Error(), "is done") {
		t.Errorf("pausing a done job: %v", err)
	}
}
