package main

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"bridgebot/bot"
)

// engineMetrics is the engine's bot.Observer: the sign-up funnel per flow,
// step and language, the FAQ's outcomes and feedback, questions opened.
// Labels are flow and step IDs, languages and outcomes from the bot's own
// files, never anything a member wrote.
type engineMetrics struct {
	started, completed *prometheus.CounterVec // flow, lang
	answered, abandon  *prometheus.CounterVec // flow, step, lang
	faq                *prometheus.CounterVec // outcome, lang
	feedback           *prometheus.CounterVec // helpful, lang
	questions          *prometheus.CounterVec // lang
}

var _ bot.Observer = (*engineMetrics)(nil)

func newEngineMetrics(reg prometheus.Registerer) *engineMetrics {
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	}
	m := &engineMetrics{
		started:   counter("bridgebot_form_started_total", "Forms begun, by flow and language.", "flow", "lang"),
		answered:  counter("bridgebot_form_steps_answered_total", "Form steps answered or skipped, by flow, step and language.", "flow", "step", "lang"),
		completed: counter("bridgebot_form_completed_total", "New sign-ups confirmed, by flow and language.", "flow", "lang"),
		abandon:   counter("bridgebot_form_abandoned_total", "Forms cancelled (or data deleted mid-form), by flow, the step they were at, and language; expired forms are bridgebot_form_expired.", "flow", "step", "lang"),
		faq:       counter("bridgebot_faq_questions_total", "Typed questions, by how the FAQ met them (answered, did_you_mean, unmatched) and language.", "outcome", "lang"),
		feedback:  counter("bridgebot_faq_feedback_total", `"Did this answer your question?", by answer (yes, no) and language.`, "helpful", "lang"),
		questions: counter("bridgebot_questions_opened_total", "Questions sent to the team, by language.", "lang"),
	}
	reg.MustRegister(m.started, m.answered, m.completed, m.abandon, m.faq, m.feedback, m.questions)
	return m
}

func (m *engineMetrics) FormStarted(flow, lang string) { m.started.WithLabelValues(flow, lang).Inc() }

func (m *engineMetrics) FormStepAnswered(flow, step, lang string) {
	m.answered.WithLabelValues(flow, step, lang).Inc()
}

func (m *engineMetrics) FormCompleted(flow, lang string) {
	m.completed.WithLabelValues(flow, lang).Inc()
}

func (m *engineMetrics) FormAbandoned(flow, step, lang string) {
	m.abandon.WithLabelValues(flow, step, lang).Inc()
}

// FormArrived and FormLeft are for the durable funnel (bot/funnel), which
// sees forms expire; per-process counters cannot.
func (m *engineMetrics) FormArrived(string, string, string, time.Time, bool) {}

func (m *engineMetrics) FormLeft(string, string, string, time.Time, bot.FormEnd) {}

func (m *engineMetrics) FAQ(outcome bot.FAQOutcome, _, lang string) {
	m.faq.WithLabelValues(string(outcome), lang).Inc()
}

func (m *engineMetrics) FAQFeedback(helpful bool, lang string) {
	v := "no"
	if helpful {
		v = "yes"
	}
	m.feedback.WithLabelValues(v, lang).Inc()
}

func (m *engineMetrics) QuestionOpened(lang string) { m.questions.WithLabelValues(lang).Inc() }
