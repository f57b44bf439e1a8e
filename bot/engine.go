package bot

import (
	"context"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"regexp"
	"runtime/debug"
	"strings"
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
	// Erasers also run on /delete (see Eraser).
	Erasers []Eraser
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
	faq     *faq.FAQ
	matcher *faq.Matcher
	desk    Desk
	subs    Subscriptions
	notify  SignupNotifier
	erasers []Eraser
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
		faq: c.FAQ, desk: c.Desk, subs: c.Subscriptions, notify: c.Notifier, erasers: c.Erasers,
	}
	if e.faq != nil {
		e.matcher = faq.NewMatcher(e.faq)
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.formTTL <= 0 {
		e.formTTL = DefaultFormTTL
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
		if *u.Blocked && e.subs != nil {
			if _, err := e.subs.Unsubscribe(ctx, u.ChatID, UnsubscribeBlocked); err != nil {
				return fmt.Errorf("bot: unsubscribe blocked chat %d: %w", u.ChatID, err)
			}
		}
		return nil
	}
	for range maxAttempts {
		m, err := e.store.Load(ctx, u.ChatID)
		if err != nil {
			e.apologize(ctx, u, "error.unavailable")
			return fmt.Errorf("bot: load chat %d: %w", u.ChatID, err)
		}
		s := m.Session
		// Telegram may restart update IDs after a week without updates, so
		// only a recent, older-or-equal ID is a redelivery (unconfirmed
		// updates are kept for 24 hours).
		if u.ID != 0 && u.ID <= s.LastUpdate && e.now().Sub(s.Updated) < 24*time.Hour {
			e.log.Debug("duplicate update ignored", slog.Int64("chat", u.ChatID), slog.Int64("update", u.ID))
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
		err = e.store.Save(ctx, s, t.change)
		if errors.Is(err, ErrConflict) {
			continue
		}
		if err != nil {
			e.apologize(ctx, u, "error.unavailable")
			return fmt.Errorf("bot: save chat %d: %w", u.ChatID, err)
		}
		e.runEffects(ctx, t)
		return e.sendIfAny(ctx, t.resp)
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

// apologize tells the member, in the language their app reports, that
// something failed and their answers are safe. Best effort: if even this
// fails there is nothing more to do than the caller's log line.
func (e *Engine) apologize(ctx context.Context, u Update, id string) {
	tr := e.cat.For(locales.Match(u.From.LanguageCode))
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

	effects    []effect
	subscribed *bool // known subscription state, to avoid a second read
}

func (e *Engine) newTurn(ctx context.Context, s *Session, signup *Signup, u Update) *turn {
	t := &turn{ctx: ctx, e: e, s: s, signup: signup, u: u, resp: Response{ChatID: u.ChatID}}
	t.isNew = s.Version == 0 && signup == nil
	if !locales.Supported(s.Lang) {
		s.Lang = locales.Match(u.From.LanguageCode)
		if signup != nil && locales.Supported(signup.Lang) {
			s.Lang = signup.Lang
		}
	}
	s.ChatID = u.ChatID
	t.tr = e.cat.For(s.Lang)
	return t
}

func (t *turn) say(id string, data map[string]any) {
	t.resp.Messages = append(t.resp.Messages, Message{Text: t.tr.T(id, data)})
}

func (t *turn) run() {
	if t.u.Callback != nil {
		t.resp.CallbackID = t.u.Callback.ID
	}
	if t.s.Form != nil && t.e.now().Sub(t.s.FormUpdated) > t.e.formTTL {
		t.s.Form, t.s.Pending = nil, ""
		t.say("form.expired", map[string]any{"Days": int(t.e.formTTL.Hours() / 24)})
	}
	switch {
	case t.u.Callback != nil:
		t.callback(t.u.Callback)
	case t.u.Edited:
		if t.s.Form != nil {
			t.say("input.edited", nil)
		}
	case t.u.Command != "":
		t.command(t.u.Command, t.u.Args)
	case t.u.Attachment != nil:
		t.attachment(t.u.Attachment, t.u.Text)
	default:
		t.text(t.u.Text)
	}
}

// Command names, with the Spanish aliases members will type.
var commandAliases = map[string]string{
	"start": "start", "menu": "menu", "menú": "menu",
	"help": "help", "ayuda": "help",
	"signup": "signup", "inscribirme": "signup", "inscribir": "signup", "inscripcion": "signup", "registro": "signup",
	"language": "language", "idioma": "language", "lang": "language", "lenguaje": "language",
	"cancel": "cancel", "cancelar": "cancel",
	"delete": "delete", "borrar": "delete", "forget": "delete",
	"faq": "faq", "preguntas": "faq", "questions": "faq",
	"ask": "ask", "preguntar": "ask", "team": "ask", "equipo": "ask",
	"subscribe": "subscribe", "suscribir": "subscribe", "suscribirme": "subscribe",
	"stop": "stop", "unsubscribe": "stop", "baja": "stop", "parar": "stop",
}

// Command is one entry of a chat's command menu.
type Command struct {
	Name        string
	Description string
}

// Commands returns the command menu in one language, for setMyCommands.
func (e *Engine) Commands(lang string) []Command {
	tr := e.cat.For(lang)
	type entry struct{ en, es, key string }
	list := []entry{{"start", "start", "cmd.start"}, {"menu", "menu", "cmd.menu"}, {"signup", "inscribirme", "cmd.signup"}}
	if e.faq != nil {
		list = append(list, entry{"faq", "preguntas", "cmd.faq"})
	}
	if e.desk != nil {
		list = append(list, entry{"ask", "preguntar", "cmd.ask"})
	}
	if e.subs != nil {
		list = append(list, entry{"subscribe", "suscribir", "cmd.subscribe"}, entry{"stop", "baja", "cmd.stop"})
	}
	list = append(list, entry{"language", "idioma", "cmd.language"}, entry{"cancel", "cancelar", "cmd.cancel"},
		entry{"delete", "borrar", "cmd.delete"}, entry{"help", "ayuda", "cmd.help"})
	out := make([]Command, len(list))
	for i, c := range list {
		name := c.en
		if lang == "es" {
			name = c.es
		}
		out[i] = Command{Name: name, Description: tr.T(c.key, nil)}
	}
	return out
}

func (t *turn) command(cmd, args string) {
	t.s.Pending, t.s.Question = "", ""
	switch commandAliases[cmd] {
	case "start":
		t.start(args)
	case "menu":
		if t.s.Form != nil {
			t.say("form.resume", nil)
			t.showStep()
			return
		}
		t.menu("")
	case "help":
		t.menu(t.helpText())
	case "faq":
		if t.e.faq == nil {
			t.unknownCommand()
			return
		}
		t.faqList()
	case "ask":
		if t.e.desk == nil {
			t.unknownCommand()
			return
		}
		t.askPrompt()
	case "subscribe":
		if t.e.subs == nil {
			t.unknownCommand()
			return
		}
		t.subscribe()
	case "stop":
		if t.e.subs == nil {
			t.unknownCommand()
			return
		}
		t.unsubscribe()
	case "signup":
		t.openSignup()
	case "language":
		t.resp.Messages = append(t.resp.Messages, Message{Text: t.tr.T("lang.choose", nil), Buttons: [][]Button{t.languageRow()}})
	case "cancel":
		t.askCancel()
	case "delete":
		t.s.Pending = "delete"
		t.s.Rev++
		t.resp.Messages = append(t.resp.Messages, Message{Text: t.tr.T("delete.confirm", nil), Buttons: [][]Button{{
			{Text: t.tr.T("delete.yes", nil), Data: confirmData("d", t.s.Rev, true)},
			{Text: t.tr.T("delete.no", nil), Data: confirmData("d", t.s.Rev, false)},
		}}})
	default:
		t.unknownCommand()
	}
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

// deepLinkRE is what Telegram allows in a /start payload.
var deepLinkRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

func (t *turn) start(args string) {
	if src := strings.TrimSpace(args); deepLinkRE.MatchString(src) && t.s.Source == "" {
		t.s.Source = src
	}
	name := html.EscapeString(t.u.From.FirstName)
	if t.isNew {
		t.resp.CommandsLang = t.s.Lang
		t.menu(t.tr.T("welcome.new", map[string]any{"Name": name}))
		return
	}
	if t.s.Form != nil {
		t.say("welcome.back", map[string]any{"Name": name})
		t.say("form.resume", nil)
		t.showStep()
		return
	}
	t.menu(t.tr.T("welcome.back", map[string]any{"Name": name}))
}

// menu shows the main menu, after an optional lead text in the same
// message. Only features that work are offered: never a dead button.
func (t *turn) menu(lead string) {
	text := t.tr.T("menu.prompt", nil)
	if lead != "" {
		text = lead + "\n\n" + text
	}
	signup := "menu.signup"
	if t.signup != nil {
		signup = "menu.mysignup"
	}
	rows := [][]Button{{{Text: t.tr.T(signup, nil), Data: "m|signup"}}}
	var help []Button
	if t.e.faq != nil {
		help = append(help, Button{Text: t.tr.T("menu.faq", nil), Data: "m|faq"})
	}
	if t.e.desk != nil {
		help = append(help, Button{Text: t.tr.T("menu.ask", nil), Data: "m|ask"})
	}
	if len(help) > 0 {
		rows = append(rows, help)
	}
	if t.e.subs != nil {
		if t.isSubscribed() {
			rows = append(rows, []Button{{Text: t.tr.T("menu.unsubscribe", nil), Data: "m|unsub"}})
		} else {
			rows = append(rows, []Button{{Text: t.tr.T("menu.subscribe", nil), Data: "m|sub"}})
		}
	}
	rows = append(rows, t.languageRow())
	t.resp.Messages = append(t.resp.Messages, Message{Text: text, Buttons: rows})
}

func (t *turn) languageRow() []Button {
	return []Button{
		{Text: t.tr.T("lang.button.es", nil), Data: "l|es"},
		{Text: t.tr.T("lang.button.en", nil), Data: "l|en"},
	}
}

func confirmData(kind string, rev uint32, yes bool) string {
	ans := "no"
	if yes {
		ans = "yes"
	}
	return fmt.Sprintf("%s|%d|%s", kind, rev, ans)
}

func (t *turn) callback(cb *Callback) {
	parts := strings.Split(cb.Data, "|")
	if parts[0] != "x" && parts[0] != "d" && parts[0] != "a" {
		// Any other button means the member moved on from a pending
		// question ("write your question", "cancel?").
		t.s.Pending = ""
	}
	switch {
	case len(parts) == 2 && parts[0] == "l" && locales.Supported(parts[1]):
		t.setLanguage(parts[1], cb.MessageID)
	case cb.Data == "m|signup":
		t.openSignup()
	case cb.Data == "m|menu":
		t.s.Pending = ""
		t.resumeOrMenu()
	case cb.Data == "m|faq" && t.e.faq != nil:
		t.faqList()
	case cb.Data == "m|ask" && t.e.desk != nil:
		t.askPrompt()
	case cb.Data == "m|sub" && t.e.subs != nil:
		t.subscribe()
	case cb.Data == "m|unsub" && t.e.subs != nil:
		t.unsubscribe()
	case len(parts) == 2 && parts[0] == "q" && t.e.faq != nil:
		t.faqAnswer(parts[1])
	case len(parts) == 2 && parts[0] == "fb" && t.e.faq != nil:
		t.feedback(parts[1])
	case len(parts) == 2 && parts[0] == "a" && t.e.desk != nil:
		t.askButton(parts[1])
	case len(parts) == 3 && (parts[0] == "x" || parts[0] == "d"):
		t.confirm(parts, cb.MessageID)
	case strings.HasPrefix(cb.Data, "f|"):
		t.formButton(cb)
	default:
		t.e.log.Debug("unknown callback data", slog.Int64("chat", t.u.ChatID), slog.Int("len", len(cb.Data)))
		t.resp.Notice = t.tr.T("notice.stale", nil)
	}
}

func (t *turn) setLanguage(lang string, msgID int) {
	t.s.Lang, t.s.LangChosen = lang, true
	t.tr = t.e.cat.For(lang)
	t.resp.CommandsLang = lang
	if t.signup != nil && t.signup.Lang != lang {
		up := *t.signup
		up.Lang = lang
		t.change.Signup = &up
	}
	if t.e.subs != nil && t.isSubscribed() {
		// Announcements follow the member's language too.
		sub := t.subscription()
		t.later("subscription language", func(ctx context.Context) error { return t.e.subs.Subscribe(ctx, sub) }, "")
	}
	t.say("lang.changed", nil)
	if t.s.Form != nil {
		t.resp.ClearButtons = msgID
		t.showStep()
		return
	}
	t.menu("")
}

// confirm handles the yes/no of "cancel the form?" (x) and "delete my
// data?" (d). Only the latest question counts.
func (t *turn) confirm(parts []string, msgID int) {
	kind, yes := parts[0], parts[2] == "yes"
	want := map[string]string{"x": "cancel", "d": "delete"}[kind]
	if t.s.Pending != want || parts[1] != fmt.Sprint(t.s.Rev) || (parts[2] != "yes" && parts[2] != "no") {
		t.resp.Notice = t.tr.T("notice.stale", nil)
		return
	}
	t.s.Pending = ""
	t.resp.ClearButtons = msgID
	switch {
	case kind == "d" && yes:
		t.change.Forget = true
		t.s.Form = nil
		chat := t.u.ChatID
		if t.e.subs != nil {
			t.laterUnsubscribe("error.internal")
		}
		if t.e.desk != nil {
			t.later("desk forget", func(ctx context.Context) error { return t.e.desk.Forget(ctx, chat) }, "error.internal")
		}
		for _, er := range t.e.erasers {
			t.later("erase", func(ctx context.Context) error { return er.Erase(ctx, chat) }, "error.internal")
		}
		t.say("delete.done", nil)
	case kind == "d":
		t.say("delete.kept", nil)
		t.resumeOrMenu()
	case yes:
		editing := t.signup != nil
		t.s.Form = nil
		if editing {
			t.menu(t.tr.T("cancel.unchanged", nil))
			return
		}
		t.menu(t.tr.T("cancel.done", nil))
	default:
		t.say("cancel.kept", nil)
		t.resumeOrMenu()
	}
}

func (t *turn) resumeOrMenu() {
	if t.s.Form != nil {
		t.showStep()
		return
	}
	t.menu("")
}

func (t *turn) askCancel() {
	if t.s.Form == nil {
		t.menu(t.tr.T("cancel.nothing", nil))
		return
	}
	t.s.Pending = "cancel"
	t.s.Rev++
	t.resp.Messages = append(t.resp.Messages, Message{Text: t.tr.T("cancel.confirm", nil), Buttons: [][]Button{{
		{Text: t.tr.T("cancel.yes", nil), Data: confirmData("x", t.s.Rev, true)},
		{Text: t.tr.T("cancel.no", nil), Data: confirmData("x", t.s.Rev, false)},
	}}})
}

// openSignup starts the interest form, resumes it, or shows the member's
// existing sign-up on the review screen so they can update it.
func (t *turn) openSignup() {
	switch {
	case t.s.Form != nil:
		t.say("form.resume", nil)
	case t.signup != nil:
		st := flows.StartReview(t.e.signup, t.signup.Answers)
		t.s.Form = &st
		t.s.FormUpdated = t.e.now()
		t.say("signup.existing", nil)
	default:
		st := flows.Start(t.e.signup)
		t.s.Form = &st
		t.s.FormUpdated = t.e.now()
		t.say("signup.intro", nil)
	}
	t.showStep()
}

func (t *turn) flow() *flows.Flow {
	if f := t.e.flows[t.s.Form.Flow]; f != nil {
		return f
	}
	return t.e.signup
}

// showStep draws the current form step with fresh buttons.
func (t *turn) showStep() {
	t.resp.Messages = append(t.resp.Messages, t.stepMessage())
}

func (t *turn) stepMessage() Message { return t.drawStep(true) }

// drawStep renders the current step. A new revision makes every older
// keyboard stale; a multi-select toggle redraws the same keyboard in place
// and keeps it, so quick taps on several options all count.
func (t *turn) drawStep(newRev bool) Message {
	f := t.flow()
	st := f.Resume(*t.s.Form)
	t.s.Form = &st
	v := flows.Render(f, st, t.tr)
	if newRev {
		t.s.Rev++
	}
	rows := make([][]Button, len(v.Buttons))
	for i, row := range v.Buttons {
		for _, b := range row {
			rows[i] = append(rows[i], Button{Text: b.Text, Data: flows.CallbackData(t.s.Rev, b)})
		}
	}
	return Message{Text: v.Text, Buttons: rows}
}

func (t *turn) formButton(cb *Callback) {
	rev, in, ok := flows.ParseCallbackData(cb.Data)
	if !ok || t.s.Form == nil || rev != t.s.Rev {
		t.resp.Notice = t.tr.T("notice.stale", nil)
		return
	}
	if in.Action == flows.ActCancel {
		t.resp.ClearButtons = cb.MessageID
		t.askCancel()
		return
	}
	t.applyForm(in, cb.MessageID)
}

func (t *turn) text(text string) {
	if t.s.Pending == "ask" && t.e.desk != nil {
		t.s.Pending = ""
		if strings.TrimSpace(text) == "" {
			t.askPrompt()
			return
		}
		t.relay(clip(text), nil, true)
		return
	}
	if t.s.Form != nil {
		t.s.Pending = ""
		t.applyForm(flows.Input{Text: text}, 0)
		return
	}
	t.s.Pending = ""
	t.freeText(text)
}

// attachment handles a photo, voice note, document or sticker: staff can
// receive it in a question thread; a form step or the FAQ cannot read it.
func (t *turn) attachment(a *Attachment, caption string) {
	if t.e.desk != nil && a.Kind != "other" {
		if t.s.Pending == "ask" {
			t.s.Pending = ""
			t.relay(caption, a, true)
			return
		}
		if t.s.Form == nil {
			active, err := t.e.desk.Active(t.ctx, t.u.ChatID)
			if err != nil {
				t.e.log.Warn("desk state unavailable", slog.Int64("chat", t.u.ChatID), slog.Any("err", err))
			}
			if active {
				t.relay(caption, a, false)
				return
			}
		}
	}
	if t.s.Form != nil {
		t.say("input.media_in_form", nil)
		t.showStep()
		return
	}
	t.say("input.media", nil)
	t.menu("")
}

// applyForm runs one input through the flow engine and shows the result.
func (t *turn) applyForm(in flows.Input, msgID int) {
	f := t.flow()
	out := flows.Apply(f, *t.s.Form, in)
	if out.Invalid {
		t.resp.Notice = t.tr.T("notice.stale", nil)
		return
	}
	t.s.Form = &out.State
	t.s.FormUpdated = t.e.now()
	if out.Toggled && msgID != 0 {
		m := t.drawStep(false)
		m.Edit = msgID
		t.resp.Messages = append(t.resp.Messages, m)
		return
	}
	t.resp.ClearButtons = msgID
	if out.Done {
		t.finish(f, out.State.Answers)
		return
	}
	if out.Notice != "" {
		t.say(out.Notice, out.NoticeData)
	}
	t.showStep()
}

// finish stores the confirmed sign-up and thanks the member.
func (t *turn) finish(f *flows.Flow, answers flows.Answers) {
	now := t.e.now()
	su := &Signup{ChatID: t.u.ChatID, Lang: t.s.Lang, Source: t.s.Source, Answers: answers, Created: now, Updated: now}
	done := f.ReviewStep().Done
	if t.signup != nil {
		su.Created = t.signup.Created
		if su.Source == "" {
			su.Source = t.signup.Source
		}
		done = "signup.updated"
	}
	updated := t.signup != nil
	t.change.Signup = su
	t.signup = su
	t.s.Form = nil
	if t.e.subs != nil {
		if first(answers["announcements"]) == flows.Yes {
			sub := t.subscription()
			t.subscribed = ptr(true)
			t.later("subscribe", func(ctx context.Context) error { return t.e.subs.Subscribe(ctx, sub) }, "")
		} else {
			t.laterUnsubscribe("")
		}
	}
	if t.e.notify != nil {
		t.later("notify sign-up", func(ctx context.Context) error { return t.e.notify.SignupConfirmed(ctx, su, updated) }, "")
	}
	t.menu(t.tr.T(done, nil))
}

// MessageIDs lists every message the Go code uses, for completeness checks.
func MessageIDs() []string {
	return []string{
		"welcome.new", "welcome.back", "menu.prompt", "menu.signup", "menu.mysignup",
		"lang.choose", "lang.button.en", "lang.button.es", "lang.changed",
		"cmd.start", "cmd.menu", "cmd.signup", "cmd.language", "cmd.cancel", "cmd.delete", "cmd.help",
		"cmd.faq", "cmd.ask", "cmd.subscribe", "cmd.stop", "help.intro", "menu.back",
		"menu.faq", "menu.ask", "menu.subscribe", "menu.unsubscribe", "sub.on", "sub.off",
		"ask.prompt", "ask.sent", "ask.offer", "ask.send", "ask.nothanks", "ask.cancel", "ask.failed", "ask.none_of_these",
		"faq.open", "faq.feedback.sorry", "faq.feedback.no_desk", "faq.nomatch_no_desk", "staff.reply", "staff.reply_named",
		"form.progress", "form.current", "form.resume", "form.expired",
		"form.button.back", "form.button.skip", "form.button.cancel", "form.button.done",
		"form.button.yes", "form.button.no", "form.button.agree", "form.button.decline", "form.button.confirm",
		"form.value.agreed", "form.error.use_buttons", "form.error.empty", "form.error.empty_optional",
		"form.error.too_long", "form.error.email", "form.error.phone", "form.error.choose_min", "form.error.missing",
		"cancel.confirm", "cancel.yes", "cancel.no", "cancel.done", "cancel.unchanged", "cancel.nothing", "cancel.kept",
		"delete.confirm", "delete.yes", "delete.no", "delete.done", "delete.kept",
		"notice.stale", "error.unavailable", "error.internal",
		"input.media_in_form", "input.media", "input.edited", "input.unknown_command", "input.unknown_text",
		"group.private", "signup.intro", "signup.existing", "signup.updated",
	}
}
