package main

import (
	"encoding/json"
	"flag"
	"io"
	"net"
	"net/http"

	"github.com/alicebob/miniredis/v2"

	"bridgebot/bot/telegram/telegramtest"
)

// serveFake runs the fake Telegram (and maybe a miniredis) until stdin
// closes. Its first output line is a fakeHello in JSON.
func serveFake(args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("fake", flag.ContinueOnError)
	n := fs.Int("n", 0, "")
	limit := fs.Int("limit", 30, "")
	perChat := fs.Int("per-chat", 1, "")
	paidLimit := fs.Int("paid-limit", 1000, "")
	blocked := fs.Int("blocked", 0, "")
	mini := fs.Bool("miniredis", false, "")
	if err := fs.Parse(args); err != nil {
		return err
	}
	srv, err := telegramtest.NewServer(telegramtest.WithRateLimit(*limit, *perChat), telegramtest.WithPaidLimit(*paidLimit))
	if err != nil {
		return err
	}
	defer srv.Close()
	isBlocked := map[int64]bool{}
	for i := range *n {
		id := firstChat + int64(i)
		srv.AddChat(telegramtest.User{ID: id})
		if *blocked > 0 && i%(*n / *blocked) == 0 && len(isBlocked) < *blocked {
			srv.BlockChat(id)
			isBlocked[id] = true
		}
	}
	hello := fakeHello{URL: srv.URL(), Token: srv.Token()}
	if *mini {
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
		for i := range *n {
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
