package main

// The floor mode measures what the network exchanges of an update cost on
// this machine when nothing else is done: a "null bot" in its own process
// long-polls a minimal Bot API server, and for every update makes one Redis
// script call (the save) and the Bot API calls the real bot makes for it (a
// message: sendMessage; a pressed button: answerCallbackQuery,
// editMessageReplyMarkup, sendMessage; a toggled option:
// answerCallbackQuery, editMessageReplyMarkup). It writes HTTP/1.1 by hand
// on kept-alive connections and decodes only the fields it needs, so its
// CPU per update is a lower bound for any bot that keeps the same
// promises (an update is saved before it is acknowledged, every reply is a
// Bot API call). The members follow the sign-up form's mix of messages and
// presses in a closed loop, as in the sign-up mode.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"bridgebot/internal/ctxtime"
)

// floorChildEnv marks the null bot's process.
const floorChildEnv = "BRIDGELOAD_FLOOR_BOT"

// floorKinds is the sign-up form's sequence of member actions (scripts):
// "say" a message, "press" a button that moves on, "toggle" an option.
func floorKinds() []string {
	kinds := make([]string, len(scripts["en"]))
	for i, s := range scripts["en"] {
		kinds[i] = s.Kind
	}
	return kinds
}

// floorServer is a minimal Bot API: getUpdates long-polls a queue the
// members fill; the other methods answer at once and wake the member.
type floorServer struct {
	mu      sync.Mutex
	queue   []floorUpdate
	nextID  int
	arrived chan struct{} // closed and replaced when the queue grows
	waiters sync.Map      // chat ID → chan string (the method that answered)
	calls   atomic.Int64
	polled  chan struct{} // closed at the first getUpdates: the null bot is up
	once    sync.Once
}

type floorUpdate struct {
	ID   int   `json:"update_id"`
	Chat int64 `json:"-"`
	Kind string
}

func (f *floorServer) push(chat int64, kind string) {
	f.mu.Lock()
	f.nextID++
	f.queue = append(f.queue, floorUpdate{ID: f.nextID, Chat: chat, Kind: kind})
	close(f.arrived)
	f.arrived = make(chan struct{})
	f.mu.Unlock()
}

func (f *floorServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.calls.Add(1)
	method := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var body []byte
	switch method {
	case "getUpdates":
		f.once.Do(func() { close(f.polled) })
		body = f.getUpdates(r.Context(), r.Form)
	default:
		chat, _ := strconv.ParseInt(r.Form.Get("chat_id"), 10, 64)
		if ch, ok := f.waiters.Load(chat); ok && method != "answerCallbackQuery" {
			select {
			case ch.(chan string) <- method:
			default:
			}
		}
		if method == "answerCallbackQuery" {
			body = []byte(`{"ok":true,"result":true}`)
		} else {
			body = fmt.Appendf(nil, `{"ok":true,"result":{"message_id":%d,"date":1765000000,"chat":{"id":%d,"type":"private"},"text":"ok"}}`, f.calls.Load(), chat)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	_, _ = w.Write(body)
}

func (f *floorServer) getUpdates(ctx context.Context, form url.Values) []byte {
	offset, _ := strconv.Atoi(form.Get("offset"))
	deadline := time.After(25 * time.Second)
	for {
		f.mu.Lock()
		i := 0
		for i < len(f.queue) && f.queue[i].ID < offset {
			i++
		}
		f.queue = f.queue[i:]
		batch := slices.Clone(f.queue[:min(len(f.queue), 100)])
		arrived := f.arrived
		f.mu.Unlock()
		if len(batch) > 0 {
			var b bytes.Buffer
			b.WriteString(`{"ok":true,"result":[`)
			for i, u := range batch {
				if i > 0 {
					b.WriteByte(',')
				}
				from := fmt.Sprintf(`{"id":%d,"is_bot":false,"first_name":"Member","language_code":"en"}`, u.Chat)
				chat := fmt.Sprintf(`{"id":%d,"type":"private","first_name":"Member"}`, u.Chat)
				if u.Kind == "say" {
					fmt.Fprintf(&b, `{"update_id":%d,"message":{"message_id":%d,"from":%s,"chat":%s,"date":1765000000,"text":"Stories from the border"}}`, u.ID, u.ID, from, chat)
				} else {
					fmt.Fprintf(&b, `{"update_id":%d,"callback_query":{"id":"%d","from":%s,"message":{"message_id":%d,"from":{"id":1,"is_bot":true,"first_name":"Bot"},"chat":%s,"date":1765000000,"text":"Which of these describes you?"},"chat_instance":"1","data":"%s"}}`, u.ID, u.ID, from, u.ID, chat, u.Kind)
				}
			}
			b.WriteString(`]}`)
			return b.Bytes()
		}
		select {
		case <-arrived:
		case <-deadline:
			return []byte(`{"ok":true,"result":[]}`)
		case <-ctx.Done():
			return []byte(`{"ok":true,"result":[]}`)
		}
	}
}

// FloorResult is what the floor mode measured.
type FloorResult struct {
	Updates       int64
	CPU           time.Duration // the null bot's user+system CPU
	TelegramCalls int64
	RoundTrips    int64 // Redis
	Latency       []time.Duration
	Duration      time.Duration
}

func runFloor(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) (FloorResult, error) {
	var res FloorResult
	fs := flag.NewFlagSet("bridgeload -mode floor", flag.ContinueOnError)
	members := fs.Int("members", 1000, "simulated members, each in a closed loop")
	rounds := fs.Int("rounds", 1, "times each member goes through the form's actions")
	think := fs.Duration("think", 2*time.Second, "think time between a reply and the next action (±50%)")
	ramp := fs.Duration("ramp", 5*time.Second, "members start spread over this time")
	if err := fs.Parse(args); err != nil {
		return res, err
	}
	redisURL := getenv("REDIS_URL")
	if redisURL == "" {
		return res, errors.New("-mode floor needs REDIS_URL (a real Redis)")
	}
	srv := &floorServer{arrived: make(chan struct{}), polled: make(chan struct{})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return res, err
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	defer hs.Close()

	self, err := os.Executable()
	if err != nil {
		return res, err
	}
	f, err := os.CreateTemp("", "bridgeload-floor-*.json")
	if err != nil {
		return res, err
	}
	f.Close()
	counts := f.Name()
	defer os.Remove(counts)
	child := exec.Command(self)
	child.Env = append(os.Environ(), floorChildEnv+"=1", "FLOOR_TELEGRAM="+ln.Addr().String(), "FLOOR_REDIS="+redisURL, "FLOOR_COUNTS="+counts)
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		return res, err
	}
	stopped := false
	defer func() {
		if !stopped {
			_ = child.Process.Kill()
			_ = child.Wait()
		}
	}()

	select { // its start-up is not counted
	case <-srv.polled:
	case <-time.After(30 * time.Second):
		return res, errors.New("the null bot did not poll within 30s")
	case <-ctx.Done():
		return res, ctx.Err()
	}
	kinds := floorKinds()
	var mu sync.Mutex
	start := time.Now()
	cpu0, err := procCPU(child.Process.Pid)
	if err != nil {
		return res, err
	}
	fmt.Fprintf(stdout, "floor: %d members, %d actions each, think %v...\n", *members, *rounds*len(kinds), *think)
	var wg sync.WaitGroup
	var lost atomic.Int64
	for i := range *members {
		chat := int64(5_000_000 + i)
		replies := make(chan string, 4)
		srv.waiters.Store(chat, replies)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if !ctxtime.Sleep(ctx, time.Duration(int64(*ramp)*int64(i)/int64(*members))) {
				return
			}
			for range *rounds {
				for _, k := range kinds {
					// A toggle is answered by an edit; a message or a press
					// by the next step's message (a press's edit comes first).
					want := "sendMessage"
					if k == "toggle" {
						want = "editMessageReplyMarkup"
					}
					sent := time.Now()
					srv.push(chat, k)
					timeout := time.After(15 * time.Second)
				wait:
					for {
						select {
						case m := <-replies:
							if m == want {
								break wait
							}
						case <-timeout:
							lost.Add(1)
							break wait
						case <-ctx.Done():
							return
						}
					}
					mu.Lock()
					res.Latency = append(res.Latency, time.Since(sent))
					mu.Unlock()
					if !ctxtime.Sleep(ctx, *think/2+rand.N(*think)) {
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	time.Sleep(200 * time.Millisecond) // the last calls of the last replies
	cpu1, err := procCPU(child.Process.Pid)
	if err != nil {
		return res, err
	}
	res.Duration = time.Since(start)
	res.CPU = cpu1 - cpu0
	res.TelegramCalls = srv.calls.Load()
	// Stop the null bot: it writes its counts on SIGINT, once its
	// long poll is cut.
	_ = child.Process.Signal(os.Interrupt)
	time.Sleep(50 * time.Millisecond)
	hs.Close()
	if err := child.Wait(); err != nil {
		return res, fmt.Errorf("null bot: %w", err)
	}
	stopped = true
	var c floorCounts
	b, err := os.ReadFile(counts)
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil {
		return res, fmt.Errorf("the null bot's counts: %w", err)
	}
	res.Updates, res.RoundTrips = c.Updates, c.RoundTrips
	slices.Sort(res.Latency)
	if n := lost.Load(); n > 0 {
		return res, fmt.Errorf("%d replies never came", n)
	}
	return res, nil
}

func reportFloor(w io.Writer, r FloorResult) {
	per := func(n int64) float64 { return float64(n) / float64(max(r.Updates, 1)) }
	pct := func(p float64) time.Duration {
		if len(r.Latency) == 0 {
			return 0
		}
		return r.Latency[min(len(r.Latency)-1, int(p*float64(len(r.Latency))))]
	}
	fmt.Fprintf(w, "updates            %d in %v\n", r.Updates, r.Duration.Round(time.Millisecond))
	fmt.Fprintf(w, "reply latency      p50 %v  p99 %v\n", pct(0.50).Round(10*time.Microsecond), pct(0.99).Round(10*time.Microsecond))
	fmt.Fprintf(w, "null bot CPU       %.0f µs per update (%v in all)\n", float64(r.CPU)/float64(time.Microsecond)/float64(max(r.Updates, 1)), r.CPU.Round(time.Millisecond))
	fmt.Fprintf(w, "redis round trips  %.2f per update\n", per(r.RoundTrips))
	fmt.Fprintf(w, "telegram calls     %.2f per update (getUpdates included)\n", per(r.TelegramCalls))
}
