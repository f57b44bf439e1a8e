package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisProc is a redis-server (or Sentinel) process started by a test.
type redisProc struct {
	addr string
	cmd  *exec.Cmd
}

// startRedisServer runs redis-server with args on a free port in a temp
// dir of its own, waits until it answers PING, and stops it by PID at
// cleanup. conf, when set, is written to a config file passed first.
func startRedisServer(t *testing.T, conf string, args ...string) *redisProc {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	dir := t.TempDir()
	var argv []string
	if conf != "" {
		path := filepath.Join(dir, "redis.conf")
		conf = fmt.Sprintf("port %s\nbind 127.0.0.1\ndir %s\n%s", port, dir, conf)
		if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		argv = append(argv, path)
	} else {
		argv = append(argv, "--port", port, "--bind", "127.0.0.1", "--dir", dir)
	}
	argv = append(argv, args...)
	cmd := exec.Command("redis-server", argv...)
	logf, err := os.Create(filepath.Join(dir, "log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	p := &redisProc{addr: "127.0.0.1:" + port, cmd: cmd}
	c := redis.NewClient(&redis.Options{Addr: p.addr})
	defer c.Close()
	waitUntil(t, 10*time.Second, "redis-server "+strings.Join(argv, " ")+" answers", func() bool {
		return c.Ping(context.Background()).Err() == nil
	})
	return p
}

// waitUntil polls cond (each check is a round trip to a server that
// changes state on its own, so there is no event to wait on) until it
// holds or the timeout passes.
func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", timeout, what)
		}
		<-tick.C
	}
}

// info reads one field of INFO replication.
func info(c *redis.Client, field string) string {
	s, err := c.Info(context.Background(), "replication").Result()
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(s, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), field+":"); ok {
			return v
		}
	}
	return ""
}

// The bot on Sentinel: a master, a replica and a Sentinel (real
// redis-server processes); sign-ups before, during and after the master is
// failed over are all kept, and the bot keeps serving.
func TestSentinelFailoverKeepsSignups(t *testing.T) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server is not on PATH: the Sentinel failover test needs real Redis servers (apt-get install redis-server)")
	}
	// appendfsync always: a sign-up the bot confirmed is on disk. A
	// master without its replica refuses writes (min-replicas-to-write),
	// so a demoted master cannot accept answers that the failover would
	// then discard.
	master := startRedisServer(t, "", "--save", "", "--appendonly", "yes", "--appendfsync", "always",
		"--min-replicas-to-write", "1", "--min-replicas-max-lag", "2")
	replica := startRedisServer(t, "", "--save", "", "--appendonly", "yes", "--appendfsync", "always",
		"--min-replicas-to-write", "1", "--min-replicas-max-lag", "2", "--replicaof", "127.0.0.1", strings.TrimPrefix(master.addr, "127.0.0.1:"))
	mc := redis.NewClient(&redis.Options{Addr: master.addr})
	defer mc.Close()
	rc := redis.NewClient(&redis.Options{Addr: replica.addr})
	defer rc.Close()
	waitUntil(t, 15*time.Second, "the replica is in sync", func() bool { return info(rc, "master_link_status") == "up" })
	sentinel := startRedisServer(t, fmt.Sprintf("sentinel monitor bridge 127.0.0.1 %s 1\n"+
		"sentinel down-after-milliseconds bridge 1000\nsentinel failover-timeout bridge 10000\n",
		strings.TrimPrefix(master.addr, "127.0.0.1:")), "--sentinel")
	sc := redis.NewSentinelClient(&redis.Options{Addr: sentinel.addr})
	defer sc.Close()
	waitUntil(t, 30*time.Second, "the Sentinel knows the replica", func() bool {
		rs, err := sc.Replicas(context.Background(), "bridge").Result()
		return err == nil && len(rs) == 1 && !strings.Contains(rs[0]["flags"], "down")
	})

	e := newEnv(t)
	delete(e.vars, "REDIS_URL")
	delete(e.vars, "REDIS_PREFIX")
	e.vars["REDIS_SENTINEL_ADDRS"] = sentinel.addr
	e.vars["REDIS_SENTINEL_MASTER"] = "bridge"
	e.start()

	before := e.member(6001, "Ana", "en")
	during := e.member(6002, "Ben", "en")
	after := e.member(6003, "Cy", "en")
	before.do(englishSignup("Ana")...)
	during.do(englishSignup("Ben")[:5]...) // at the city or region question

	// Fail over: the replica becomes the master.
	waitUntil(t, 10*time.Second, "the replica has every write", func() bool {
		return info(mc, "master_repl_offset") == info(rc, "slave_repl_offset") && info(rc, "slave_repl_offset") != ""
	})
	if err := sc.Failover(context.Background(), "bridge").Err(); err != nil {
		t.Fatalf("SENTINEL FAILOVER: %v", err)
	}
	waitUntil(t, 30*time.Second, "the Sentinel names the replica as master and the old master follows it", func() bool {
		addr, err := sc.GetMasterAddrByName(context.Background(), "bridge").Result()
		return err == nil && len(addr) == 2 && addr[0]+":"+addr[1] == replica.addr && info(rc, "role") == "master" &&
			info(mc, "role") == "slave" && info(mc, "master_link_status") == "up"
	})

	// The bot follows the Sentinel's announcement; until it has, a
	// member may be told to try again (the old master refuses writes
	// now), never silently lose an answer. A new member tries until the
	// bot answers.
	for try := 0; ; try++ {
		n := e.tg.MessageCount(after.u.ID)
		e.tg.SendText(after.u, "/start")
		msg := after.expect(n, "")
		if strings.Contains(msg.PlainText, "BRIDGE Institutes") {
			break
		}
		if try == 5 {
			t.Fatalf("the bot does not answer after the failover: %q", msg.PlainText)
		}
	}
	during.do(englishSignup("Ben")[5:]...)
	after.do(englishSignup("Cy")[1:]...) // after /start

	// Every sign-up is on the new master, and export (through Sentinel
	// too) lists them.
	for _, id := range []string{"6001", "6002", "6003"} {
		if n, err := rc.Exists(context.Background(), "bridgebot:signup:"+id).Result(); err != nil || n != 1 {
			t.Errorf("sign-up %s on the new master: %d, %v", id, n, err)
		}
	}
	out, errOut, err := e.cli("export", "signups", "--format", "json")
	if err != nil {
		t.Fatalf("export: %v\n%s", err, errOut)
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(out), &rows); err != nil || len(rows) != 3 {
		t.Fatalf("export after failover: %v\n%s", err, out)
	}
}
