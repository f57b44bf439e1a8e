package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"bridgebot/flows"
	"bridgebot/flows/faq"
	"bridgebot/locales"
)

// DefaultFormTTL is how long an unfinished form is kept: long enough to come
// back after a few days, short enough that abandoned personal data does not
// linger.
const DefaultFormTTL = 14 * 24 * time.Hour

// maxAttempts bounds retries when two updates for one chat race across bot
// replicas (optimistic concurrency on the session).
const maxAttempts = 5

// Config is what the Engine needs.
type Config struct {
	Store   Store
	Sender  Sender
	Flows   map[string]*flows.Flow
	Locales *locales.Catalog
	Logger  *slog.Logger
	// FormTTL expires unfinished forms (DefaultFormTTL when zero).
	FormTTL time.Duration
	// BotUsername is used to point group members to a private chat.
	BotUsername string
	Now         func() time.Time

	// Optional features; the menu offers only those configured.
	FAQ           *faq.FAQ
	Desk          Desk
	Subscriptions Subscriptions
	Notifier      SignupNotifier
	// Contact is how members reach the organizers when the bot cannot
	// answer and there is no staff desk (an email, a phone, a link), as
	// plain text. Empty: the bot points to the questions it can answer.
	Contact string
	// Erasers also run on /delete (see Eraser).
	Erasers []Eraser
	// Observer, when set, is told about the form funnel, the FAQ and
	// questions (metrics).
	Observer Observer
	// Wiper, when set, offers /wipe (see Wiper).
	Wiper Wiper
	// MemberRateLimit is how many messages a member may send per minute
	// before the rest of the minute is dropped (DefaultMemberRateLimit
	// when zero; negative: no limit).
	MemberRateLimit int
}

// Engine turns updates into responses. It is safe for concurrent use; the
// caller keeps updates of one chat in order (see Dispatcher).
type Engine struct {
	store   Store
	sender  Sender
	signup  *flows.Flow
	flows   map[string]*flows.Flow
	cat     *locales.Catalog
	log     *slog.Logger
	formTTL time.Duration
	botName string
	now     func() time.Time
	contact string
	rate    int64 // MemberRateLimit; ≤ 0 none
	turns   TurnLog
	crash   func(point string) bool // tests: stop the turn here, as a crash would
	busy    sync.Map                // chat IDs being handled by this process
	held    sync.Map                // chat ID → time its flood control ends
	langs   langMemo                // recent chats' languages, for apologies

	recoverEvery, recoverAge time.Duration
	obs                      Observer

	// features registered by NewEngine; below, what the turn asks of the
	// optional ones: the feature when configured, else its stand-in for a
	// bot without it (noFAQ, noDesk, noSubs), so the turn never checks.
	reg  registry
	faq  faqAnswerer
	desk staffDesk
	subs subsState
}

// NewEngine checks the configuration and returns an Engine.
func NewEngine(c Config) (*Engine, error) {
	if c.Store == nil || c.Sender == nil || c.Locales == nil {
		return nil, errors.New("bot: engine needs a store, a sender and locales")
	}
	signup := c.Flows[flows.SignupFlow]
	if signup == nil {
		return nil, fmt.Errorf("bot: %w: %q", flows.ErrNoFlow, flows.SignupFlow)
	}
	e := &Engine{
		store: c.Store, sender: c.Sender, signup: signup, flows: c.Flows, cat: c.Locales,
		log: c.Logger, formTTL: c.FormTTL, botName: c.BotUsername, now: c.Now,
		contact: strings.TrimSpace(c.Contact), turns: c.Store, obs: c.Observer, rate: int64(c.MemberRateLimit),
		recoverEvery: recoverEvery, recoverAge: recoverAge,
		reg: registry{byCommand: map[string]command{}, byNS: map[string]buttonHandler{},
			byAction: map[string]func(*turn){}, effects: map[EffectKind]effectRunner{}},
		faq: noFAQ{}, desk: noDesk{}, subs: noSubs{},
	}
	features := []feature{conversation{}, formFeature{}}
	if c.FAQ != nil {
		f := &faqFeature{f: c.FAQ, m: faq.NewMatcher(c.FAQ)}
		e.faq, features = f, append(features, f)
	}
	if c.Desk != nil {
		f := &deskFeature{d: c.Desk}
		e.desk, features = f, append(features, f)
	}
	if c.Subscriptions != nil {
		f := &subsFeature{s: c.Subscriptions}
		e.subs, features = f, append(features, f)
	}
	if c.Notifier != nil {
		features = append(features, notifyFeature{n: c.Notifier})
	}
	if c.Wiper != nil {
		features = append(features, wipeFeature{w: c.Wiper})
	}
	if len(c.Erasers) > 0 {
		features = append(features, erasers(c.Erasers))
	}
	for _, f := range features {
		if err := e.reg.add(f); err != nil {
			return nil, err
		}
	}
	slices.SortStableFunc(e.reg.commands, func(a, b command) int { return a.rank - b.rank })
	if e.obs == nil {
		e.obs = noObserver{}
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.formTTL <= 0 {
		e.formTTL = DefaultFormTTL
	}
	if e.rate == 0 {
		e.rate = DefaultMemberRateLimit
	}
	if e.now == nil {
		e.now = time.Now
	}
	return e, nil
}

// Handle processes one update: load the session, decide, save, send. A
// member always hears back: if Redis is down they are told their answers
// are safe and to try again; nothing is half-saved.
func (e *Engine) Handle(ctx context.Context, u Update) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("bot: panic handling update %d: %v\n%s", u.ID, r, debug.Stack())
			e.apologize(ctx, u, "error.internal")
		}
	}()
	if u.ChatType != "" && u.ChatType != ChatPrivate {
		return e.sendIfAny(ctx, e.group(u))
	}
	if u.Blocked != nil {
		// The member blocked or unblocked the bot; there is nobody to
		// answer. Blocking stops announcements at once.
		e.log.Debug("member status changed", slog.Int64("chat", u.ChatID), slog.Bool("blocked", *u.Blocked))
		if *u.Blocked {
			if err := e.subs.blocked(ctx, u.ChatID); err != nil {
				return fmt.Errorf("bot: unsubscribe blocked chat %d: %w", u.ChatID, err)
			}
		}
		return nil
	}
	e.busy.Store(u.ChatID, struct{}{})
	defer e.busy.Delete(u.ChatID)
	for attempt := range maxAttempts {
		lctx := ctx
		if attempt == 0 && u.Callback == nil && e.rate > 0 {
			lctx = CountRate(ctx, e.rate) // flood control counts messages, once
		}
		m, err := e.store.Load(lctx, u.ChatID)
		if err != nil {
			e.apologize(ctx, u, "error.unavailable")
			return fmt.Errorf("bot: load chat %d: %w", u.ChatID, err)
		}
		// counted by this Load, or by a refused save of a cached session
		if m.Recent > 0 && e.flooding(ctx, u, m) {
			return nil
		}
		waiting := e.isHeld(u.ChatID)
		if len(m.Pending) > 0 && !waiting {
			// An earlier turn was saved but not delivered (a crash, or the
			// platform down): deliver it first, so replies keep their order.
			if err := e.recoverChat(ctx, u.ChatID); err != nil {
				if errors.Is(err, errCrashed) {
					return err
				}
				waiting = errors.Is(err, errDeferred)
				e.log.Warn("earlier turns not delivered yet", slog.Int64("chat", u.ChatID), slog.Any("err", err))
			}
		}
		s := m.Session
		// Telegram may restart update IDs after a week without updates, so
		// only a recent, older-or-equal ID is a redelivery (unconfirmed
		// updates are kept for 24 hours). Its outputs were recorded with
		// it: delivered above if they had not been.
		if u.ID != 0 && u.ID <= s.LastUpdate && e.now().Sub(s.Updated) < 24*time.Hour {
			if m.Cached {
				continue // read what is recorded (a redelivery delivers its outputs)
			}
			e.log.Debug("duplicate update", slog.Int64("chat", u.ChatID), slog.Int64("update", u.ID))
			if u.Callback != nil {
				return e.sender.Send(ctx, Response{ChatID: u.ChatID, CallbackID: u.Callback.ID})
			}
			return nil
		}
		t := e.newTurn(ctx, s, m.Signup, u)
		t.run()
		if u.ID != 0 {
			s.LastUpdate = u.ID
		}
		s.Updated = e.now()
		t.change.Turn = t.record()
		err = e.store.Save(ctx, s, t.change)
		if errors.Is(err, ErrConflict) {
			continue
		}
		if err != nil {
			e.apologize(ctx, u, "error.unavailable")
			return fmt.Errorf("bot: save chat %d: %w", u.ChatID, err)
		}
		if t.change.Forget {
			e.langs.forget(u.ChatID)
		} else {
			e.langs.put(u.ChatID, s.Lang)
		}
		t.seen.report(e.obs)
		t.observeForm()
		if e.crashed("after-save") {
			return errCrashed
		}
		if waiting {
			// after the earlier replies, once flood control lets them go
			// (Recover); recorded, so nothing is lost meanwhile
			return nil
		}
		if err := e.deliver(ctx, u.ChatID, t.change.Turn, true); !errors.Is(err, errDeferred) {
			return err
		}
		return nil
	}
	e.apologize(ctx, u, "error.internal")
	return fmt.Errorf("bot: chat %d: %w after %d attempts", u.ChatID, ErrConflict, maxAttempts)
}

func (e *Engine) sendIfAny(ctx context.Context, r Response) error {
	if len(r.Messages) == 0 && r.CallbackID == "" && r.ClearButtons == 0 && r.CommandsLang == "" {
		return nil
	}
	if err := e.sender.Send(ctx, r); err != nil {
		return fmt.Errorf("bot: send to chat %d: %w", r.ChatID, err)
	}
	return nil
}

// apologize tells the member that something failed and their answers are
// safe, in the language of their session when this process handled the
// chat lately (the session itself may be out of reach), else the one their
// app reports. Best effort: if even this fails there is nothing more to do
// than the caller's log line.
func (e *Engine) apologize(ctx context.Context, u Update, id string) {
	lang, ok := e.langs.get(u.ChatID)
	if !ok {
		lang = locales.Match(u.From.LanguageCode)
	}
	tr := e.cat.For(lang)
	r := Response{ChatID: u.ChatID, Messages: []Message{{Text: tr.T(id, nil)}}}
	if u.Callback != nil {
		r.CallbackID = u.Callback.ID
	}
	if err := e.sender.Send(ctx, r); err != nil {
		e.log.Warn("could not tell member about a failure", slog.Int64("chat", u.ChatID), slog.Any("err", err))
	}
}

// group answers /start in a group with a pointer to a private chat and
// ignores everything else: members' answers are never given in public.
func (e *Engine) group(u Update) Response {
	if u.Callback != nil {
		return Response{ChatID: u.ChatID, CallbackID: u.Callback.ID} // stop the spinner
	}
	if u.Command != "start" {
		return Response{}
	}
	tr := e.cat.For(locales.Match(u.From.LanguageCode))
	link := "https://t.me/" + e.botName
	return Response{ChatID: u.ChatID, Messages: []Message{{Text: tr.T("group.private", map[string]any{"Link": link})}}}
}

// turn is the handling of one update against one loaded session.
type turn struct {
	ctx    context.Context // for reads while deciding; writes go in effects
	e      *Engine
	s      *Session
	signup *Signup
	u      Update
	tr     *locales.Localizer
	resp   Response
	change Change
	isNew  bool

	// hadSignup and formBefore are the turn's start, for observeForm.
	hadSignup  bool
	formBefore *formPlace

	effects    []Effect
	subscribed *bool    // known subscription state, to avoid a second read
	seen       observed // for the Observer, once saved
}

func (e *Engine) newTurn(ctx context.Context, s *Session, signup *Signup, u Update) *turn {
	t := &turn{ctx: ctx, e: e, s: s, signup: signup, u: u, resp: Response{ChatID: u.ChatID}}
	t.isNew = s.Version == 0 && signup == nil
	if !locales.Supported(s.Lang) {
		// No session (a new member, or one silent longer than FORM_TTL):
		// the language they chose lives on in their sign-up or their
		// subscription; else their app's.
		s.Lang = locales.Match(u.From.LanguageCode)
		if signup != nil && locales.Supported(signup.Lang) {
			s.Lang = signup.Lang
		} else if sub := e.subs.lang(t); locales.Supported(sub) {
			s.Lang = sub
		}
	}
	s.ChatID = u.ChatID
	t.tr = e.cat.For(s.Lang)
	t.hadSignup = signup != nil
	t.formBefore = t.placeOfForm()
	return t
}

func (t *turn) say(id string, data map[string]any) {
	t.resp.Messages = append(t.resp.Messages, Message{Text: t.tr.T(id, data)})
}

// later queues a side effect to run once the session is saved.
func (t *turn) later(ef Effect) {
	ef.ChatID = t.u.ChatID
	t.effects = append(t.effects, ef)
}

func (t *turn) run() {
	if t.u.Callback != nil {
		t.resp.CallbackID = t.u.Callback.ID
	}
	if t.s.Form != nil && t.e.now().Sub(t.s.FormUpdated) > t.e.formTTL {
		t.s.Form, t.s.Pending = nil, pendingNone
		expired := "form.expired"
		if t.signup != nil {
			expired = "form.expired_edit" // only the unfinished changes went
		}
		t.say(expired, map[string]any{"Days": int(t.e.formTTL.Hours() / 24)})
	}
	switch {
	case t.u.Callback != nil:
		t.callback(t.u.Callback)
	case t.u.Edited:
		t.edited(t.u.Text)
	case t.u.Command != "":
		t.command(t.u.Command, t.u.Args)
	case t.u.Attachment != nil:
		t.attachment(t.u.Attachment, t.u.Text)
	default:
		t.text(t.u.Text)
	}
}

// Command is one entry of a chat's command menu.
type Command struct {
	Name        string
	Description string
}

// Commands returns the command menu in one language, for setMyCommands:
// the commands of the features that run, in a fixed order.
func (e *Engine) Commands(lang string) []Command {
	tr := e.cat.For(lang)
	out := make([]Command, len(e.reg.commands))
	for i, c := range e.reg.commands {
		name := c.en
		if lang == "es" {
			name = c.es
		}
		out[i] = Command{Name: name, Description: tr.T(c.desc, nil)}
	}
	return out
}

func (t *turn) command(name, args string) {
	t.s.Pending, t.s.Question = pendingNone, ""
	c, ok := t.e.reg.byCommand[name]
	if !ok {
		t.unknownCommand()
		return
	}
	c.run(t, args)
}

func (t *turn) unknownCommand() {
	t.say("input.unknown_command", nil)
	if t.s.Form != nil {
		t.showStep()
		return
	}
	t.menu(t.helpText())
}

// helpText lists the commands of the features that run.
func (t *turn) helpText() string {
	lines := []string{t.tr.T("help.intro", nil)}
	for _, c := range t.e.Commands(t.s.Lang) {
		if c.Name == "start" || c.Name == "menu" {
			continue
		}
		lines = append(lines, "/"+c.Name+" — "+c.Description)
	}
	return strings.Join(lines, "\n")
}

// menu shows the main menu, after an optional lead text in the same
// message. Only features that run contribute buttons: never a dead button.
func (t *turn) menu(lead string) {
	text := t.tr.T("menu.prompt", nil)
	if lead != "" {
		text = lead + "\n\n" + text
	}
	t.resp.Messages = append(t.resp.Messages, Message{Text: text, Buttons: t.menuRows(true)})
}

// menuRows are the menu's buttons; the sign-up button is left out where
// the sign-up is already shown. The language row is for newcomers (and
// /language): members who chose do not need it on every menu.
func (t *turn) menuRows(withSignup bool) [][]Button {
	var rows [][]Button
	if withSignup {
		signup := "menu.signup"
		if t.signup != nil {
			signup = "menu.mysignup"
		}
		rows = append(rows, []Button{{Text: t.tr.T(signup, nil), Data: data(nsMenu, menuSignup)}})
	}
	var help []Button
	var more [][]Button
	for _, f := range t.e.reg.features {
		if m, ok := f.(menuContributor); ok {
			h, r := m.menuButtons(t)
			help = append(help, h...)
			more = append(more, r...)
		}
	}
	if len(help) > 0 {
		rows = append(rows, help)
	}
	rows = append(rows, more...)
	if t.isNew {
		rows = append(rows, t.languageRow())
	}
	return rows
}

func (t *turn) languageRow() []Button {
	return []Button{
		{Text: t.tr.T("lang.button.es", nil), Data: data(nsLang, "es")},
		{Text: t.tr.T("lang.button.en", nil), Data: data(nsLang, "en")},
	}
}

// callback routes a button press to the feature owning its namespace.
func (t *turn) callback(cb *Callback) {
	d := parseCallback(cb.Data)
	if !keepsPending(d.ns) {
		// Any other button means the member moved on from a pending
		// question ("write your question", "cancel?").
		t.s.Pending = pendingNone
	}
	h, ok := t.e.reg.byNS[d.ns]
	if !ok {
		t.stale()
		return
	}
	h.button(t, d, cb.MessageID)
}

// keepsPending: buttons that answer the pending question itself.
func keepsPending(ns string) bool {
	return ns == nsCancel || ns == nsDelete || ns == nsAsk || ns == nsAnswerOr
}

// stale answers a button from an old message, or forged data.
func (t *turn) stale() {
	t.e.log.Debug("stale or unknown button", slog.Int64("chat", t.u.ChatID), slog.Int("len", len(t.u.Callback.Data)))
	t.resp.Notice = t.tr.T("notice.stale", nil)
}

func (t *turn) resumeOrMenu() {
	if t.s.Form != nil {
		t.showStep()
		return
	}
	t.menu("")
}

// MessageIDs lists every message bot's Go code uses, for completeness
// checks; flows, flows/faq and bot/slack list their own (UIMessageIDs).
func MessageIDs() []string {
	return []string{
		"welcome.new", "welcome.back", "menu.prompt", "menu.signup", "menu.mysignup",
		"lang.choose", "lang.button.en", "lang.button.es", "lang.changed",
		"cmd.start", "cmd.menu", "cmd.signup", "cmd.language", "cmd.cancel", "cmd.delete", "cmd.help",
		"cmd.faq", "cmd.ask", "cmd.subscribe", "cmd.stop", "help.intro", "menu.back",
		"menu.faq", "menu.ask", "menu.subscribe", "menu.unsubscribe", "sub.on", "sub.off",
		"ask.prompt", "ask.sent", "ask.offer", "ask.send", "ask.nothanks", "ask.cancel", "ask.failed", "ask.none_of_these",
		"faq.open", "faq.feedback.sorry", "faq.feedback.no_desk", "faq.legal", "faq.all",
		"ask.added", "ask.edit_added", "contact.configured", "contact.none", "form.back", "form.answer_or_question",
		"form.button.its_answer", "form.button.its_question", "form.button.continue", "form.resume", "form.expired", "form.expired_edit", "menu.change",
		"form.help.step", "form.help.edit", "form.help.review", "cancel.confirm_edit",
		"cancel.confirm", "cancel.yes", "cancel.no", "cancel.done", "cancel.unchanged", "cancel.nothing", "cancel.kept",
		"delete.confirm", "delete.yes", "delete.no", "delete.done", "delete.kept", "delete.failed",
		"notice.stale", "error.unavailable", "error.internal",
		"input.media_in_form", "input.media", "input.edited", "input.edited_free", "input.unknown_command", "input.unknown_text",
		"group.private", "signup.intro", "signup.existing", "signup.updated",
		"flood.slow_down", "relay.clipped", "relay.file_too_big", "cmd.wipe", "wipe.done", "wipe.console", "wipe.failed",
	}
}
