package bot

import (
	"html"
	"regexp"
	"strconv"
	"strings"

	"bridgebot/flows"
	"bridgebot/locales"
)

// conversation is the part of the bot that is always there: /start, the
// menu, help, languages, and the two confirmations (abandon the form,
// erase everything).
type conversation struct{}

func (conversation) name() string { return "conversation" }

func (conversation) commands() []command {
	return []command{
		{rank: 10, en: "start", es: "start", desc: "cmd.start", run: (*turn).start},
		{rank: 20, en: "menu", es: "menu", aliases: []string{"menú"}, desc: "cmd.menu", run: func(t *turn, _ string) {
			if t.s.Form != nil {
				t.say("form.resume", nil)
				t.showStep()
				return
			}
			t.menu("")
		}},
		{rank: 80, en: "language", es: "idioma", aliases: []string{"lang", "lenguaje"}, desc: "cmd.language", run: func(t *turn, _ string) {
			t.resp.Messages = append(t.resp.Messages, Message{Text: t.tr.T("lang.choose", nil), Buttons: [][]Button{t.languageRow()}})
		}},
		{rank: 90, en: "cancel", es: "cancelar", desc: "cmd.cancel", run: func(t *turn, _ string) { t.askCancel() }},
		{rank: 100, en: "delete", es: "borrar", aliases: []string{"forget"}, desc: "cmd.delete", run: func(t *turn, _ string) { t.askDelete() }},
		{rank: 110, en: "help", es: "ayuda", desc: "cmd.help", run: (*turn).help},
	}
}

func (conversation) namespaces() []string { return []string{nsMenu, nsLang, nsCancel, nsDelete} }

func (conversation) button(t *turn, cb callbackData, msgID int) {
	switch cb.ns {
	case nsLang:
		if lang := cb.arg(0); len(cb.args) == 1 && locales.Supported(lang) {
			t.setLanguage(lang, msgID)
			return
		}
	case nsMenu:
		if len(cb.args) != 1 {
			break
		}
		switch a := cb.arg(0); a {
		case menuMain:
			t.resumeOrMenu()
			return
		default:
			if fn, ok := t.e.reg.byAction[a]; ok {
				fn(t)
				return
			}
		}
	case nsCancel, nsDelete:
		if len(cb.args) == 2 {
			t.confirm(cb, msgID)
			return
		}
	}
	t.stale()
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
		t.say("form.resume", nil) // one welcome back, with where we were
		t.showStep()
		return
	}
	t.menu(t.tr.T("welcome.back", map[string]any{"Name": name}))
}

// help lists the commands; in the middle of the form it first says where
// the member is and how to go on, then shows the step again.
func (t *turn) help(string) {
	if t.s.Form == nil {
		t.menu(t.helpText())
		return
	}
	f := t.flow()
	st := f.Resume(*t.s.Form)
	where := "form.help.step"
	switch {
	case f.Step(st.Step).Kind == flows.KindReview:
		where = "form.help.review"
	case t.signup != nil:
		where = "form.help.edit"
	}
	n, total := f.Position(st)
	t.resp.Messages = append(t.resp.Messages, Message{Text: t.tr.T(where, map[string]any{"N": n, "Total": total}) + "\n\n" + t.helpText()})
	t.showStep()
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
	for _, f := range t.e.reg.features {
		if l, ok := f.(languageListener); ok {
			l.languageChanged(t)
		}
	}
	t.say("lang.changed", nil)
	if t.s.Form != nil {
		t.resp.ClearButtons = msgID
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
	t.s.Pending = pendingCancel
	t.s.Rev++
	ask := "cancel.confirm"
	if t.signup != nil {
		ask = "cancel.confirm_edit" // the sign-up stays as it was
	}
	t.resp.Messages = append(t.resp.Messages, Message{Text: t.tr.T(ask, nil), Buttons: [][]Button{{
		{Text: t.tr.T("cancel.yes", nil), Data: confirmData(nsCancel, t.s.Rev, true)},
		{Text: t.tr.T("cancel.no", nil), Data: confirmData(nsCancel, t.s.Rev, false)},
	}}})
}

func (t *turn) askDelete() {
	t.s.Pending = pendingDelete
	t.s.Rev++
	t.resp.Messages = append(t.resp.Messages, Message{Text: t.tr.T("delete.confirm", nil), Buttons: [][]Button{{
		{Text: t.tr.T("delete.yes", nil), Data: confirmData(nsDelete, t.s.Rev, true)},
		{Text: t.tr.T("delete.no", nil), Data: confirmData(nsDelete, t.s.Rev, false)},
	}}})
}

// confirm handles the yes/no of "cancel the form?" (x) and "delete my
// data?" (d). Only the latest question counts.
func (t *turn) confirm(cb callbackData, msgID int) {
	want := map[string]Pending{nsCancel: pendingCancel, nsDelete: pendingDelete}[cb.ns]
	rev, ans := cb.arg(0), cb.arg(1)
	if t.s.Pending != want || rev != confirmRev(t.s.Rev) || (ans != "yes" && ans != "no") {
		t.stale()
		return
	}
	yes := ans == "yes"
	t.s.Pending = pendingNone
	t.resp.ClearButtons = msgID
	switch {
	case cb.ns == nsDelete && yes:
		t.change.Forget = true
		if t.s.Form != nil && t.signup == nil {
			t.observe().FormAbandoned(t.s.Form.Flow, t.s.Form.Step, t.s.Lang)
		}
		t.s.Form = nil
		for _, f := range t.e.reg.features {
			if er, ok := f.(eraser); ok {
				er.erase(t)
			}
		}
		t.resp.Messages = append(t.resp.Messages, Message{Text: t.tr.T("delete.done", nil), Untracked: true})
	case cb.ns == nsDelete:
		t.say("delete.kept", nil)
		t.resumeOrMenu()
	case yes:
		editing := t.signup != nil
		if t.s.Form != nil && !editing {
			t.observe().FormAbandoned(t.s.Form.Flow, t.s.Form.Step, t.s.Lang)
		}
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

func confirmRev(rev uint32) string { return strconv.FormatUint(uint64(rev), 10) }
