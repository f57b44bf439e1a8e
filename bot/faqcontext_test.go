package bot_test

import (
	"testing"
	"time"

	"bridgebot/bot"
)

func TestQuestionTellsStaffWhichFAQAnswerTheMemberSaw(t *testing.T) {
	desk := &fakeDesk{}
	h := newHarness(t, "en", withDesk(desk))
	h.say("/start")

	// "No, ask our team" under an answer: seen, and it did not help.
	mustContain(t, h.say("how much does it cost to attend?"), "Did this answer your question?")
	h.press("No, ask our team")
	if len(desk.got) != 1 || desk.got[0].SawFAQ != "cost" || !desk.got[0].FAQDidNotHelp {
		t.Fatalf("after No: %+v", desk.got)
	}

	// An answer that helped, then a question by the menu: seen, not refused.
	desk.active = false
	h.say("how much does it cost to attend?")
	h.press("Yes, thanks")
	h.press("Ask our team")
	h.say("Can I bring my child?")
	if len(desk.got) != 2 || desk.got[1].SawFAQ != "cost" || desk.got[1].FAQDidNotHelp {
		t.Fatalf("after Yes and a question: %+v", desk.got)
	}

	// The next question saw nothing new; a follow-up carries nothing.
	desk.active = false
	h.say("/ask")
	h.say("Is there parking?")
	h.say("near the venue")
	if len(desk.got) != 4 || desk.got[2].SawFAQ != "" || desk.got[3].New || desk.got[3].SawFAQ != "" {
		t.Fatalf("later question: %+v", desk.got)
	}
}

// An answer seen longer than FAQContextWindow before the question is not
// told to staff: it is not what the member is asking about now.
func TestQuestionDoesNotTellStaffAnFAQAnswerSeenLongAgo(t *testing.T) {
	for _, tc := range []struct {
		after time.Duration
		want  string
	}{
		{bot.FAQContextWindow - time.Minute, "cost"},
		{bot.FAQContextWindow, "cost"},
		{bot.FAQContextWindow + time.Second, ""},
		{3 * 24 * time.Hour, ""},
	} {
		t.Run(tc.after.String(), func(t *testing.T) {
			desk := &fakeDesk{}
			h := newHarness(t, "en", withDesk(desk))
			h.say("/start")
			mustContain(t, h.say("how much does it cost to attend?"), "Did this answer your question?")
			h.clock.Advance(tc.after)
			h.press("No, ask our team")
			if len(desk.got) != 1 || desk.got[0].SawFAQ != tc.want || desk.got[0].FAQDidNotHelp != (tc.want != "") {
				t.Fatalf("%s after the answer: %+v", tc.after, desk.got)
			}
		})
	}
}
