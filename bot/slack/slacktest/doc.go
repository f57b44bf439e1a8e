// Package slacktest is an in-process fake of Slack (Web API, Events API,
// interactivity and Socket Mode) for end-to-end tests of the staff desk bot.
//
// It speaks the real wire protocol closely enough that slack-go decodes every
// answer, so the bot's real client is pointed at it instead of slack.com:
//
//	srv := slacktest.New(t)
//	srv.AddChannel("C0STAFF", "staff-desk")
//	api := slack.New(srv.BotToken(),
//		slack.OptionAppLevelToken(srv.AppToken()),
//		slack.OptionAPIURL(srv.APIURL()))
//
// (Outside a test, NewServer starts one that the caller closes.)
//
// The Web API part answers the methods a staff desk uses (chat.*, reactions.*,
// users.info, conversations.*, the three-step file upload, views.*,
// apps.connections.open) the way Slack does: HTTP 200 with {"ok":false,
// "error":...} for API errors, 429 with Retry-After for rate limits, HTML 5xx
// pages when Slack is down (FailNext, FailFor, SetDown, ErrorNext).
//
// Tests play the staff: event builders (StaffReply, StaffEdit, StaffDelete,
// StaffFileShare, ReactionAdded, BotMessage, OwnMessageEvent, URLVerification)
// return the exact event_callback JSON Slack would deliver, and payload
// builders (BlockAction, ViewSubmission, SlashCommand) the interactivity
// forms. Deliver them over HTTP with a valid signature (PostSigned, Signer) or
// over Socket Mode (SocketEvent, SocketInteractive, SocketSlashCommand, then
// WaitAck).
//
// Observation helpers (Messages, Thread, Ephemerals, Uploads, Views,
// ResponseURLPosts, Calls, Requests) return snapshots; the waiting helpers
// (WaitFor, WaitMessage, WaitAck, WaitSocketConnected) are driven by the
// server's change notifications (see Changed), never by sleeping, so tests
// stay fast and deterministic under -race. All methods are safe for
// concurrent use.
package slacktest
