package bot_test

import (
	"errors"
	"fmt"
	"testing"

	"bridgebot/bot"
)

func TestAPIErrorKinds(t *testing.T) {
	lib := errors.New("Forbidden: bot was blocked by the user")
	cases := []struct {
		err                                 *bot.APIError
		blocked, notFound, rejected, libErr bool
	}{
		{&bot.APIError{Code: 403, Kind: bot.ErrBlocked, Err: lib}, true, false, false, true},
		{&bot.APIError{Code: 400, Kind: bot.ErrChatNotFound}, false, true, true, false},
		{&bot.APIError{Code: 400, Kind: bot.ErrRejected}, false, false, true, false},
		{&bot.APIError{Code: 429, RetryAfter: 3}, false, false, false, false},
		{&bot.APIError{Code: 502}, false, false, false, false},
	}
	for _, c := range cases {
		err := fmt.Errorf("send: %w", c.err)
		got := []bool{errors.Is(err, bot.ErrBlocked), errors.Is(err, bot.ErrChatNotFound), errors.Is(err, bot.ErrRejected), errors.Is(err, lib)}
		want := []bool{c.blocked, c.notFound, c.rejected, c.libErr}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%d %v: Is blocked, not found, rejected, library = %v, want %v", c.err.Code, c.err.Kind, got, want)
		}
		var ae *bot.APIError
		if !errors.As(err, &ae) || ae != c.err {
			t.Errorf("%d: errors.As does not find the APIError", c.err.Code)
		}
	}
	if got := (&bot.APIError{Code: 403, Description: "Forbidden: user is deactivated", Kind: bot.ErrBlocked}).Error(); got != "member blocked the bot: Forbidden: user is deactivated" {
		t.Errorf("Error() = %q", got)
	}
}
