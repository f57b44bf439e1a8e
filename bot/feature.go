package bot

import (
	"context"
	"fmt"
)

// Features
//
// Each part of the bot a deployment may or may not run — the FAQ, the staff
// desk, announcements — is a feature registered by NewEngine only when it
// is configured. A feature owns its commands, its rows of the main menu,
// its button namespaces and its side effects, and may react to what other
// parts do (a confirmed sign-up, a language change, an erasure) through the
// small optional interfaces below (the go-joe way: capabilities are
// discovered, not required). The core (the form, languages, cancel and
// delete) is always there. So the turn never asks "is the desk configured?":
// a missing feature simply contributes nothing.

// feature is an optional part of the bot.
type feature interface {
	name() string
}

// command is a slash command. The first name is the English one shown in
// the menu, es the Spanish one; aliases are also understood.
type command struct {
	rank    int // place in the command menu
	en, es  string
	aliases []string
	desc    string // message ID of the description
	run     func(t *turn, args string)
}

// commander is a feature with commands.
type commander interface {
	commands() []command
}

// menuContributor is a feature with buttons in the main menu: in the
// shared help row ("Questions", "Ask our team") and rows of its own.
type menuContributor interface {
	menuButtons(t *turn) (help []Button, rows [][]Button)
}

// menuActor is a feature whose main-menu buttons ("m|<action>") it handles.
type menuActor interface {
	menuActions() map[string]func(t *turn)
}

// buttonHandler is a feature owning button namespaces.
type buttonHandler interface {
	namespaces() []string
	button(t *turn, cb callbackData, msgID int)
}

// effectRunner is a feature that performs effects of its kinds after the
// turn is saved.
type effectRunner interface {
	effectKinds() []EffectKind
	runEffect(ctx context.Context, ef Effect) error
}

// signupListener reacts to a confirmed sign-up (subscribe, tell staff).
type signupListener interface {
	signupConfirmed(t *turn, su *Signup, updated bool)
}

// languageListener reacts to the member choosing a language.
type languageListener interface {
	languageChanged(t *turn)
}

// eraser deletes what the feature holds about the member (/delete).
type eraser interface {
	erase(t *turn)
}

// EffectKind names a side effect.
type EffectKind string

// Effect is a side effect of a turn, as data: performed only once the
// session is saved, so a retry after a concurrent update never performs it
// twice, and recordable, so it can be delivered after a crash.
type Effect struct {
	Kind EffectKind `json:"kind"`
	// ChatID is the member concerned.
	ChatID int64 `json:"chat_id"`
	// Desk is the message for staff (relay).
	Desk *DeskMessage `json:"desk,omitempty"`
	// Subscription is the announcement profile (subscribe).
	Subscription *Subscription `json:"subscription,omitempty"`
	// Reason is why announcements stop (unsubscribe).
	Reason string `json:"reason,omitempty"`
	// Signup and Updated describe a confirmed sign-up (notify).
	Signup  *Signup `json:"signup,omitempty"`
	Updated bool    `json:"updated,omitempty"`
	// FailMsg is the message ID the member is told if the effect fails; ""
	// means the effect is retried until it holds (it stays recorded).
	FailMsg string `json:"fail_msg,omitempty"`
	// FailText is FailMsg in the member's language, rendered when the turn
	// is recorded.
	FailText string `json:"fail_text,omitempty"`
}

// payload is the data an effect of its kind carries (p, one of its
// fields). A recorded effect without it (corrupt data) fails instead of
// being performed.
func payload[T any](ef Effect, p *T) (T, error) {
	if p == nil {
		var zero T
		return zero, fmt.Errorf("%s effect without its data", ef.Kind)
	}
	return *p, nil
}

// registry holds the features of an engine and what each owns.
type registry struct {
	features  []feature
	commands  []command          // in menu order
	byCommand map[string]command // every name and alias
	byNS      map[string]buttonHandler
	byAction  map[string]func(t *turn) // main-menu actions
	effects   map[EffectKind]effectRunner
}

func (r *registry) add(f feature) error {
	r.features = append(r.features, f)
	if c, ok := f.(commander); ok {
		for _, cmd := range c.commands() {
			r.commands = append(r.commands, cmd)
			for _, n := range append([]string{cmd.en, cmd.es}, cmd.aliases...) {
				if prev, dup := r.byCommand[n]; dup && prev.en != cmd.en {
					return fmt.Errorf("bot: command /%s registered twice (feature %s)", n, f.name())
				}
				r.byCommand[n] = cmd
			}
		}
	}
	if b, ok := f.(buttonHandler); ok {
		for _, ns := range b.namespaces() {
			if _, dup := r.byNS[ns]; dup {
				return fmt.Errorf("bot: button namespace %q registered twice (feature %s)", ns, f.name())
			}
			r.byNS[ns] = b
		}
	}
	if m, ok := f.(menuActor); ok {
		for a, fn := range m.menuActions() {
			r.byAction[a] = fn
		}
	}
	if e, ok := f.(effectRunner); ok {
		for _, k := range e.effectKinds() {
			r.effects[k] = e
		}
	}
	return nil
}
