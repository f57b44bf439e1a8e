package broadcast

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"

	"bridgebot/bot/audit"
	"bridgebot/bot/telegram/tghtml"
	"bridgebot/locales"
)

// Job statuses.
const (
	StatusScheduled = "scheduled" // waiting for At
	StatusRunning   = "running"
	StatusPaused    = "paused"
	StatusCancelled = "cancelled" // final: nothing more is sent
	StatusDone      = "done"      // final: every member processed
)

// Job is one broadcast: what to send, to whom, when, and how it went.
type Job struct {
	ID        string
	CreatedBy string // "cli:alice", "slack:U123"...
	Created   time.Time
	// Texts are the versions by language ("en", "es") in Telegram HTML.
	Texts map[string]string
	// ButtonLabel per language and ButtonURL make an optional link button;
	// a language without its own label uses the other one's.
	ButtonLabel map[string]string
	ButtonURL   string
	Audience    Audience
	At          time.Time // zero = now
	// Fallback: a member whose language version is missing gets the other
	// one (otherwise they are skipped).
	Fallback bool
	Paid     bool // a paid broadcast (if the worker allows it)
	Status   string
	Counts   Counts
	Started  time.Time // when it first ran (zero while scheduled)
	Finished time.Time // when it was done or cancelled
	// PreviewRef is opaque to this package (the Slack preview message).
	PreviewRef string
}

// Counts of a job. Done() of them have been processed.
type Counts struct {
	Total   int64 // audience size (see the package documentation)
	Sent    int64
	Blocked int64 // the member blocked the bot: unsubscribed
	Failed  int64 // chat not found, rejected, or transient errors exhausted
	Skipped int64 // no version in the member's language and no Fallback
}

// Done is the number of members processed.
func (c Counts) Done() int64 { return c.Sent + c.Blocked + c.Failed + c.Skipped }

// Final reports whether the status is done or cancelled.
func (j Job) Final() bool { return j.Status == StatusDone || j.Status == StatusCancelled }

// ValidationError lists every problem of a job, each a full sentence.
type ValidationError struct {
	Problems []string
}

func (e *ValidationError) Error() string {
	return "invalid broadcast: " + strings.Join(e.Problems, "; ")
}

// maxButtonLabel bounds a button label; longer ones do not fit a phone.
const maxButtonLabel = 64

// Validate checks a job before anything is stored or sent: the texts (see
// tghtml.Validate), the button, the audience. It returns a *ValidationError
// listing every problem.
func (j Job) Validate(c Choices) error {
	var ps []string
	langs := j.langs()
	for l := range j.Texts {
		if !slices.Contains(locales.Languages, l) {
			ps = append(ps, fmt.Sprintf("text in unknown language %q (want en or es)", l))
		}
	}
	if len(langs) == 0 {
		ps = append(ps, "no text: give an English or a Spanish version (or both)")
	}
	for _, l := range langs {
		if err := tghtml.Validate(j.Texts[l]); err != nil {
			ps = append(ps, fmt.Sprintf("%s text: %v", c.LangName(l), err))
		}
	}
	hasLabel := false
	for l, label := range j.ButtonLabel {
		if strings.TrimSpace(label) == "" {
			continue
		}
		hasLabel = true
		if !slices.Contains(locales.Languages, l) {
			ps = append(ps, fmt.Sprintf("button label in unknown language %q (want en or es)", l))
		}
		if n := utf8.RuneCountInString(label); n > maxButtonLabel {
			ps = append(ps, fmt.Sprintf("%s button label is %d characters long; at most %d fit", c.LangName(l), n, maxButtonLabel))
		}
	}
	switch {
	case j.ButtonURL != "" && !hasLabel:
		ps = append(ps, "the button needs a label (English or Spanish)")
	case j.ButtonURL == "" && hasLabel:
		ps = append(ps, "the button needs a URL")
	case j.ButtonURL != "":
		if err := tghtml.CheckURL(j.ButtonURL); err != nil {
			ps = append(ps, "button: "+err.Error())
		}
	}
	if err := j.Audience.Validate(c); err != nil {
		ps = append(ps, err.Error())
	}
	if len(ps) > 0 {
		return &ValidationError{Problems: ps}
	}
	return nil
}

// langs are the languages with a non-blank text, in locales.Languages order.
func (j Job) langs() []string {
	var out []string
	for _, l := range locales.Languages {
		if strings.TrimSpace(j.Texts[l]) != "" {
			out = append(out, l)
		}
	}
	return out
}

// VersionFor is the language version a member of that language gets: their
// own, else (with Fallback) the other one, else "" (skipped).
func (j Job) VersionFor(memberLang string) string {
	if strings.TrimSpace(j.Texts[memberLang]) != "" {
		return memberLang
	}
	if j.Fallback {
		if ls := j.langs(); len(ls) > 0 {
			return ls[0]
		}
	}
	return ""
}

// Announcement is the message of one language version.
func (j Job) Announcement(lang string, allowPaid bool) Announcement {
	a := Announcement{HTML: j.Texts[lang], Paid: j.Paid && allowPaid}
	if j.ButtonURL != "" {
		a.ButtonURL = j.ButtonURL
		a.ButtonLabel = strings.TrimSpace(j.ButtonLabel[lang])
		for _, l := range locales.Languages {
			if a.ButtonLabel == "" {
				a.ButtonLabel = strings.TrimSpace(j.ButtonLabel[l])
			}
		}
	}
	return a
}

// normalized drops blank texts and labels.
func (j Job) normalized() Job {
	texts := map[string]string{}
	for l, t := range j.Texts {
		if strings.TrimSpace(t) != "" {
			texts[l] = t
		}
	}
	labels := map[string]string{}
	for l, t := range j.ButtonLabel {
		if strings.TrimSpace(t) != "" {
			labels[l] = strings.TrimSpace(t)
		}
	}
	j.Texts, j.ButtonLabel = texts, labels
	j.ButtonURL = strings.TrimSpace(j.ButtonURL)
	return j
}

// Jobs keeps broadcast jobs: what to send to which audience, their status
// and counts. It reads the audience from the Subscribers it is given, and
// records every broadcast in the audit log.
type Jobs struct {
	rdb   redis.UniversalClient
	opts  Options
	k     keys
	subs  *Subscribers
	audit *audit.Log
}

func newJobs(client redis.UniversalClient, opts Options, subs *Subscribers) *Jobs {
	return &Jobs{rdb: client, opts: opts, k: keys{opts.Prefix}, subs: subs, audit: audit.New(client, opts.Prefix)}
}

// Choices are what an audience may select (Options.Choices).
func (s *Jobs) Choices() Choices { return s.opts.Choices }

// Create validates the job, counts its audience and stores it for the
// workers: running at once, or scheduled when At is in the future. ID,
// Created, Status, Started and Counts.Total are set by Create.
func (s *Jobs) Create(ctx context.Context, j Job) (Job, error) {
	j = j.normalized()
	if err := j.Validate(s.opts.Choices); err != nil {
		return Job{}, err
	}
	if j.CreatedBy == "" {
		j.CreatedBy = "unknown"
	}
	counts, err := s.subs.Count(ctx, j.Audience)
	if err != nil {
		return Job{}, err
	}
	now, err := serverTime(ctx, s.rdb)
	if err != nil {
		return Job{}, err
	}
	j.ID = newID(now)
	j.Created = now.Truncate(time.Millisecond)
	j.Counts = Counts{}
	for _, c := range counts {
		j.Counts.Total += int64(c)
	}
	j.Status, j.Started, j.Finished = StatusRunning, j.Created, time.Time{}
	start := j.Created
	if j.At.After(now) {
		j.Status, j.Started, start = StatusScheduled, time.Time{}, j.At
	}
	texts, _ := json.Marshal(j.Texts)
	labels, _ := json.Marshal(j.ButtonLabel)
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, s.k.job(j.ID),
			"created_by", j.CreatedBy, "created", ms(j.Created),
			"texts", string(texts), "button_label", string(labels), "button_url", j.ButtonURL,
			"audience", j.Audience.String(), "at", ms(j.At),
			"fallback", flag(j.Fallback), "paid", flag(j.Paid),
			"status", j.Status, "started", ms(j.Started), "finished", 0,
			"total", j.Counts.Total, "sent", 0, "blocked", 0, "failed", 0, "skipped", 0,
			"preview_ref", j.PreviewRef)
		p.ZAdd(ctx, s.k.jobs(), redis.Z{Score: float64(ms(j.Created)), Member: j.ID})
		p.ZAdd(ctx, s.k.active(), redis.Z{Score: float64(ms(start)), Member: j.ID})
		s.audit.Add(ctx, p, audit.Entry{At: j.Created, Action: audit.ActionBroadcast, Actor: j.CreatedBy, Count: j.Counts.Total,
			Detail: "job " + j.ID + ", audience " + j.Audience.String()})
		return nil
	})
	if err != nil {
		return Job{}, fmt.Errorf("broadcast: create: %w", err)
	}
	return j, nil
}

func flag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// Get returns a job, or ErrNotFound.
func (s *Jobs) Get(ctx context.Context, id string) (Job, error) {
	id = normID(id)
	m, err := s.rdb.HGetAll(ctx, s.k.job(id)).Result()
	if err != nil {
		return Job{}, fmt.Errorf("broadcast: get %s: %w", id, err)
	}
	if len(m) == 0 {
		return Job{}, fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	return decodeJob(id, m)
}

func decodeJob(id string, m map[string]string) (Job, error) {
	j := Job{
		ID: id, CreatedBy: m["created_by"], Created: fromMS(m["created"]),
		ButtonURL: m["button_url"], At: fromMS(m["at"]),
		Fallback: m["fallback"] == "1", Paid: m["paid"] == "1", Status: m["status"],
		Started: fromMS(m["started"]), Finished: fromMS(m["finished"]), PreviewRef: m["preview_ref"],
	}
	num := func(k string) int64 { n, _ := strconv.ParseInt(m[k], 10, 64); return n }
	j.Counts = Counts{Total: num("total"), Sent: num("sent"), Blocked: num("blocked"), Failed: num("failed"), Skipped: num("skipped")}
	if err := json.Unmarshal([]byte(m["texts"]), &j.Texts); err != nil {
		return Job{}, fmt.Errorf("broadcast: job %s: corrupt texts: %w", id, err)
	}
	if v := m["button_label"]; v != "" {
		if err := json.Unmarshal([]byte(v), &j.ButtonLabel); err != nil {
			return Job{}, fmt.Errorf("broadcast: job %s: corrupt button labels: %w", id, err)
		}
	}
	a, err := parseAudience(m["audience"], nil)
	if err != nil {
		return Job{}, fmt.Errorf("broadcast: job %s: %w", id, err)
	}
	j.Audience = a
	return j, nil
}

// List returns up to limit jobs, newest first.
func (s *Jobs) List(ctx context.Context, limit int) ([]Job, error) {
	if limit <= 0 {
		limit = 20
	}
	ids, err := s.rdb.ZRevRange(ctx, s.k.jobs(), 0, int64(limit-1)).Result()
	if err != nil {
		return nil, fmt.Errorf("broadcast: list: %w", err)
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.MapStringStringCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.HGetAll(ctx, s.k.job(id))
	}
	if len(ids) > 0 {
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, fmt.Errorf("broadcast: list: %w", err)
		}
	}
	jobs := make([]Job, 0, len(ids))
	for i, id := range ids {
		if len(cmds[i].Val()) == 0 {
			continue
		}
		j, err := decodeJob(id, cmds[i].Val())
		if err != nil {
			return nil, err
		}
		jobs = append(jobs, j)
	}
	return jobs, nil
}

// transitionScript changes a job's status.
//
//	KEYS[1] job, [2] active, [3] leases, [4] owners, [5] done, [6] bounds
//	ARGV[1] action: pause, resume, cancel; ARGV[2] job ID
//
// It returns {"ok", new status} or {"no", current status} ("missing" when
// there is no such job).
var transitionScript = redis.NewScript(`
local st = redis.call('HGET', KEYS[1], 'status')
if not st then return {'no', 'missing'} end
local act = ARGV[1]
if act == 'pause' and (st == 'running' or st == 'scheduled') then
	redis.call('HSET', KEYS[1], 'status', 'paused')
	return {'ok', 'paused'}
elseif act == 'resume' and st == 'paused' then
	local new = 'scheduled'
	local started = redis.call('HGET', KEYS[1], 'started')
	if started and started ~= '' and started ~= '0' then new = 'running' end
	redis.call('HSET', KEYS[1], 'status', new)
	return {'ok', new}
elseif act == 'cancel' and (st == 'running' or st == 'scheduled' or st == 'paused') then
	local t = redis.call('TIME')
	redis.call('HSET', KEYS[1], 'status', 'cancelled', 'finished', t[1] * 1000 + math.floor(t[2] / 1000))
	redis.call('ZREM', KEYS[2], ARGV[2])
	redis.call('HDEL', KEYS[1], 'cursor')
	redis.call('DEL', KEYS[3], KEYS[4], KEYS[5], KEYS[6])
	return {'ok', 'cancelled'}
end
return {'no', st}
`)

func (s *Jobs) transition(ctx context.Context, id, action string) error {
	id = normID(id)
	res, err := transitionScript.Run(ctx, s.rdb,
		[]string{s.k.job(id), s.k.active(), s.k.leases(id), s.k.owners(id), s.k.done(id), s.k.bounds(id)}, action, id).StringSlice()
	if err != nil {
		return fmt.Errorf("broadcast: %s %s: %w", action, id, err)
	}
	if len(res) != 2 {
		return fmt.Errorf("broadcast: %s %s: unexpected reply %q", action, id, res)
	}
	switch {
	case res[0] == "ok":
		return nil
	case res[1] == "missing":
		return fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	return fmt.Errorf("%w: broadcast %s is %s, it cannot be %s", ErrState, id, res[1], pastTense[action])
}

var pastTense = map[string]string{"pause": "paused", "resume": "resumed", "cancel": "cancelled"}

// Pause stops a scheduled or running job after the messages in flight;
// Resume continues it where it stopped.
func (s *Jobs) Pause(ctx context.Context, id string) error { return s.transition(ctx, id, "pause") }

// Resume continues a paused job (or puts it back on schedule if it never
// started).
func (s *Jobs) Resume(ctx context.Context, id string) error { return s.transition(ctx, id, "resume") }

// Cancel ends a job for good: workers notice at their next message and
// send nothing more (messages already in flight, at most Concurrency per
// worker, still land). The job and its counts are kept.
func (s *Jobs) Cancel(ctx context.Context, id string) error { return s.transition(ctx, id, "cancel") }

// SetPreviewRef stores an opaque reference with the job (the lead's Slack
// preview message).
func (s *Jobs) SetPreviewRef(ctx context.Context, id, ref string) error {
	id = normID(id)
	n, err := setIfExistsScript.Run(ctx, s.rdb, []string{s.k.job(id)}, "preview_ref", ref).Int()
	if err != nil {
		return fmt.Errorf("broadcast: set preview ref %s: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	return nil
}

var setIfExistsScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
`)

// IsNotFound reports whether err is ErrNotFound.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
