package main

// The sign-up mode: simulated members fill in the sign-up form, each in a
// closed loop (act, wait for the bot's reply, think, act again), against
// the real bot.
//
// The bot runs as `bridgebot run` child processes rather than in this
// process: its CPU time and resident memory are then its own, read from
// /proc, not mixed with the fake Telegram's and the members' (which cost
// as much as the bot). It is the binary operators run, configured the way
// they configure it (environment), and -replicas starts several of them
// on one Redis behind a round-robin balancer, as in production.
//
//	REDIS_URL=redis://127.0.0.1:6379/0 go run ./cmd/bridgeload -members 1000
//	... -members 10000 -steps 8            # everyone stops mid-form
//	... -replicas 3                        # three bots behind a balancer (webhook mode)
//	... -cpuprofile bot.prof               # the bot's CPU profile (go tool pprof)

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"bridgebot/bot/telegram/telegramtest"
	"bridgebot/internal/ctxtime"
	"bridgebot/internal/testkit"
)

// SignupResult is what one sign-up run measured.
type SignupResult struct {
	Members, Replicas  int
	FullForm           bool  // members went all the way to confirming
	Updates            int64 // updates the bots handled while members acted
	Actions            int   // member actions that got their reply
	Errors             int   // replies that never came, unexpected replies, API errors
	Completed          int   // members who reached their last step
	Saved              int   // sign-ups in Redis afterwards
	Duplicates         int   // chats with more bot messages than their script explains
	Duration           time.Duration
	Latency            []time.Duration // sorted reply latencies
	CPU                time.Duration   // the bots' user+system CPU while members acted
	RoundTrips         float64         // Redis round trips the bots made meanwhile
	PeakRSS            uint64          // highest VmHWM of any replica, bytes
	UpdateErrors       float64         // updates the bots counted as failed
	TelegramAPIErrors  int64           // non-2xx answers of the fake Telegram
	TelegramCalls      float64         // Bot API calls the bots made meanwhile
	LoadCPU            time.Duration   // this program's CPU meanwhile (fake Telegram, proxy, members)
	firstErr, firstMsg string
}

// UpdatesPerSecond is the handled rate over the members' run.
func (r SignupResult) UpdatesPerSecond() float64 { return float64(r.Updates) / r.Duration.Seconds() }

// CPUPerUpdate is the bots' CPU time per handled update.
func (r SignupResult) CPUPerUpdate() time.Duration {
	return time.Duration(float64(r.CPU) / float64(max(r.Updates, 1)))
}

// Percentile of the reply latencies (p in 0..100).
func (r SignupResult) Percentile(p float64) time.Duration {
	if len(r.Latency) == 0 {
		return 0
	}
	i := int(math.Ceil(p/100*float64(len(r.Latency)))) - 1
	return r.Latency[min(max(i, 0), len(r.Latency)-1)]
}

type signupOptions struct {
	members, replicas, steps, workers int
	think, ramp, timeout, duration    time.Duration
	webhook                           bool
	botPath, cpuprofile               string
}

func runSignup(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) (SignupResult, error) {
	fs := flag.NewFlagSet("bridgeload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o signupOptions
	fs.IntVar(&o.members, "members", 1000, "simulated members, all at once")
	fs.IntVar(&o.replicas, "replicas", 1, "bot processes on one Redis (more than 1: webhook mode behind a round-robin balancer)")
	fs.IntVar(&o.steps, "steps", len(scripts["en"]), "steps of the form each member takes (fewer: members stop mid-form)")
	fs.IntVar(&o.workers, "workers", 0, "the bot's WORKERS (0: its default)")
	fs.DurationVar(&o.think, "think", 2*time.Second, "mean think time between a reply and the member's next action (uniform, ±50%)")
	fs.DurationVar(&o.ramp, "ramp", 5*time.Second, "members start spread over this much time")
	fs.DurationVar(&o.timeout, "timeout", 15*time.Second, "longest wait for one reply before counting an error")
	fs.DurationVar(&o.duration, "duration", 10*time.Minute, "stop the run after this long, done or not")
	fs.BoolVar(&o.webhook, "webhook", false, "webhook mode with one replica too (default: long polling)")
	fs.StringVar(&o.botPath, "bot", "", "a built bridgebot binary (default: go build ./cmd/bridgebot)")
	fs.StringVar(&o.cpuprofile, "cpuprofile", "", "write the bot's CPU profile to `file` (replica i>0 to file.i)")
	if err := fs.Parse(args); err != nil {
		return SignupResult{}, err
	}
	if o.members < 1 || o.replicas < 1 || o.steps < 1 || o.steps > len(scripts["en"]) {
		return SignupResult{}, fmt.Errorf("want -members and -replicas at least 1 and -steps from 1 to %d", len(scripts["en"]))
	}
	redisURL := getenv("REDIS_URL")
	if redisURL == "" {
		return SignupResult{}, errors.New("REDIS_URL is not set: the load runs against a real Redis")
	}
	// The bots' logs arrive from several processes' copying goroutines.
	stderr = &lockedWriter{w: stderr}
	l := &signupLoad{o: o, stdout: stdout, stderr: stderr, redisURL: redisURL,
		prefix: fmt.Sprintf("bridgeload:%d:%d:", os.Getpid(), time.Now().UnixNano())}
	defer l.close()
	if err := l.start(ctx, getenv); err != nil {
		return SignupResult{}, err
	}
	res, err := l.drive(ctx)
	if err != nil {
		return res, err
	}
	reportSignup(stdout, res)
	return res, nil
}

// signupLoad is one run: the fake Telegram with its recording proxy, the
// bot processes, the members.
type signupLoad struct {
	o                        signupOptions
	stdout, stderr           io.Writer
	redisURL, prefix         string
	tmp                      string
	tg                       *telegramtest.Server
	servers                  []*http.Server
	bots                     []*botProcess
	rdb                      *redis.Client
	notify                   sync.Map // chat ID → chan struct{}: the bot sent or edited a message there
	apiErrors                atomic.Int64
	firstAPIErr              atomic.Value
	membersByID              map[int64]*member
	webhookSecret, dataKey   string
	proxyURL, balancerURL    string
	errMu                    sync.Mutex
	errCount                 int
	firstErr                 string
	latMu                    sync.Mutex
	latencies                []time.Duration
	completed, actionsRepled atomic.Int64
}

// botProcess is one running `bridgebot run`.
type botProcess struct {
	cmd  *exec.Cmd
	addr string // its HTTP_ADDR
	done chan error
}

func (l *signupLoad) start(ctx context.Context, getenv func(string) string) error {
	var err error
	if l.tmp, err = os.MkdirTemp("", "bridgeload-"); err != nil {
		return err
	}
	bin := l.o.botPath
	if bin == "" {
		bin = filepath.Join(l.tmp, "bridgebot")
		fmt.Fprintln(l.stdout, "building bridgebot...")
		build := exec.CommandContext(ctx, "go", "build", "-o", bin, "bridgebot/cmd/bridgebot")
		build.Stdout, build.Stderr = l.stderr, l.stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("go build bridgebot (run from the repository, or pass -bot): %w", err)
		}
	}
	opt, err := redis.ParseURL(l.redisURL)
	if err != nil {
		return fmt.Errorf("REDIS_URL: %w", err)
	}
	l.rdb = redis.NewClient(opt)
	if err := l.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	l.dataKey = base64.StdEncoding.EncodeToString(key)
	l.webhookSecret = "bridgeload-" + strconv.FormatInt(time.Now().UnixNano(), 36)

	if l.tg, err = telegramtest.NewServer(); err != nil {
		return err
	}
	target, _ := url.Parse(l.tg.URL())
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.Transport = loopbackTransport()
	// A long poll cut short when the bots stop is no error of the run;
	// failures while members act show up as the bot's errors and retries.
	proxy.ErrorLog = log.New(io.Discard, "", 0)
	if l.proxyURL, err = l.serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { l.recordAPI(w, r, proxy) })); err != nil {
		return err
	}
	webhook := l.o.webhook || l.o.replicas > 1
	ports := make([]string, l.o.replicas)
	for i := range ports {
		if ports[i], err = freeAddr(); err != nil {
			return err
		}
	}
	if webhook {
		var next atomic.Uint64
		backends := make([]*httputil.ReverseProxy, len(ports))
		for i, addr := range ports {
			backends[i] = httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: addr})
			backends[i].Transport = loopbackTransport()
		}
		if l.balancerURL, err = l.serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			backends[next.Add(1)%uint64(len(backends))].ServeHTTP(w, r)
		})); err != nil {
			return err
		}
		l.tg.RouteWebhook(l.balancerURL)
	}
	for i, addr := range ports {
		env := []string{
			"TELEGRAM_BOT_TOKEN=" + l.tg.Token(), "TELEGRAM_API_URL=" + l.proxyURL,
			"REDIS_URL=" + l.redisURL, "REDIS_PREFIX=" + l.prefix, "HTTP_ADDR=" + addr,
			"BRIDGE_DATA_KEY=" + l.dataKey, "REPLICA_ID=" + strconv.Itoa(i),
			"LOG_LEVEL=" + or(getenv("BRIDGELOAD_LOG_LEVEL"), "warn"), "HOME=" + l.tmp, "PATH=" + getenv("PATH"),
		}
		if webhook {
			env = append(env, "TELEGRAM_WEBHOOK_URL=https://bot.example.org/telegram/webhook", "TELEGRAM_WEBHOOK_SECRET="+l.webhookSecret)
		}
		for _, k := range []string{"GOMAXPROCS", "GOGC", "GOMEMLIMIT", "GODEBUG"} {
			if v := getenv(k); v != "" { // the Go runtime's own settings, for comparing runs
				env = append(env, k+"="+v)
			}
		}
		if l.o.workers > 0 {
			env = append(env, "WORKERS="+strconv.Itoa(l.o.workers))
		}
		args := []string{"run"}
		if l.o.cpuprofile != "" {
			p := l.o.cpuprofile
			if i > 0 {
				p += "." + strconv.Itoa(i)
			}
			args = append(args, "-cpuprofile", p)
		}
		cmd := exec.Command(bin, args...)
		cmd.Env, cmd.Dir, cmd.Stdout, cmd.Stderr = env, l.tmp, l.stderr, l.stderr
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("start bridgebot: %w", err)
		}
		p := &botProcess{cmd: cmd, addr: addr, done: make(chan error, 1)}
		go func() { p.done <- cmd.Wait() }()
		l.bots = append(l.bots, p)
	}
	for _, p := range l.bots {
		if err := p.waitReady(ctx, 60*time.Second); err != nil {
			return err
		}
	}
	return nil
}

// serve runs h on a loopback port and returns its URL.
func (l *signupLoad) serve(h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	l.servers = append(l.servers, srv)
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), nil
}

func loopbackTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	t.MaxIdleConns, t.MaxIdleConnsPerHost = 1024, 1024
	return t
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// recordAPI forwards one Bot API call of the bot to the fake and, once
// answered, wakes the member whose chat got a message or an edit.
func (l *signupLoad) recordAPI(w http.ResponseWriter, r *http.Request, proxy *httputil.ReverseProxy) {
	method := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
	// The body is read whole before the call is forwarded. net/http's
	// server closes a request's body once the answer has begun, and the
	// proxy's transport reads the body once more after copying it (to
	// check its length): when the fake answered first (getUpdates with
	// updates waiting), that read failed, the transport dropped its
	// connection to the fake mid-answer ("use of closed network
	// connection"), and the bot got the answer cut short ("getUpdates
	// failed: unexpected EOF"; golang/go#40747).
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "incomplete request", http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	var chatID int64
	if strings.HasPrefix(method, "sendMessage") || strings.HasPrefix(method, "editMessage") {
		if v, err := url.ParseQuery(string(body)); err == nil {
			chatID, _ = strconv.ParseInt(v.Get("chat_id"), 10, 64)
		}
	}
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	proxy.ServeHTTP(sw, r)
	if sw.status >= 300 {
		// A 400 "message is not modified" is the bot's business; anything
		// else the fake refused is an error of the run.
		l.apiErrors.Add(1)
		l.firstAPIErr.CompareAndSwap(nil, fmt.Sprintf("%s answered %d", method, sw.status))
	}
	if chatID != 0 {
		if ch, ok := l.notify.Load(chatID); ok {
			select {
			case ch.(chan struct{}) <- struct{}{}:
			default:
			}
		}
	}
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) { w.status = code; w.ResponseWriter.WriteHeader(code) }

// waitReady polls the bot's /readyz until it answers 200 (bounded).
func (p *botProcess) waitReady(ctx context.Context, within time.Duration) error {
	deadline := time.Now().Add(within)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := http.Get("http://" + p.addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case err := <-p.done:
			return fmt.Errorf("bridgebot exited while starting: %v", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("bridgebot at %s not ready within %v", p.addr, within)
		}
	}
}

// sample is what the bots' /proc and /metrics say at one moment.
type sample struct {
	cpu        time.Duration
	updates    float64
	failed     float64
	roundTrips float64
	apiCalls   float64
	self       time.Duration
}

func (l *signupLoad) sample() (sample, error) {
	var s sample
	for _, p := range l.bots {
		cpu, err := procCPU(p.cmd.Process.Pid)
		if err != nil {
			return s, err
		}
		s.cpu += cpu
		m, err := scrape("http://" + p.addr + "/metrics")
		if err != nil {
			return s, err
		}
		s.updates += m.sum("bridgebot_updates_total", "")
		s.failed += m.sum("bridgebot_updates_total", `outcome="error"`)
		s.roundTrips += m.sum("bridgebot_redis_round_trips_total", "")
		s.apiCalls += m.sum("bridgebot_telegram_api_requests_total", "")
	}
	var err error
	s.self, err = procCPU(os.Getpid())
	return s, err
}

// drive runs the members and measures.
func (l *signupLoad) drive(ctx context.Context) (SignupResult, error) {
	res := SignupResult{Members: l.o.members, Replicas: l.o.replicas, FullForm: l.o.steps == len(scripts["en"])}
	ctx, cancel := context.WithTimeout(ctx, l.o.duration)
	defer cancel()
	members := make([]*member, l.o.members)
	l.membersByID = map[int64]*member{}
	for i := range members {
		lang := "en"
		if i%2 == 1 {
			lang = "es"
		}
		m := &member{l: l, u: telegramtest.User{ID: firstMember + int64(i), FirstName: "Member" + strconv.Itoa(i), LanguageCode: lang},
			script: scripts[lang][:l.o.steps], notify: make(chan struct{}, 1)}
		l.notify.Store(m.u.ID, m.notify)
		members[i] = m
		l.membersByID[m.u.ID] = m
	}
	before, err := l.sample()
	if err != nil {
		return res, err
	}
	fmt.Fprintf(l.stdout, "%d members, %d steps each, think %v, %d replica(s)...\n", l.o.members, l.o.steps, l.o.think, l.o.replicas)
	start := time.Now()
	var wg sync.WaitGroup
	for i, m := range members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if !ctxtime.Sleep(ctx, time.Duration(int64(l.o.ramp)*int64(i)/int64(len(members)))) {
				return
			}
			m.run(ctx)
		}()
	}
	wg.Wait()
	res.Duration = time.Since(start)
	// A reply is sent before its update is counted: let the count catch up.
	var after sample
	for wait := time.Now().Add(2 * time.Second); ; {
		if after, err = l.sample(); err != nil {
			return res, err
		}
		if int(after.updates-before.updates) >= len(l.latencies) || time.Now().After(wait) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	res.CPU = after.cpu - before.cpu
	res.Updates = int64(after.updates - before.updates)
	res.UpdateErrors = after.failed - before.failed
	res.RoundTrips = after.roundTrips - before.roundTrips
	res.TelegramCalls = after.apiCalls - before.apiCalls
	res.LoadCPU = after.self - before.self
	for _, p := range l.bots {
		rss, err := procPeakRSS(p.cmd.Process.Pid)
		if err != nil {
			return res, err
		}
		res.PeakRSS = max(res.PeakRSS, rss)
	}
	res.Latency = slices.Clone(l.latencies)
	slices.Sort(res.Latency)
	res.Actions = len(res.Latency)
	res.Completed = int(l.completed.Load())
	res.TelegramAPIErrors = l.apiErrors.Load()
	res.Errors = l.errCount + int(res.TelegramAPIErrors) + int(res.UpdateErrors)
	res.firstMsg = l.firstErr
	if v, ok := l.firstAPIErr.Load().(string); ok && res.firstMsg == "" {
		res.firstMsg = v
	}
	for _, m := range members {
		// A member who gave up waiting may get the late reply after; only
		// members who got every reply in time are counted.
		if n := l.tg.MessageCount(m.u.ID); m.finished && n > m.expectedMessages {
			res.Duplicates++
		}
	}
	if l.o.steps == len(scripts["en"]) {
		n, err := l.countSignups(context.Background())
		if err != nil {
			return res, err
		}
		res.Saved = n
	}
	if err := ctx.Err(); err != nil && res.Completed < l.o.members {
		fmt.Fprintf(l.stdout, "stopped after %v (-duration): %d of %d members finished\n", res.Duration.Round(time.Second), res.Completed, l.o.members)
	}
	return res, nil
}

// countSignups counts the members' sign-ups in Redis. The key layout is
// redisstore's: one value per sign-up under {prefix}signup:{chat}.
func (l *signupLoad) countSignups(ctx context.Context) (int, error) {
	n := 0
	iter := l.rdb.Scan(ctx, 0, l.prefix+"signup:*", 1000).Iterator()
	for iter.Next(ctx) {
		id, err := strconv.ParseInt(strings.TrimPrefix(iter.Val(), l.prefix+"signup:"), 10, 64)
		if err == nil && l.membersByID[id] != nil {
			n++
		}
	}
	return n, iter.Err()
}

func (l *signupLoad) fail(format string, args ...any) {
	l.errMu.Lock()
	defer l.errMu.Unlock()
	l.errCount++
	if l.firstErr == "" {
		l.firstErr = fmt.Sprintf(format, args...)
	}
}

func (l *signupLoad) latency(d time.Duration) {
	l.latMu.Lock()
	l.latencies = append(l.latencies, d)
	l.latMu.Unlock()
}

// close stops the bots (SIGTERM, so a CPU profile is written), the
// servers, and deletes the run's keys.
func (l *signupLoad) close() {
	for _, p := range l.bots {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
	}
	for _, p := range l.bots {
		select {
		case <-p.done:
		case <-time.After(30 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	}
	for _, s := range l.servers {
		_ = s.Close()
	}
	if l.tg != nil {
		l.tg.Close()
	}
	if l.rdb != nil {
		deletePrefix(l.rdb, l.prefix)
		l.rdb.Close()
	}
	if l.tmp != "" {
		os.RemoveAll(l.tmp)
	}
}

// firstMember is the first simulated member's chat ID.
const firstMember = 7_000_000_001

// scripts are the sign-up form as a member fills it in, per language; the
// same answers as the end-to-end test.
var scripts = map[string][]testkit.Step{
	"en": testkit.Signup{Lang: "en", Name: "Sam O'Neil", Role: "Organizer", Organization: "Red Fronteriza", Region: "Tucson, Arizona",
		Areas: []string{"Workers' rights"}, Email: "sam@example.org", Hopes: "Stories from the border"}.Steps(),
	"es": testkit.Signup{Lang: "es", Name: "María José Pérez", Role: "Educador/a popular", Organization: "Red Fronteriza",
		Region: "Ciudad Juárez, Chihuahua", Border: true, Areas: []string{"Migración"}, Email: "maria@ejemplo.org",
		Hopes: "Historias de la frontera", Announcements: true}.Steps(),
}

// member is one simulated person.
type member struct {
	l      *signupLoad
	u      telegramtest.User
	script []testkit.Step
	notify chan struct{}
	// expectedMessages is how many bot messages the steps taken so far
	// explain; more means an update was handled twice.
	expectedMessages int
	finished         bool // every step got its reply
}

func (m *member) run(ctx context.Context) {
	tg := m.l.tg
	for i, s := range m.script {
		if i > 0 {
			think := m.l.o.think/2 + mrand.N(m.l.o.think+1)
			if !ctxtime.Sleep(ctx, think) {
				return
			}
		}
		before := tg.MessageCount(m.u.ID)
		var check func() bool
		start := time.Now()
		switch s.Kind {
		case "say":
			tg.SendText(m.u, s.Arg)
			check = func() bool { return m.replied(before, s.Expect) }
		case "press", "toggle":
			msgID, data, err := testkit.Button(tg.Messages(m.u.ID), s.Arg)
			if err != nil {
				m.l.fail("chat %d step %d: %v", m.u.ID, i, err)
				return
			}
			tg.PressButton(m.u, msgID, data)
			if s.Kind == "toggle" {
				check = func() bool { msg, _ := tg.Message(m.u.ID, msgID); return testkit.Toggled(msg, s.Arg) }
			} else {
				check = func() bool { return m.replied(before, s.Expect) }
			}
		}
		if !m.wait(ctx, check) {
			if ctx.Err() == nil {
				m.l.fail("chat %d step %d (%s %q): no reply containing %q within %v", m.u.ID, i, s.Kind, s.Arg, s.Expect, m.l.o.timeout)
			}
			return
		}
		m.l.latency(time.Since(start))
		m.expectedMessages = tg.MessageCount(m.u.ID)
	}
	m.finished = true
	m.l.completed.Add(1)
}

// wait blocks until check holds, woken by the bot's messages to the chat.
func (m *member) wait(ctx context.Context, check func() bool) bool {
	t := time.NewTimer(m.l.o.timeout)
	defer t.Stop()
	for !check() {
		select {
		case <-m.notify:
		case <-t.C:
			return false
		case <-ctx.Done():
			return false
		}
	}
	return true
}

func (m *member) replied(before int, expect string) bool {
	if m.l.tg.MessageCount(m.u.ID) <= before {
		return false // cheap: no new message yet (a callback answer, a cleared keyboard)
	}
	msgs := m.l.tg.Messages(m.u.ID)
	for _, msg := range msgs[min(before, len(msgs)):] {
		if strings.Contains(msg.PlainText, expect) {
			return true
		}
	}
	return false
}

func reportSignup(w io.Writer, r SignupResult) {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }
	fmt.Fprintf(w, "members            %d (%d completed), %d replica(s)\n", r.Members, r.Completed, r.Replicas)
	fmt.Fprintf(w, "duration           %v\n", r.Duration.Round(time.Millisecond))
	fmt.Fprintf(w, "updates            %d handled, %.1f/s\n", r.Updates, r.UpdatesPerSecond())
	fmt.Fprintf(w, "reply latency      p50 %s  p95 %s  p99 %s  max %s  (%d replies)\n",
		ms(r.Percentile(50)), ms(r.Percentile(95)), ms(r.Percentile(99)), ms(r.Percentile(100)), r.Actions)
	fmt.Fprintf(w, "errors             %d (updates failed %.0f, Telegram API errors %d)\n", r.Errors, r.UpdateErrors, r.TelegramAPIErrors)
	if r.firstMsg != "" {
		fmt.Fprintf(w, "  first            %s\n", r.firstMsg)
	}
	fmt.Fprintf(w, "bot CPU            %.0f µs per update (%v in all)\n", float64(r.CPUPerUpdate())/float64(time.Microsecond), r.CPU.Round(time.Millisecond))
	fmt.Fprintf(w, "redis round trips  %.2f per update\n", r.RoundTrips/float64(max(r.Updates, 1)))
	fmt.Fprintf(w, "telegram calls     %.2f per update\n", r.TelegramCalls/float64(max(r.Updates, 1)))
	fmt.Fprintf(w, "load program CPU   %v (fake Telegram, proxy, members; same machine)\n", r.LoadCPU.Round(time.Millisecond))
	fmt.Fprintf(w, "bot peak RSS       %.1f MiB (highest replica)\n", mib(r.PeakRSS))
	fmt.Fprintf(w, "double handling    %d chats (of members who got every reply) got more messages than their steps explain\n", r.Duplicates)
	if r.FullForm {
		fmt.Fprintf(w, "sign-ups saved     %d of %d members\n", r.Saved, r.Members)
	}
}

// metricsText is a scraped Prometheus text exposition.
type metricsText string

func scrape(u string) (metricsText, error) {
	resp, err := http.Get(u)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return metricsText(b), err
}

// sum adds the samples of a family whose labels contain match.
func (m metricsText) sum(name, match string) float64 {
	var total float64
	for _, line := range strings.Split(string(m), "\n") {
		if !strings.HasPrefix(line, name) || strings.HasPrefix(line, "#") {
			continue
		}
		rest := line[len(name):]
		if rest == "" || (rest[0] != '{' && rest[0] != ' ') || !strings.Contains(rest, match) {
			continue
		}
		f := strings.Fields(rest[strings.LastIndexByte(rest, '}')+1:])
		if len(f) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err == nil {
			total += v
		}
	}
	return total
}

// lockedWriter serialises writes from several goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}
