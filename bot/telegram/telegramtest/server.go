package telegramtest

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"bridgebot/bot/internal/fakeserver"
)

// DefaultToken is the bot token a Server accepts unless WithToken is given.
// The part before the colon is the bot's user id, as with real tokens.
const DefaultToken = "123456:TEST-token"

// DefaultBotUsername is the bot's username unless WithBotUsername is given.
const DefaultBotUsername = "bridge_test_bot"

// firstUpdateID is deliberately not 0 or 1, so a bot that confuses update
// ids with counters or treats offset 0 specially is caught.
const firstUpdateID = 1000

// Server is a fake Telegram Bot API server. Create it with New in a test,
// or NewServer elsewhere.
type Server struct {
	report  fakeserver.Reporter
	cfg     config
	srv     *httptest.Server
	bot     User
	changes *fakeserver.Changes

	closeOnce sync.Once
	closing   chan struct{} // closed by Close to end pending long polls

	// mu guards everything below. Handlers run with it held (getUpdates
	// releases it while waiting), so every request is atomic with respect
	// to the simulated members and to observers. Every change of state
	// is followed by changes.Notify.
	mu sync.Mutex

	outage fakeserver.Outage
	faults fakeserver.Faults[fault] // keyed by lower-case method name

	chats     map[int64]*chat
	files     map[string]*storedFile // by file_id
	filePaths map[string]*storedFile // by file_path
	fileList  []*storedFile          // in creation order

	updates      []queuedUpdate // unconfirmed updates, ascending ids
	nextUpdateID int
	confirmed    int
	poller       *poller

	webhook   Webhook
	hook      hookState
	commands  map[string][]BotCommand // by commandKey
	callbacks map[string]*callbackState
	inlineIDs map[string]bool
	nextQuery int

	requests []*Request

	global      window
	accepted    int
	rateLimited int
}

// New starts a Server for a test: it reports to tb and is closed at the
// test's cleanup.
func New(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	return fakeserver.ForTest(tb, "telegramtest", func(r fakeserver.Reporter) (*Server, error) { return newServer(r, opts) })
}

// NewServer starts a Server outside a test (see fakeserver.Standalone for
// how it reports its own errors). The caller must Close it.
func NewServer(opts ...Option) (*Server, error) {
	return newServer(fakeserver.Standalone{}, opts)
}

// Option configures a Server.
type Option func(*config)

// WithToken sets the token the server accepts (default DefaultToken). The
// digits before the colon become the bot's user id.
func WithToken(token string) Option { return func(c *config) { c.token = token } }

// WithBotUsername sets the username getMe reports (default DefaultBotUsername).
func WithBotUsername(username string) Option { return func(c *config) { c.username = username } }

// WithRateLimit enforces Telegram's flood limits on sent messages: at most
// global messages in any one-second window across all chats and at most
// perChat messages per chat in any one-second window. Zero disables a
// limit; both are off by default. Telegram's real values are about 30 and 1.
func WithRateLimit(global, perChat int) Option {
	return func(c *config) { c.globalLimit, c.perChatLimit = global, perChat }
}

// WithPaidLimit sets the global limit that applies to requests with
// allow_paid_broadcast=true while a global limit is enforced (default 1000,
// Telegram's paid broadcast limit).
func WithPaidLimit(perSecond int) Option { return func(c *config) { c.paidLimit = perSecond } }

// WithClock replaces the clock used for message dates, rate-limit windows
// and callback query expiry. Long-poll timeouts always use real time.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithCallbackTTL sets how long a callback query can be answered (default
// 15s); later answers fail as Telegram's do.
func WithCallbackTTL(d time.Duration) Option { return func(c *config) { c.callbackTTL = d } }

// config is assembled by Options before the server starts.
type config struct {
	token        string
	username     string
	firstName    string
	globalLimit  int
	perChatLimit int
	paidLimit    int
	now          func() time.Time
	callbackTTL  time.Duration
	hookRetry    time.Duration
}

func newServer(report fakeserver.Reporter, opts []Option) (*Server, error) {
	cfg := config{
		token:       DefaultToken,
		username:    DefaultBotUsername,
		firstName:   "Bridge Test Bot",
		paidLimit:   1000,
		now:         time.Now,
		callbackTTL: 15 * time.Second,
		hookRetry:   100 * time.Millisecond,
	}
	for _, opt := range opts {
		opt(&cfg)
	}
	botID, err := strconv.ParseInt(strings.SplitN(cfg.token, ":", 2)[0], 10, 64)
	if err != nil || botID <= 0 {
		botID = 123456
	}
	s := &Server{
		report:       report,
		cfg:          cfg,
		bot:          User{ID: botID, FirstName: cfg.firstName, Username: cfg.username},
		changes:      fakeserver.NewChanges("telegramtest"),
		closing:      make(chan struct{}),
		outage:       fakeserver.Outage{Status: http.StatusBadGateway, Page: []byte(badGatewayPage)},
		chats:        map[int64]*chat{},
		files:        map[string]*storedFile{},
		filePaths:    map[string]*storedFile{},
		nextUpdateID: firstUpdateID,
		commands:     map[string][]BotCommand{},
		callbacks:    map[string]*callbackState{},
		inlineIDs:    map[string]bool{},
	}
	if s.srv, err = fakeserver.Listen(http.HandlerFunc(s.serveHTTP)); err != nil {
		return nil, err
	}
	s.startHookDelivery()
	return s, nil
}

// Close ends pending long polls and shuts the server down. New calls it at
// test cleanup; it is safe to call more than once.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.closing)
		s.stopHookDelivery()
		s.srv.Close()
	})
}

// URL is the server's base URL, e.g. http://127.0.0.1:port; the bot calls
// URL()+"/bot"+token+"/"+method.
func (s *Server) URL() string { return s.srv.URL }

// Token is the bot token the server accepts.
func (s *Server) Token() string { return s.cfg.token }

// Endpoint is the API endpoint format string for
// tgbotapi.NewBotAPIWithClient: URL()+"/bot%s/%s".
func (s *Server) Endpoint() string { return s.srv.URL + "/bot%s/%s" }

// FileURL is the download URL of a file_path returned by getFile. (tgbotapi's
// File.Link always points at api.telegram.org.)
func (s *Server) FileURL(filePath string) string {
	return s.srv.URL + "/file/bot" + s.cfg.token + "/" + filePath
}

// HTTPClient returns an http.Client for the server with a generous overall
// timeout, so a test with a broken bot fails instead of hanging.
func (s *Server) HTTPClient() *http.Client { return fakeserver.Client(s.srv) }

// BotUser is the bot's own user, as getMe reports it.
func (s *Server) BotUser() User { return s.bot }

// now reads the configured clock.
func (s *Server) now() time.Time { return s.cfg.now() }

// Changed returns a channel that is closed at the next state change of the
// server (any request, any simulated member action). Take it before checking
// a condition, then wait on it, and no change can be missed.
func (s *Server) Changed() <-chan struct{} { return s.changes.Changed() }
