// Package funnel keeps, in Redis, how members move through the forms and
// what they ask the FAQ, for `/bridge stats` and `bridgebot stats`: counts
// per flow, step, language and FAQ topic only, never a chat or anything a
// member wrote. Prometheus counters are per process and vanish with it;
// these are shared by every replica and kept.
//
// Keys:
//
//	{prefix}funnel:{flow}:{lang}   hash: reached:{step}       forms that got to step (first time)
//	                                     ended:{step}:{end}   forms cancelled / deleted at step
//	                                     completed            sign-ups confirmed
//	                                     in:{step}:{hour}     forms that arrived at step in that hour
//	                                     out:{step}:{hour}    ... and left it again
//	                                     expired:{step}       forms that stayed at step past the form TTL
//	{prefix}faq:{lang}             hash: topic:{id}, outcome:{outcome}, helpful:{yes|no}
//
// A form that expires never leaves its step, so once its hour of arrival
// is more than the form TTL ago, in minus out for that hour is the number
// of forms that expired there; fold moves it into expired:{step}. What
// is still within the TTL is "open": members who may yet come back.
package funnel

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"bridgebot/bot"
)

// FlushEvery is how often counts are written to Redis: off the member's
// path, in one round trip for all of them. A crash loses at most this much.
const FlushEvery = 2 * time.Second

// foldMargin keeps a bucket open a little past the form TTL, for a
// departure still in another replica's buffer.
const foldMargin = 5 * time.Minute

// Options configure a Store.
type Options struct {
	Prefix  string
	FormTTL time.Duration // the engine's; bot.DefaultFormTTL when zero
	Now     func() time.Time
	Logger  *slog.Logger
}

// Store records the funnel (it is a bot.Observer) and reads it back.
type Store struct {
	rdb    redis.UniversalClient
	prefix string
	ttl    time.Duration
	now    func() time.Time
	log    *slog.Logger

	mu      sync.Mutex
	pending map[string]map[string]int64 // key → field → increment
}

var _ bot.Observer = (*Store)(nil)

// New returns a store on rdb.
func New(rdb redis.UniversalClient, o Options) *Store {
	s := &Store{rdb: rdb, prefix: o.Prefix, ttl: o.FormTTL, now: o.Now, log: o.Logger, pending: map[string]map[string]int64{}}
	if s.ttl <= 0 {
		s.ttl = bot.DefaultFormTTL
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	return s
}

func (s *Store) flowKey(flow, lang string) string { return s.prefix + "funnel:" + flow + ":" + lang }
func (s *Store) faqKey(lang string) string        { return s.prefix + "faq:" + lang }

func hour(t time.Time) string { return strconv.FormatInt(t.Unix()/3600, 10) }

func (s *Store) add(key, field string, n int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.pending[key]
	if m == nil {
		m = map[string]int64{}
		s.pending[key] = m
	}
	m[field] += n
}

// FormArrived counts the arrival in its hour, and a first arrival as
// reaching the step.
func (s *Store) FormArrived(flow, step, lang string, at time.Time, first bool) {
	k := s.flowKey(flow, lang)
	s.add(k, "in:"+step+":"+hour(at), 1)
	if first {
		s.add(k, "reached:"+step, 1)
	}
}

// FormLeft balances the arrival and counts how the form ended, if it did.
func (s *Store) FormLeft(flow, step, lang string, since time.Time, ended bot.FormEnd) {
	k := s.flowKey(flow, lang)
	s.add(k, "out:"+step+":"+hour(since), 1)
	switch ended {
	case bot.FormMoved:
	case bot.FormConfirmed:
		s.add(k, "completed", 1)
	default:
		s.add(k, "ended:"+step+":"+string(ended), 1)
	}
}

// FAQ counts the outcome and, when answered, the topic.
func (s *Store) FAQ(outcome bot.FAQOutcome, topic, lang string) {
	s.add(s.faqKey(lang), "outcome:"+string(outcome), 1)
	if topic != "" {
		s.add(s.faqKey(lang), "topic:"+topic, 1)
	}
}

// FAQFeedback counts "Did this answer your question?".
func (s *Store) FAQFeedback(helpful bool, lang string) {
	v := "no"
	if helpful {
		v = "yes"
	}
	s.add(s.faqKey(lang), "helpful:"+v, 1)
}

// The rest of bot.Observer is what FormArrived and FormLeft already say.

func (s *Store) FormStarted(string, string)              {}
func (s *Store) FormStepAnswered(string, string, string) {}
func (s *Store) FormCompleted(string, string)            {}
func (s *Store) FormAbandoned(string, string, string)    {}
func (s *Store) QuestionOpened(string)                   {}

// Run flushes the counts every FlushEvery until ctx ends, then once more.
func (s *Store) Run(ctx context.Context) error {
	t := time.NewTicker(FlushEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if err := s.Flush(fctx); err != nil {
				s.log.Warn("funnel: last counts not saved", slog.Any("err", err))
			}
			return nil
		case <-t.C:
			if err := s.Flush(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("funnel: counts not saved yet", slog.Any("err", err))
			}
		}
	}
}

// Flush writes the counts recorded so far; on failure they are kept for
// the next flush.
func (s *Store) Flush(ctx context.Context) error {
	s.mu.Lock()
	batch := s.pending
	s.pending = map[string]map[string]int64{}
	s.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	pipe := s.rdb.Pipeline()
	for k, fields := range batch {
		for f, n := range fields {
			pipe.HIncrBy(ctx, k, f, n)
		}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		// HINCRBY is not idempotent: a batch that failed part-way may be
		// counted partly twice. Counts for a chart; better than losing them.
		for k, fields := range batch {
			for f, n := range fields {
				s.add(k, f, n)
			}
		}
		return fmt.Errorf("funnel: save counts: %w", err)
	}
	return nil
}

// foldScript moves the balance of the hours before ARGV[1] into
// expired:{step} (never below zero: forms begun before this was counted
// leave without having arrived) and deletes those hours.
var foldScript = redis.NewScript(`
local all = redis.call('HGETALL', KEYS[1])
local cutoff = tonumber(ARGV[1])
local net, dead = {}, {}
for i = 1, #all, 2 do
  local kind, step, h = string.match(all[i], '^(%a+):(.+):(%d+)$')
  if (kind == 'in' or kind == 'out') and tonumber(h) < cutoff then
    local v = tonumber(all[i+1])
    if kind == 'out' then v = -v end
    net[step] = (net[step] or 0) + v
    dead[#dead+1] = all[i]
  end
end
for step, n in pairs(net) do
  if n > 0 then redis.call('HINCRBY', KEYS[1], 'expired:' .. step, n) end
end
for i = 1, #dead, 500 do
  redis.call('HDEL', KEYS[1], unpack(dead, i, math.min(i + 499, #dead)))
end
return #dead
`)

// StepCounts is one step of a flow in one language.
type StepCounts struct {
	Reached   int64 // forms that got to the step
	Cancelled int64 // cancelled there
	Deleted   int64 // the member deleted their data there
	Expired   int64 // left there past the form TTL
	Open      int64 // there now, within the form TTL
}

// Stopped is how many forms ended at the step without a sign-up.
func (c StepCounts) Stopped() int64 { return c.Cancelled + c.Deleted + c.Expired }

// FlowCounts is one flow in one language.
type FlowCounts struct {
	Steps     map[string]StepCounts
	Completed int64
}

// Flow reads a flow's counts per language, first folding hours whose
// forms have all expired.
func (s *Store) Flow(ctx context.Context, flow string, langs []string) (map[string]FlowCounts, error) {
	cutoff := s.now().Add(-s.ttl-foldMargin).Unix() / 3600
	pipe := s.rdb.Pipeline()
	gets := make([]*redis.MapStringStringCmd, len(langs))
	for i, l := range langs {
		foldScript.Eval(ctx, pipe, []string{s.flowKey(flow, l)}, cutoff) // EVAL: a pipeline cannot retry a NOSCRIPT
		gets[i] = pipe.HGetAll(ctx, s.flowKey(flow, l))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("funnel: read %s: %w", flow, err)
	}
	out := map[string]FlowCounts{}
	for i, l := range langs {
		fc := FlowCounts{Steps: map[string]StepCounts{}}
		open := map[string]int64{}
		for f, v := range gets[i].Val() {
			n, _ := strconv.ParseInt(v, 10, 64)
			kind, rest, _ := strings.Cut(f, ":")
			switch kind {
			case "completed":
				fc.Completed = n
			case "reached", "expired":
				c := fc.Steps[rest]
				if kind == "reached" {
					c.Reached = n
				} else {
					c.Expired = n
				}
				fc.Steps[rest] = c
			case "ended":
				step, end := cutLast(rest)
				c := fc.Steps[step]
				switch bot.FormEnd(end) {
				case bot.FormCancelled:
					c.Cancelled += n
				case bot.FormDeleted:
					c.Deleted += n
				}
				fc.Steps[step] = c
			case "in", "out":
				step, _ := cutLast(rest)
				if kind == "out" {
					n = -n
				}
				open[step] += n
			}
		}
		for step, n := range open {
			c := fc.Steps[step]
			c.Open = max(n, 0)
			fc.Steps[step] = c
		}
		out[l] = fc
	}
	return out, nil
}

func cutLast(s string) (string, string) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return s, ""
	}
	return s[:i], s[i+1:]
}

// FAQCounts is what members asked the FAQ in one language.
type FAQCounts struct {
	Topics               map[string]int64 // answered typed questions per FAQ entry
	Answered, DidYouMean int64
	Unmatched            int64
	Helpful, NotHelpful  int64
}

// Questions reads the FAQ counts per language.
func (s *Store) Questions(ctx context.Context, langs []string) (map[string]FAQCounts, error) {
	pipe := s.rdb.Pipeline()
	gets := make([]*redis.MapStringStringCmd, len(langs))
	for i, l := range langs {
		gets[i] = pipe.HGetAll(ctx, s.faqKey(l))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("funnel: read faq counts: %w", err)
	}
	out := map[string]FAQCounts{}
	for i, l := range langs {
		c := FAQCounts{Topics: map[string]int64{}}
		for f, v := range gets[i].Val() {
			n, _ := strconv.ParseInt(v, 10, 64)
			kind, rest, _ := strings.Cut(f, ":")
			switch {
			case kind == "topic":
				c.Topics[rest] = n
			case f == "outcome:"+string(bot.FAQAnswered):
				c.Answered = n
			case f == "outcome:"+string(bot.FAQDidYouMean):
				c.DidYouMean = n
			case f == "outcome:"+string(bot.FAQUnmatched):
				c.Unmatched = n
			case f == "helpful:yes":
				c.Helpful = n
			case f == "helpful:no":
				c.NotHelpful = n
			}
		}
		out[l] = c
	}
	return out, nil
}
