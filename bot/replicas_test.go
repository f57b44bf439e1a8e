package bot_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"bridgebot/bot"
)

// Two bot processes on one Redis take turns on one chat, in an irregular
// order (a round-robin balancer in webhook mode): each keeps the sessions
// it saved, and must notice every time the other moved on. Every step gets
// its answer, in order, the sign-up is whole, and an erasure done by one
// is seen by the other.
func TestTwoProcessesTakingTurnsOnOneChat(t *testing.T) {
	db := newTestRedis(t)
	obs := &countingObserver{}
	observing := func(c *bot.Config) { c.Observer = obs }
	h := newHarnessWith(t, "en", db.store(), observing)
	// the other process: its own store (and cache), answering into the
	// same chat
	other := newHarnessWith(t, "en", db.store(), observing,
		func(c *bot.Config) { c.Sender = h.rec })
	engines := []*bot.Engine{h.e, other.e}
	on := func(i int) *harness { h.e = engines[i]; return h }

	// The member's steps in order: the process that takes each, the words
	// said or the button pressed, and what the answer must hold.
	type step struct {
		proc        int
		press       bool
		input, want string
	}
	walk := func(steps ...step) {
		t.Helper()
		for _, s := range steps {
			if s.press {
				mustContain(t, on(s.proc).press(s.input), s.want)
			} else {
				mustContain(t, on(s.proc).say(s.input), s.want)
			}
		}
	}
	walk(
		step{0, false, "/start", "BRIDGE Institutes"},
		step{0, true, "I want to take part", "What is your name?"},
		step{1, false, "Sam O'Neil", "Which of these"},
		step{0, true, "Organizer", "organization"},
		step{1, false, "Red Fronteriza", "In which city or region"},
		step{1, false, "Tucson, Arizona", "border region"},
		step{0, true, "No", "Which issues"},
	)
	if r := on(1).press("Workers' rights"); !strings.Contains(buttons(r.Messages[0]), "✅ Workers' rights") {
		t.Fatalf("toggle on the other process: %s", buttons(r.Messages[0]))
	}
	walk(
		step{1, true, "Done", "email"},
		step{0, false, "sam@example.org", "phone number"},
		step{0, true, "Skip", "hope to bring"},
		step{1, false, "Stories from the border", "consent"},
		step{0, true, "I agree", "announcements"},
		step{1, true, "No", "check your answers"},
		step{0, true, "Confirm", "we have your details"},
	)
	if n := len(h.rec.resps); n != 15 {
		t.Fatalf("%d answers to 15 steps", n)
	}
	// turns run again after a refused save are observed once: the funnel
	// counts what one process alone counts
	if obs.started != 1 || obs.completed != 1 || obs.answered != 12 {
		t.Errorf("observed %d started, %d steps answered, %d completed; want 1, 12, 1", obs.started, obs.answered, obs.completed)
	}
	su := h.signup()
	if su == nil || su.Answers["email"][0] != "sam@example.org" || len(su.Answers["areas"]) != 1 {
		t.Fatalf("sign-up after taking turns: %+v", su)
	}

	// process 0 holds the session it saved last (the confirmation); the
	// other erases
	on(1).say("/delete")
	mustContain(t, on(1).press("Yes, delete everything"), "deleted")
	// process 0's next turn must not see the sign-up it cached
	r := on(0).say("/start")
	if m := r.Messages[len(r.Messages)-1]; !strings.Contains(buttons(m), "I want to take part") {
		t.Fatalf("after the erasure elsewhere, /start offers %s: the old sign-up was seen", buttons(m))
	}
	if su := h.signup(); su != nil {
		t.Fatalf("sign-up back after the erasure: %+v", su)
	}
}

// countingObserver counts the form funnel.
type countingObserver struct {
	mu                           sync.Mutex
	started, answered, completed int
}

func (o *countingObserver) add(n *int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	*n++
}

func (o *countingObserver) FormStarted(string, string)                              { o.add(&o.started) }
func (o *countingObserver) FormStepAnswered(string, string, string)                 { o.add(&o.answered) }
func (o *countingObserver) FormCompleted(string, string)                            { o.add(&o.completed) }
func (o *countingObserver) FormAbandoned(string, string, string)                    {}
func (o *countingObserver) FAQ(bot.FAQOutcome, string, string)                      {}
func (o *countingObserver) FormArrived(string, string, string, time.Time, bool)     {}
func (o *countingObserver) FormLeft(string, string, string, time.Time, bot.FormEnd) {}
func (o *countingObserver) FAQFeedback(bool, string)                                {}
func (o *countingObserver) QuestionOpened(string)                                   {}
