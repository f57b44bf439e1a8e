package main

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"
)

// foreverKeys are the keys documented to be kept without expiry (relative
// to the prefix): sign-ups and subscriptions, the record of the bot's Slack
// posts for /delete, counting sets, and the queues' own bookkeeping.
var foreverKeys = []string{"signup:", "signups", "subs", "desk:posts:", "desk:open", "desk:answered", "outbox:", "broadcast:", "epoch"}

// After a question is answered, every key about the member expires
// (within DESK_ANSWERED_RETENTION) except the sign-up; writing again keeps
// the question's keys again.
func TestRetentionAnsweredQuestionsExpire(t *testing.T) {
	e, sl := newDeskEnv(t)
	e.vars["DESK_ANSWERED_RETENTION"] = "48h"
	e.startDesk(sl)
	rdb, prefix := e.redisOf()
	ctx := context.Background()
	const chat = 918273650
	m := e.member(chat, "Abril", "es")
	m.say("/start", "Institutos BRIDGE")
	m.askTeam("¿Hay beca-retenida?")
	r := root(t, sl, "beca-retenida")
	m.tg.SendText(m.u, "gracias-retenida")
	inThread(t, sl, r.TS, "gracias-retenida")
	n := e.tg.MessageCount(chat)
	ev, _ := sl.StaffReply(questionsChannel, r.TS, staffUser, "Sí, hay becas.")
	sl.WaitAck(t, sl.SocketEvent(ev), wait)
	m.expect(n, "hay becas")
	sl.WaitAck(t, sl.SocketEvent(sl.ReactionAdded(questionsChannel, r.TS, staffUser, "white_check_mark")), wait)
	sl.WaitFor(t, wait, func() bool {
		msg, _ := sl.Message(questionsChannel, r.TS)
		return strings.Contains(msg.AllText(), "Answered")
	})
	waitDrained(t, rdb, prefix)

	id := strconv.FormatInt(chat, 10)
	keys, err := rdb.Keys(ctx, prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	deskKeys := 0
	for _, k := range keys {
		rest := strings.TrimPrefix(k, prefix)
		ttl, err := rdb.PTTL(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		forever := false
		for _, f := range foreverKeys {
			forever = forever || strings.HasPrefix(rest, f)
		}
		switch {
		case ttl < 0 && !forever:
			t.Errorf("%s has no expiry", rest)
		case strings.HasPrefix(rest, "desk:") && strings.Contains(rest, id) && !strings.HasPrefix(rest, "desk:posts:"):
			deskKeys++
			if ttl <= 0 || ttl > 48*time.Hour {
				t.Errorf("%s expires in %v, want within DESK_ANSWERED_RETENTION (48h)", rest, ttl)
			}
		}
	}
	if deskKeys < 3 {
		t.Fatalf("only %d desk keys of the member: %v", deskKeys, keys)
	}

	// The member writes again: the question is open again and kept.
	m.tg.SendText(m.u, "otra-duda-retenida")
	inThread(t, sl, r.TS, "otra-duda-retenida")
	if ttl, _ := rdb.PTTL(ctx, prefix+"desk:ticket:"+id).Result(); ttl >= 0 {
		t.Errorf("reopened ticket still expires in %v", ttl)
	}
	if ttl, _ := rdb.PTTL(ctx, prefix+"desk:thread:"+questionsChannel+":"+r.TS).Result(); ttl >= 0 {
		t.Errorf("reopened thread mapping still expires in %v", ttl)
	}
}
