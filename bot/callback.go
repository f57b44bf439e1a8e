package bot

import (
	"strconv"
	"strings"
)

// Button data
//
// Every button the bot draws carries "namespace|arg|arg…" (at most 64
// bytes, Telegram's limit). The namespace says which feature owns the
// button; each feature registers its namespaces with the engine, so adding
// a feature never touches the routing. The wire format is the one buttons
// already in members' chats carry, so old buttons keep working.

// Namespaces of button data.
const (
	nsMenu     = "m"  // main menu actions: m|signup, m|faq, m|ask, m|sub, m|unsub, m|menu
	nsLang     = "l"  // l|es
	nsFAQ      = "q"  // q|<entry>: show an answer
	nsFeedback = "fb" // fb|y, fb|n, fb|x: did the answer help
	nsAsk      = "a"  // a|send, a|no: send the kept question to the team
	nsCancel   = "x"  // x|<rev>|yes|no: abandon the form
	nsDelete   = "d"  // d|<rev>|yes|no: erase everything
	nsForm     = "f"  // f|…: a form button (flows.CallbackData)
	nsAnswerOr = "aq" // aq|a, aq|q: "is this your answer, or a question?"
)

// Menu actions (nsMenu).
const (
	menuSignup = "signup"
	menuFAQ    = "faq"
	menuAsk    = "ask"
	menuSub    = "sub"
	menuUnsub  = "unsub"
	menuMain   = "menu"
)

// callbackData is parsed button data.
type callbackData struct {
	ns   string
	args []string
	raw  string
}

func parseCallback(s string) callbackData {
	parts := strings.Split(s, "|")
	return callbackData{ns: parts[0], args: parts[1:], raw: s}
}

// arg returns argument i, or "".
func (c callbackData) arg(i int) string {
	if i < len(c.args) {
		return c.args[i]
	}
	return ""
}

// data encodes a button's data.
func data(ns string, args ...string) string {
	return strings.Join(append([]string{ns}, args...), "|")
}

// confirmData is the data of a yes/no confirmation tied to a session
// revision: only the latest question counts.
func confirmData(ns string, rev uint32, yes bool) string {
	ans := "no"
	if yes {
		ans = "yes"
	}
	return data(ns, strconv.FormatUint(uint64(rev), 10), ans)
}

// Pending is what the member's next input answers (Session.Pending).
type Pending string

// Pending states.
const (
	pendingNone             Pending = ""
	pendingCancel           Pending = "cancel"             // "abandon the form?" was asked
	pendingDelete           Pending = "delete"             // "erase everything?" was asked
	pendingAsk              Pending = "ask"                // the next message is a question for the team
	pendingAnswerOrQuestion Pending = "answer-or-question" // the text waits in Session.Question
)
