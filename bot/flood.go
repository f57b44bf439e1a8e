package bot

import (
	"context"
	"log/slog"

	"bridgebot/locales"
)

// DefaultMemberRateLimit is how many updates a member may send in a minute
// (Config.MemberRateLimit): far above anyone filling in the form or asking
// a question, low enough that nobody can flood the staff channel.
const DefaultMemberRateLimit = 20

// flooding reports whether the member went over the rate limit this
// minute (the store counts updates as it loads them, Member.Recent). Such
// an update is dropped unhandled; the first one over the limit gets one
// polite slow-down message in the member's language, the others nothing,
// so flood control itself never floods. The count is per fixed minute:
// the next minute starts afresh.
func (e *Engine) flooding(ctx context.Context, u Update, m Member) bool {
	if e.rate <= 0 || m.Recent <= e.rate {
		return false
	}
	if m.Recent > e.rate+1 {
		return true
	}
	e.log.Info("member over the rate limit: dropping their updates for the rest of the minute",
		slog.Int64("chat", u.ChatID), slog.Int64("limit", e.rate))
	lang := m.Session.Lang
	if !locales.Supported(lang) {
		lang = locales.Match(u.From.LanguageCode)
		if m.Signup != nil && locales.Supported(m.Signup.Lang) {
			lang = m.Signup.Lang
		}
	}
	r := Response{ChatID: u.ChatID, Messages: []Message{{Text: e.cat.For(lang).T("flood.slow_down", map[string]any{"Limit": e.rate})}}}
	if u.Callback != nil {
		r.CallbackID = u.Callback.ID
	}
	if err := e.sender.Send(ctx, r); err != nil {
		e.log.Warn("could not tell a member to slow down", slog.Int64("chat", u.ChatID), slog.Any("err", err))
	}
	return true
}
