package bot

import "context"

// Wiper deletes the bot's messages in a member's chat that the platform
// still allows deleting (Telegram: 48 hours): for a member whose phone may
// be searched (bot/sentlog).
type Wiper interface {
	Wipe(ctx context.Context, chatID int64) error
}

// WipeReplier is a Wiper that answers /wipe with a message of its own (a
// locale message ID) instead of "wipe.done": a transport whose messages
// cannot be deleted says so (the console) rather than promise it.
type WipeReplier interface {
	WipeReply() string
}

// effectWipe deletes the bot's recent messages, after the turn is saved.
const effectWipe EffectKind = "wipe"

// wipeFeature is /wipe (/limpiar), registered when a Wiper is configured.
type wipeFeature struct{ w Wiper }

func (wipeFeature) name() string { return "wipe" }

func (f wipeFeature) commands() []command {
	reply := "wipe.done"
	if r, ok := f.w.(WipeReplier); ok {
		reply = r.WipeReply()
	}
	return []command{{rank: 105, en: "wipe", es: "limpiar", aliases: []string{"clear"}, desc: "cmd.wipe",
		run: func(t *turn, _ string) {
			t.later(Effect{Kind: effectWipe, FailMsg: "wipe.failed"})
			t.say(reply, nil)
		}}}
}

func (wipeFeature) effectKinds() []EffectKind { return []EffectKind{effectWipe} }

func (f wipeFeature) runEffect(ctx context.Context, ef Effect) error {
	return f.w.Wipe(ctx, ef.ChatID)
}
