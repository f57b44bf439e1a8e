// Package telegramtest is an in-process fake of the Telegram Bot API for
// end-to-end tests.
//
// It speaks the real wire protocol (routes, form/multipart/JSON bodies, the
// {"ok":...} envelope, Telegram's exact error texts and HTTP statuses) so the
// bot's real client can be pointed at it instead of api.telegram.org:
//
//	srv := telegramtest.New(t)
//	bot, err := tgbotapi.NewBotAPIWithClient(srv.Token(), srv.Endpoint(), srv.HTTPClient())
//
// (Outside a test, NewServer starts one that the caller closes.)
//
// Tests then play the members of the chats (SendText, PressButton, ...),
// which queues updates for getUpdates, and observe what the bot did
// (Messages, WaitMessage, CallbackAnswer, Commands, Requests, ...).
//
// When the bot sets a webhook (HTTPS on port 443, 80, 88 or 8443, as
// Telegram requires) and the test routes it to the bot's listener with
// RouteWebhook (standing in for the TLS-terminating reverse proxy), pending
// updates are POSTed to it as Telegram does: JSON bodies, the
// X-Telegram-Bot-Api-Secret-Token header, one delivery at a time per chat
// and in order, kept and retried until the bot answers 2xx (Deliveries,
// WaitAcknowledged).
//
// Faithfulness is the point: a fake that accepts what Telegram rejects lets
// bugs through, so the fake validates HTML parse_mode, inline keyboards,
// message lengths and callback answers the way Telegram does, and can
// simulate the failures a bot meets in production: rate limits (429 with
// retry_after), blocked or deactivated members (403), injected errors, a
// proxy answering 502 with an HTML page, dropped connections, superseded
// long polls (409) and undecodable updates.
//
// All methods are safe for concurrent use. Waiting helpers are driven by the
// server's change notifications (see Changed), never by sleeping, so tests
// stay fast and deterministic under -race.
package telegramtest
