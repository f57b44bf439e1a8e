package bot_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"bridgebot/bot"
	"bridgebot/bot/redisstore"
	"bridgebot/bot/redisstore/redistest"
)

// Two bot processes on one Redis take turns on one chat, in an irregular
// order (a round-robin balancer in webhook mode): each keeps the sessions
// it saved, and must notice every time the other moved on. Every step gets
// its answer, in order, the sign-up is whole, and an erasure done by one
// is seen by the other.
func TestTwoProcessesTakingTurnsOnOneChat(t *testing.T) {
	client, prefix := redistest.New(t)
	obs := &countingObserver{}
	observing := func(c *bot.Config) { c.Observer = obs }
	a := newHarnessWith(t, "en", redisstore.New(client, redisstore.Options{Prefix: prefix}), observing)
	b := newHarnessWith(t, "en", redisstore.New(client, redisstore.Options{Prefix: prefix}), observing)
	hs := []*harness{a, b}
	var last bot.Response
	id := int64(0)
	act := func(h *harness, kind, arg string) bot.Response {
		t.Helper()
		id++
		u := bot.Update{ID: id, ChatID: a.chat, ChatType: bot.ChatPrivate, From: bot.User{ID: a.chat, FirstName: "Ana", LanguageCode: "en"}}
		if kind == "say" {
			u.Text = arg
			if strings.HasPrefix(arg, "/") {
				u.Command = arg[1:]
			}
		} else {
			data, msg := "", 0
			for i, m := range last.Messages {
				for _, row := range m.Buttons {
					for _, btn := range row {
						if strings.Contains(btn.Text, arg) && data == "" {
							data, msg = btn.Data, 100*int(id)+i+1
						}
					}
				}
			}
			if data == "" {
				t.Fatalf("no button %q in the last answer: %s", arg, text(last))
			}
			u.Callback = &bot.Callback{ID: fmt.Sprint("cb", id), Data: data, MessageID: msg}
		}
		before := len(h.rec.resps)
		r := h.handle(u)
		if len(h.rec.resps) != before+1 {
			t.Fatalf("step %d (%s %q): %d answers, want 1", id, kind, arg, len(h.rec.resps)-before)
		}
		if len(r.Messages) > 0 {
			last = r
		}
		return r
	}
	steps := []struct{ kind, arg, expect string }{
		{"say", "/start", "BRIDGE Institutes"},
		{"press", "I want to take part", "What is your name?"},
		{"say", "Sam O'Neil", "Which of these"},
		{"press", "Organizer", "organization"},
		{"say", "Red Fronteriza", "In which city or region"},
		{"say", "Tucson, Arizona", "border region"},
		{"press", "No", "Which issues"},
		{"press", "Workers' rights", "✅ Workers' rights"},
		{"press", "Done", "email"},
		{"say", "sam@example.org", "phone number"},
		{"press", "Skip", "hope to bring"},
		{"say", "Stories from the border", "consent"},
		{"press", "I agree", "announcements"},
		{"press", "No", "check your answers"},
		{"press", "Confirm", "we have your details"},
	}
	// who handles each step: runs on one process and switches between them
	order := []int{0, 0, 1, 0, 1, 1, 0, 1, 1, 0, 0, 1, 0, 1, 0}
	for i, s := range steps {
		r := act(hs[order[i]], s.kind, s.arg)
		if !strings.Contains(text(r)+buttons(lastMessage(r)), s.expect) {
			t.Fatalf("step %d (%s %q) on process %d: answer %q, want %q", i, s.kind, s.arg, order[i], text(r), s.expect)
		}
	}
	// turns run again after a refused save are observed once: the funnel
	// counts what one process alone counts
	if obs.started != 1 || obs.completed != 1 || obs.answered != 12 {
		t.Errorf("observed %d started, %d steps answered, %d completed; want 1, 12, 1", obs.started, obs.answered, obs.completed)
	}
	su := a.signup()
	if su == nil || su.Answers["email"][0] != "sam@example.org" || len(su.Answers["areas"]) != 1 {
		t.Fatalf("sign-up after taking turns: %+v", su)
	}

	// a holds the session it saved last (the confirmation); b erases
	act(b, "say", "/delete")
	r := act(b, "press", "Yes, delete everything")
	if !strings.Contains(text(r), "deleted") {
		t.Fatalf("erasure answer: %q", text(r))
	}
	// a's next turn must not see the sign-up it cached
	r = act(a, "say", "/start")
	if !strings.Contains(buttons(lastMessage(r)), "I want to take part") {
		t.Fatalf("after the erasure elsewhere, /start offers %s: the old sign-up was seen", buttons(lastMessage(r)))
	}
	if su := a.signup(); su != nil {
		t.Fatalf("sign-up back after the erasure: %+v", su)
	}
}

func lastMessage(r bot.Response) bot.Message {
	if len(r.Messages) == 0 {
		return bot.Message{}
	}
	return r.Messages[len(r.Messages)-1]
}

// countingObserver counts the form funnel.
type countingObserver struct {
	mu                           sync.Mutex
	started, answered, completed int
}

func (o *countingObserver) FormStarted(string, string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.started++
}
func (o *countingObserver) FormStepAnswered(string, string, string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.answered++
}
func (o *countingObserver) FormCompleted(string, string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.completed++
}
func (o *countingObserver) FormAbandoned(string, string, string) {}
func (o *countingObserver) FAQ(bot.FAQOutcome, string)           {}
func (o *countingObserver) FAQFeedback(bool, string)             {}
func (o *countingObserver) QuestionOpened(string)                {}
