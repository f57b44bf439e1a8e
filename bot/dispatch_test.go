package bot_test

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"bridgebot/bot"
)

// chatLog is a Handler that records each chat's updates in the order they
// ran and fails the test if two updates of one chat ever run at once.
type chatLog struct {
	t       *testing.T
	mu      sync.Mutex
	running map[int64]bool
	order   map[int64][]int64
	hold    map[int64]chan struct{} // update ID → released when closed
}

func newChatLog(t *testing.T) *chatLog {
	return &chatLog{t: t, running: map[int64]bool{}, order: map[int64][]int64{}, hold: map[int64]chan struct{}{}}
}

func (c *chatLog) Handle(_ context.Context, u bot.Update) error {
	c.mu.Lock()
	if c.running[u.ChatID] {
		c.t.Errorf("two updates of chat %d ran at once (update %d)", u.ChatID, u.ID)
	}
	c.running[u.ChatID] = true
	c.order[u.ChatID] = append(c.order[u.ChatID], u.ID)
	hold := c.hold[u.ID]
	c.mu.Unlock()
	if hold != nil {
		<-hold
	}
	time.Sleep(time.Duration(rand.N(50)) * time.Microsecond)
	c.mu.Lock()
	c.running[u.ChatID] = false
	c.mu.Unlock()
	return nil
}

func (c *chatLog) holdUpdate(id int64) chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan struct{})
	c.hold[id] = ch
	return ch
}

func (c *chatLog) ran(chat int64) []int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]int64(nil), c.order[chat]...)
}

func TestDispatchHereHandlesOnTheCallerWhenTheChatIsIdle(t *testing.T) {
	h := newChatLog(t)
	d := bot.NewDispatcher(h, 2, time.Second, slog.New(slog.DiscardHandler))
	defer d.Close()
	handled := false
	d.DispatchHere(context.Background(), bot.Update{ID: 1, ChatID: 7}, func() { handled = true })
	if !handled {
		t.Fatal("DispatchHere returned before handling an update of an idle chat")
	}
}

func TestDispatchHereKeepsEachChatInOrder(t *testing.T) {
	h := newChatLog(t)
	d := bot.NewDispatcher(h, 2, 5*time.Second, slog.New(slog.DiscardHandler))
	defer d.Close()
	ctx := context.Background()

	// The chat's worker is busy with update 1: update 2 waits behind it,
	// and DispatchHere returns without handling it.
	release1 := h.holdUpdate(1)
	done := make(chan int64, 4)
	d.Dispatch(ctx, bot.Update{ID: 1, ChatID: 8}, func() { done <- 1 })
	returned := make(chan struct{})
	go func() {
		d.DispatchHere(ctx, bot.Update{ID: 2, ChatID: 8}, func() { done <- 2 })
		close(returned)
	}()
	select {
	case <-returned:
	case <-time.After(2 * time.Second):
		close(release1)
		t.Fatal("DispatchHere waited for a busy chat instead of queueing the update")
	}
	select {
	case id := <-done:
		t.Fatalf("update %d handled while update 1 was held", id)
	case <-time.After(20 * time.Millisecond):
	}
	close(release1)
	if a, b := <-done, <-done; a != 1 || b != 2 {
		t.Fatalf("handled %d then %d, want 1 then 2", a, b)
	}

	// Update 3 runs on the caller (the chat is idle); update 4, dispatched
	// meanwhile, waits for it.
	release3 := h.holdUpdate(3)
	here := make(chan struct{})
	go func() {
		d.DispatchHere(ctx, bot.Update{ID: 3, ChatID: 8}, func() { done <- 3 })
		close(here)
	}()
	for len(h.ran(8)) < 3 {
		time.Sleep(time.Millisecond)
	}
	d.Dispatch(ctx, bot.Update{ID: 4, ChatID: 8}, func() { done <- 4 })
	select {
	case id := <-done:
		t.Fatalf("update %d handled while update 3 was held", id)
	case <-time.After(20 * time.Millisecond):
	}
	close(release3)
	<-here
	if a, b := <-done, <-done; a != 3 || b != 4 {
		t.Fatalf("handled %d then %d, want 3 then 4", a, b)
	}
	if got := h.ran(8); len(got) != 4 || got[0] != 1 || got[1] != 2 || got[2] != 3 || got[3] != 4 {
		t.Fatalf("chat 8 ran %v, want [1 2 3 4]", got)
	}
}

// Batches of updates of a few chats, as polling hands them over, and
// webhook deliveries at the same time: every chat's updates run one at a
// time, in the order they were handed over.
func TestHandleBatchKeepsEachChatInOrder(t *testing.T) {
	h := newChatLog(t)
	d := bot.NewDispatcher(h, 3, 5*time.Second, slog.New(slog.DiscardHandler))
	defer d.Close()
	ctx := context.Background()
	var next sync.Mutex
	id := int64(0)
	nextID := func() int64 { next.Lock(); defer next.Unlock(); id++; return id }
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				// each goroutine has chats of its own, so its order is defined
				if g == 0 {
					var batch []bot.Update
					for range 1 + rand.N(4) {
						batch = append(batch, bot.Update{ID: nextID(), ChatID: int64(rand.N(5))})
					}
					d.HandleBatch(ctx, batch)
					continue
				}
				done := make(chan struct{})
				d.DispatchHere(ctx, bot.Update{ID: nextID(), ChatID: int64(10*g + rand.N(3))}, func() { close(done) })
				<-done
			}
		}()
	}
	wg.Wait()
	for chat, ids := range h.order {
		for i := 1; i < len(ids); i++ {
			if ids[i] < ids[i-1] {
				t.Fatalf("chat %d ran update %d after %d", chat, ids[i], ids[i-1])
			}
		}
	}
}

// panicky panics on the updates it is told to, and records the others.
type panicky struct {
	mu      sync.Mutex
	handled []int64
}

func (p *panicky) Handle(_ context.Context, u bot.Update) error {
	if u.ID < 0 {
		panic("handler bug")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.handled = append(p.handled, u.ID)
	return nil
}

// A handler that panics on the caller's goroutine (a webhook delivery,
// whose panic net/http recovers, or a test's recover) must leave the
// chat's worker free: the queue it shares with other chats must not wait
// forever for an update that is no longer running.
func TestDispatchHerePanicLeavesTheQueueUsable(t *testing.T) {
	h := &panicky{}
	// not closed when the test fails: its worker would never finish
	d := bot.NewDispatcher(h, 1, time.Second, slog.New(slog.DiscardHandler))
	ctx := context.Background()
	func() {
		defer func() { _ = recover() }() // as net/http does for a handler
		d.DispatchHere(ctx, bot.Update{ID: -1, ChatID: 7}, func() {})
	}()
	done := make(chan struct{})
	go d.Dispatch(ctx, bot.Update{ID: 2, ChatID: 8}, func() { close(done) })
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("an update queued after a panic on the caller was not handled within 2s")
	}
	here := make(chan struct{})
	go d.DispatchHere(ctx, bot.Update{ID: 3, ChatID: 7}, func() { close(here) })
	select {
	case <-here:
	case <-time.After(2 * time.Second):
		t.Fatal("the panicking chat's next update was not handled within 2s")
	}
	d.Close()
}
