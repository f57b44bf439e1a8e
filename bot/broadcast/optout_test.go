package broadcast_test

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"bridgebot/bot"
	"bridgebot/bot/broadcast"
	"bridgebot/bot/sealed"
	"bridgebot/bot/tombstone"
)

// During a slow broadcast one member opts out, one erases their data and
// one has only an erasure tombstone (another part of the bot erased them
// first): none of them gets the announcement from then on, although
// their page was read long before, and everybody else gets it once.
func TestStopAndErasureHoldDuringABroadcast(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// One page holds everybody: it is claimed (read) before anyone acts.
	ids, j := e.underWay(700000001, 10, broadcast.Options{Rate: 4, Concurrency: 2, PageSize: 100})
	stopper, eraser, buried := ids[7], ids[8], ids[9]
	if _, err := e.store.Unsubscribe(ctx, stopper, bot.UnsubscribeStop); err != nil {
		t.Fatal(err)
	}
	if err := e.store.Erase(ctx, eraser); err != nil {
		t.Fatal(err)
	}
	if err := tombstone.New(e.rdb, e.prefix, sealed.Process(), 0).Mark(ctx, buried, time.Now()); err != nil {
		t.Fatal(err)
	}
	j = e.waitStatus(j.ID, broadcast.StatusDone)
	for _, chat := range []int64{stopper, eraser, buried} {
		if n := e.srv.Accepted(chat); n != 0 {
			t.Errorf("chat %d got %d announcements after leaving", chat, n)
		}
	}
	e.exactlyOnce(ids[:7])
	if j.Counts.Sent != 7 || j.Counts.Failed != 0 || j.Counts.Skipped != 0 {
		t.Errorf("counts %+v, want 7 sent", j.Counts)
	}
	noTraceOf(t, e.rdb, e.prefix, eraser)
}

// A member erased whose chat ID is a running job's cursor (the last
// chat claimed, so a page bound too): at once no key holds their ID, and
// the job still reaches everybody else exactly once.
func TestErasureOfTheCursorMidBroadcast(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ids, j := e.underWay(700000101, 30, broadcast.Options{Rate: 10, Concurrency: 1, PageSize: 5})
	e.accepted(2)
	cursor, err := e.rdb.HGet(ctx, e.prefix+"broadcast:job:"+j.ID, "cursor").Int64()
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.Erase(ctx, cursor); err != nil {
		t.Fatal(err)
	}
	noTraceOf(t, e.rdb, e.prefix, cursor)
	j = e.waitStatus(j.ID, broadcast.StatusDone)
	var others []int64
	for _, id := range ids {
		if id != cursor {
			others = append(others, id)
		}
	}
	e.exactlyOnce(others)
	if n := e.srv.Accepted(cursor); n > 1 {
		t.Errorf("the erased member got %d messages", n)
	}
	noTraceOf(t, e.rdb, e.prefix, cursor)
}

// Erasure moves every bound equal to the chat down to the chat below it
// that the job knows, so pages keep covering the same members; a page
// named by its bounds (before pages had IDs) is renamed; a finished job's
// cursor equal to the chat goes.
func TestEraseRewritesBounds(t *testing.T) {
	ctx := context.Background()
	s, rdb, prefix := newStore(t, broadcast.Options{})
	const b = 910000000
	n := func(d int64) string { return strconv.FormatInt(b+d, 10) }
	for _, id := range []int64{b + 10, b + 20, b + 30, b + 40, b + 60} {
		if err := s.Subscribe(ctx, bot.Subscription{ChatID: id, Lang: "en"}); err != nil {
			t.Fatal(err)
		}
	}
	job := prefix + "broadcast:job:J1"
	rdb.ZAdd(ctx, prefix+"broadcast:jobs", redis.Z{Score: 1, Member: "J1"}, redis.Z{Score: 2, Member: "J2"})
	rdb.ZAdd(ctx, prefix+"broadcast:active", redis.Z{Score: 1, Member: "J1"})
	rdb.HSet(ctx, job, "status", "running", "cursor", n(30), "pages", "2")
	rdb.HSet(ctx, job+":bounds", "p1", "-inf:"+n(20), "p2", n(20)+":"+n(30))
	rdb.ZAdd(ctx, job+":leases", redis.Z{Score: 5, Member: "p1"}, redis.Z{Score: 6, Member: "p2"}, redis.Z{Score: 7, Member: n(40) + ":" + n(60)})
	rdb.HSet(ctx, job+":owners", "p1", "a:1", "p2", "a:2", n(40)+":"+n(60), "b:1")
	rdb.ZAdd(ctx, job+":done", redis.Z{Score: b + 15, Member: n(15)}) // done, then left
	rdb.HSet(ctx, prefix+"broadcast:job:J2", "status", "done", "cursor", n(60))

	if err := s.Erase(ctx, b+30); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"p1": "-inf:" + n(20), "p2": n(20) + ":" + n(20)}
	if got := rdb.HGetAll(ctx, job+":bounds").Val(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("after erasing the third: bounds %v, want %v", got, want)
	}
	if got := rdb.HGet(ctx, job, "cursor").Val(); got != n(20) {
		t.Errorf("after erasing the third: cursor %q, want the second", got)
	}
	if err := s.Erase(ctx, b+20); err != nil {
		t.Fatal(err)
	}
	want = map[string]string{"p1": "-inf:" + n(15), "p2": n(15) + ":" + n(15)} // 15 is done, so known
	if got := rdb.HGetAll(ctx, job+":bounds").Val(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("after erasing the second: bounds %v, want %v", got, want)
	}
	if err := s.Erase(ctx, b+60); err != nil {
		t.Fatal(err)
	}
	leases := rdb.ZRangeWithScores(ctx, job+":leases", 0, -1).Val()
	var renamed string
	for _, z := range leases {
		if m := z.Member.(string); m != "p1" && m != "p2" {
			renamed = m
			if z.Score != 7 || strings.Contains(m, ":") {
				t.Errorf("the old page became %q (expiry %v)", m, z.Score)
			}
		}
	}
	if got := rdb.HGet(ctx, job+":bounds", renamed).Val(); got != n(40)+":"+n(40) {
		t.Errorf("the old page's bounds %q, want both the fourth", got)
	}
	if got := rdb.HGet(ctx, job+":owners", renamed).Val(); got != "b:1" {
		t.Errorf("the old page's owner %q, want b:1", got)
	}
	if rdb.HExists(ctx, prefix+"broadcast:job:J2", "cursor").Val() {
		t.Error("the finished job kept its cursor, the erased chat")
	}
	noTraceOf(t, rdb, prefix, b+30)
	noTraceOf(t, rdb, prefix, b+20)
	noTraceOf(t, rdb, prefix, b+60)
}

// Finished and cancelled jobs keep counts, no chat ID.
func TestFinishedJobsKeepNoChatID(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ids := e.members(700000201, 20, bot.Subscription{})
	stop := e.worker(nil, nil, broadcast.Options{Rate: 50, PageSize: 5})
	done := e.waitStatus(e.create(broadcast.Job{}).ID, broadcast.StatusDone)
	stop()
	e.worker(nil, nil, broadcast.Options{Rate: 5, PageSize: 5})
	c := e.create(broadcast.Job{})
	e.accepted(len(ids) + 2)
	if err := e.store.Cancel(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{done.ID, c.ID} {
		fields := e.rdb.HGetAll(ctx, e.prefix+"broadcast:job:"+id).Val()
		for _, chat := range ids {
			for f, v := range fields {
				if v == strconv.FormatInt(chat, 10) {
					t.Errorf("job %s keeps chat %d as %s", id, chat, f)
				}
			}
		}
	}
}

// noTraceOf fails if any key under prefix names or holds chat.
func noTraceOf(t *testing.T, rdb *redis.Client, prefix string, chat int64) {
	t.Helper()
	ctx := context.Background()
	re := regexp.MustCompile(`(^|[^0-9])` + strconv.FormatInt(chat, 10) + `([^0-9]|$)`)
	keys, err := rdb.Keys(ctx, prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		var content any
		switch rdb.Type(ctx, k).Val() {
		case "string":
			content = rdb.Get(ctx, k).Val()
		case "hash":
			content = rdb.HGetAll(ctx, k).Val()
		case "zset":
			content = rdb.ZRangeWithScores(ctx, k, 0, -1).Val()
		case "set":
			content = rdb.SMembers(ctx, k).Val()
		case "list":
			content = rdb.LRange(ctx, k, 0, -1).Val()
		case "stream":
			content = rdb.XRange(ctx, k, "-", "+").Val()
		}
		line := fmt.Sprintf("%s → %v", strings.TrimPrefix(k, prefix), content)
		if re.MatchString(line) {
			t.Errorf("chat %d is still in Redis: %.300s", chat, line)
		}
	}
}
