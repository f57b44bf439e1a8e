// Package fakeserver is what the fakes of the services the bot talks to
// (bot/telegram/telegramtest and bot/slack/slacktest) share, so each fake
// holds only its own protocol:
//
//   - Listen and Client: the fake's HTTP server and a client for it;
//   - Changes: the change notification every waiting helper is driven by
//     (Changed, Await, WaitFor, AwaitFirst), never sleeping;
//   - Faults and Outage: injected failures, queued per method, and the
//     service being down behind its proxy;
//   - Reporter: where a fake reports a bug of its own or a misuse by its
//     caller, a testing.TB in tests and Standalone in a program;
//   - the small pieces of the wire: Write, DropConnection, CloneValues,
//     Recover, Locked.
package fakeserver
