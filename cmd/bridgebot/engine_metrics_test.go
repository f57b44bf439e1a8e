package main

import (
	"strings"
	"testing"
)

// The form funnel, the FAQ and its feedback reach /metrics, labelled by
// flow, step, language and outcome only.
func TestEngineMetricsFunnelAndFAQ(t *testing.T) {
	e := newEnv(t)
	addr := freeAddr(t)
	e.vars["HTTP_ADDR"] = addr
	e.start()

	e.member(7401, "Ana", "en").do(englishSignup("Ana Ruiz")...)

	q := e.member(7402, "Bo", "en")
	q.say("/start", "BRIDGE Institutes")
	q.say("how much does it cost to attend?", "Did this answer your question?")
	q.press("Yes, thanks", "Glad it helped")

	c := e.member(7403, "Cy", "en")
	c.do(englishSignup("Cy")[:4]...) // at the organization question
	c.say("/cancel", "Cancel this form?")
	c.press("Yes, cancel", "Cancelled")

	code, body := get(t, "GET", "http://"+addr+"/metrics", nil)
	if code != 200 {
		t.Fatalf("/metrics = %d", code)
	}
	for _, want := range []string{
		`bridgebot_form_started_total{flow="signup",lang="en"} 2`,
		`bridgebot_form_steps_answered_total{flow="signup",lang="en",step="name"} 2`,
		`bridgebot_form_steps_answered_total{flow="signup",lang="en",step="review"} 1`,
		`bridgebot_form_completed_total{flow="signup",lang="en"} 1`,
		`bridgebot_form_abandoned_total{flow="signup",lang="en",step="organization"} 1`,
		`bridgebot_faq_questions_total{lang="en",outcome="answered"} 1`,
		`bridgebot_faq_feedback_total{helpful="yes",lang="en"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	for _, never := range []string{"Ana Ruiz", "cost", "7401"} {
		if strings.Contains(body, never) {
			t.Errorf("/metrics shows %q", never)
		}
	}
	if t.Failed() {
		t.Log(body)
	}
}
