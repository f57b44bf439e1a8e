package bot

import (
	"context"
	"log/slog"

	"bridgebot/locales"
)

// countRate marks a context whose Load counts the update for flood
// control; its value is the limit.
type countRate struct{}

// CountRate asks the Store's Load to count this update toward the
// member's rate (flood control), limit messages a minute: the engine asks
// for messages, not for button presses, which cannot reach staff and come
// in quick series (a multi-select). A store that leaves the count to the
// save (Member.Cached) refuses a save over the limit.
func CountRate(ctx context.Context, limit int64) context.Context {
	return context.WithValue(ctx, countRate{}, limit)
}

// RateCounted reports whether Load should count the update (CountRate).
func RateCounted(ctx context.Context) bool { return ctx.Value(countRate{}) != nil }

// RateLimit is the limit CountRate gave, 0 when not counting.
func RateLimit(ctx context.Context) int64 {
	n, _ := ctx.Value(countRate{}).(int64)
	return n
}

// DefaultMemberRateLimit is how many messages a member may send in a minute
// (Config.MemberRateLimit): far above anyone filling in the form or asking
// a question, low enough that nobody can flood the staff channel.
const DefaultMemberRateLimit = 20

// flooding reports whether the member went over the rate limit this
// minute (the store counts messages as it loads them, Member.Recent;
// button presses are neither counted nor limited). Such
// an update is dropped unhandled; the first one over the limit gets one
// polite slow-down message in the member's language, the others nothing,
// so flood control itself never floods. The count is per fixed minute:
// the next minute starts afresh.
func (e *Engine) flooding(ctx context.Context, u Update, m Member) bool {
	if e.rate <= 0 || u.Callback != nil || m.Recent <= e.rate {
		return false
	}
	if m.Recent > e.rate+1 {
		return true
	}
	e.log.Info("member over the rate limit: dropping their updates for the rest of the minute",
		slog.Int64("chat", u.ChatID), slog.Int64("limit", e.rate))
	lang := m.Session.Lang
	if !locales.Supported(lang) {
		lang, _ = e.langs.get(u.ChatID)
	}
	if !locales.Supported(lang) {
		lang = locales.Match(u.From.LanguageCode)
		if m.Signup != nil && locales.Supported(m.Signup.Lang) {
			lang = m.Signup.Lang
		}
	}
	r := Response{ChatID: u.ChatID, Messages: []Message{{Text: e.cat.For(lang).T("flood.slow_down", map[string]any{"Limit": e.rate})}}}
	if err := e.sender.Send(ctx, r); err != nil {
		e.log.Warn("could not tell a member to slow down", slog.Int64("chat", u.ChatID), slog.Any("err", err))
	}
	return true
}
