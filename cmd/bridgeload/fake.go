package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/alicebob/miniredis/v2"

	"bridgebot/bot/telegram/telegramtest"
)

// childEnv marks the child process that serves the fake Telegram of the
// broadcast mode.
const childEnv = "BRIDGELOAD_FAKE"

// fakeOptions are the fake Telegram's settings: flags of the broadcast
// mode, which passes them on to the child that serves the fake.
type fakeOptions struct {
	n, limit, perChat, paidLimit, blocked int
	miniredis                             bool // serve a miniredis too
}

// flags defines the options' flags on fs (-n is the members, subscribed
// in Redis by the parent and known to the fake as chats).
func (o *fakeOptions) flags(fs *flag.FlagSet) {
	fs.IntVar(&o.n, "n", 10000, "subscribers")
	fs.IntVar(&o.limit, "limit", 30, "the fake Telegram's global limit (messages/s)")
	fs.IntVar(&o.perChat, "per-chat", 1, "the fake Telegram's per-chat limit (messages/s)")
	fs.IntVar(&o.paidLimit, "paid-limit", 1000, "the fake Telegram's paid broadcast limit (messages/s)")
	fs.IntVar(&o.blocked, "blocked", 0, "members who blocked the bot (403)")
}

// args are the flags that give the child these options.
func (o fakeOptions) args() []string {
	return []string{"-n", strconv.Itoa(o.n), "-limit", strconv.Itoa(o.limit), "-per-chat", strconv.Itoa(o.perChat),
		"-paid-limit", strconv.Itoa(o.paidLimit), "-blocked", strconv.Itoa(o.blocked), "-miniredis=" + strconv.FormatBool(o.miniredis)}
}

// serveFake runs the fake Telegram (and maybe a miniredis) until stdin
// closes. Its first output line is a fakeHello in JSON.
func serveFake(args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("fake", flag.ContinueOnError)
	var o fakeOptions
	o.flags(fs)
	fs.BoolVar(&o.miniredis, "miniredis", false, "")
	if err := fs.Parse(args); err != nil {
		return err
	}
	srv, err := telegramtest.NewServer(telegramtest.WithRateLimit(o.limit, o.perChat), telegramtest.WithPaidLimit(o.paidLimit))
	if err != nil {
		return err
	}
	defer srv.Close()
	isBlocked := map[int64]bool{}
	for i := range o.n {
		id := firstChat + int64(i)
		srv.AddChat(telegramtest.User{ID: id})
		if o.blocked > 0 && i%(o.n/o.blocked) == 0 && len(isBlocked) < o.blocked {
			srv.BlockChat(id)
			isBlocked[id] = true
		}
	}
	hello := fakeHello{URL: srv.URL(), Token: srv.Token()}
	if o.miniredis {
		m, err := miniredis.Run()
		if err != nil {
			return err
		}
		defer m.Close()
		hello.Redis = m.Addr()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	hello.Control = "http://" + ln.Addr().String()
	mux := http.NewServeMux()
	mux.HandleFunc("/stats", func(w http.ResponseWriter, _ *http.Request) {
		st := fakeStats{RateLimited: srv.RateLimited(), MaxPerSecond: srv.MaxPerSecond()}
		for i := range o.n {
			id := firstChat + int64(i)
			switch a := srv.Accepted(id); {
			case a == 0 && !isBlocked[id]:
				st.Missing++
			case a > 1:
				st.Duplicates += a - 1
			}
			st.Accepted += srv.Accepted(id)
		}
		for _, r := range srv.Requests() {
			if r.Method != "sendMessage" || r.Status != http.StatusOK {
				continue
			}
			if st.First.IsZero() {
				st.First = r.Time
			}
			st.Last = r.Time
		}
		_ = json.NewEncoder(w).Encode(st)
	})
	go func() { _ = http.Serve(ln, mux) }()
	if err := json.NewEncoder(stdout).Encode(hello); err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, stdin) // until the parent goes
	return nil
}

// startFake starts the child process that serves the fake Telegram with
// o (this program again, as childEnv tells it), and returns where to
// reach it and a stop that ends it.
func startFake(ctx context.Context, o fakeOptions) (hello fakeHello, stop func(), err error) {
	self, err := os.Executable()
	if err != nil {
		return hello, nil, err
	}
	child := exec.CommandContext(ctx, self, append([]string{"-mode", "broadcast"}, o.args()...)...)
	child.Env = append(os.Environ(), childEnv+"=1")
	child.Stderr = os.Stderr
	childIn, err := child.StdinPipe()
	if err != nil {
		return hello, nil, err
	}
	childOut, err := child.StdoutPipe()
	if err != nil {
		return hello, nil, err
	}
	if err := child.Start(); err != nil {
		return hello, nil, err
	}
	stop = func() {
		childIn.Close() // the child exits when its stdin closes
		_ = child.Wait()
	}
	if err := json.NewDecoder(bufio.NewReader(childOut)).Decode(&hello); err != nil {
		stop()
		return hello, nil, fmt.Errorf("fake telegram did not start: %w", err)
	}
	return hello, stop, nil
}

// fakeHello is the child's first line: where to reach it.
type fakeHello struct {
	URL     string `json:"url"`
	Token   string `json:"token"`
	Control string `json:"control"`
	Redis   string `json:"redis,omitempty"`
}

// fakeStats is what the fake Telegram saw.
type fakeStats struct {
	Accepted     int       `json:"accepted"`
	RateLimited  int       `json:"rate_limited"`
	Duplicates   int       `json:"duplicates"`
	Missing      int       `json:"missing"`
	MaxPerSecond int       `json:"max_per_second"`
	First        time.Time `json:"first"`
	Last         time.Time `json:"last"`
}

func (h fakeHello) stats(ctx context.Context) (fakeStats, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.Control+"/stats", nil)
	if err != nil {
		return fakeStats{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fakeStats{}, err
	}
	defer resp.Body.Close()
	var s fakeStats
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return s, errors.New("fake stats: " + strings.TrimSpace(string(b)))
	}
	return s, json.NewDecoder(resp.Body).Decode(&s)
}
