package slacktest

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"bridgebot/bot/internal/fakeserver"
)

// Defaults for the workspace the fake simulates.
const (
	DefaultBotToken          = "xoxb-test"
	DefaultAppToken          = "xapp-test"
	DefaultBotUserID         = "UBOT"
	DefaultBotID             = "BBOT"
	DefaultBotName           = "staffdesk"
	DefaultTeamID            = "T0001"
	DefaultTeamName          = "Fake Workspace"
	DefaultTeamDomain        = "fake"
	DefaultAppID             = "A0001"
	DefaultVerificationToken = "verification-token"
)

// Server is a fake Slack. Create it with New in a test, or NewServer
// elsewhere.
type Server struct {
	report  fakeserver.Reporter
	cfg     config
	srv     *httptest.Server
	changes *fakeserver.Changes

	closeOnce sync.Once

	// mu guards everything below. API handlers run with it held, so every
	// request is atomic with respect to the simulated staff and to observers.
	// Every change of state is followed by changes.Notify.
	mu     sync.Mutex
	closed bool

	outage    fakeserver.Outage
	faults    fakeserver.Faults[fault] // keyed by method name ("*" for any)
	failFor   map[string]failWindow
	requests  []*Request
	calls     map[string]int
	ratelimit int // 429s served

	lastTS  int64 // last message ts handed out, in microseconds
	seq     int   // for ids of every kind
	eventN  int
	channel map[string]*channel
	chanIDs []string // in AddChannel order
	users   map[string]*User

	ephemerals   []Ephemeral
	files        map[string]*storedFile
	fileOrder    []string
	deletedFiles []string                   // by files.delete
	holds        map[string][]chan struct{} // see HoldNext

	triggers  map[string]*trigger
	views     map[string]*View
	viewOrder []string

	responseURLs  map[string]*responseTarget
	responsePosts []ResponsePost

	socketTickets map[string]bool
	sockets       map[*socketConn]bool
	socketConnect int // connections ever accepted
	envelopes     map[string]*envelope
	envOrder      []string
	pendingEnv    []string // envelope ids waiting for a connection
	acks          []Ack
}

type config struct {
	botToken    string
	appToken    string
	botUserID   string
	botID       string
	botName     string
	teamID      string
	teamName    string
	teamDomain  string
	appID       string
	verifyToken string
	now         func() time.Time
	triggerTTL  time.Duration
	pingEvery   time.Duration
}

// Option configures a Server.
type Option func(*config)

// WithBotToken sets the bot token (default DefaultBotToken).
func WithBotToken(token string) Option { return func(c *config) { c.botToken = token } }

// WithAppToken sets the app-level token accepted by apps.connections.open
// (default DefaultAppToken).
func WithAppToken(token string) Option { return func(c *config) { c.appToken = token } }

// WithBotUserID sets the bot's user id reported by auth.test (default "UBOT").
func WithBotUserID(id string) Option { return func(c *config) { c.botUserID = id } }

// WithBotID sets the bot id (B...) stamped on the bot's messages (default "BBOT").
func WithBotID(id string) Option { return func(c *config) { c.botID = id } }

// WithBotName sets the bot user's name (default DefaultBotName).
func WithBotName(name string) Option { return func(c *config) { c.botName = name } }

// WithTeam sets the workspace id, name and domain.
func WithTeam(id, name, domain string) Option {
	return func(c *config) { c.teamID, c.teamName, c.teamDomain = id, name, domain }
}

// WithAppID sets the api_app_id of events and payloads (default "A0001").
func WithAppID(id string) Option { return func(c *config) { c.appID = id } }

// WithVerificationToken sets the legacy verification token put into events
// and payloads (default DefaultVerificationToken).
func WithVerificationToken(token string) Option { return func(c *config) { c.verifyToken = token } }

// WithClock replaces the clock used for message timestamps, event times,
// trigger expiry and FailFor windows.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithTriggerTTL sets how long a trigger_id can be exchanged for a modal
// (default 3s, as Slack).
func WithTriggerTTL(d time.Duration) Option { return func(c *config) { c.triggerTTL = d } }

// WithSocketPingInterval sets how often Socket Mode connections get a
// WebSocket ping (default 5s). slack-go reconnects when it sees no ping for
// its OptionPingInterval (default 30s), so keep this well below that.
func WithSocketPingInterval(d time.Duration) Option { return func(c *config) { c.pingEvery = d } }

// New starts a Server for a test: it reports to tb and is closed at the
// test's cleanup.
func New(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	return fakeserver.ForTest(tb, "slacktest", func(r fakeserver.Reporter) (*Server, error) { return newServer(r, opts) })
}

// NewServer starts a Server outside a test (see fakeserver.Standalone for
// how it reports its own errors). The caller must Close it.
func NewServer(opts ...Option) (*Server, error) {
	return newServer(fakeserver.Standalone{}, opts)
}

func newServer(report fakeserver.Reporter, opts []Option) (*Server, error) {
	cfg := config{
		botToken:    DefaultBotToken,
		appToken:    DefaultAppToken,
		botUserID:   DefaultBotUserID,
		botID:       DefaultBotID,
		botName:     DefaultBotName,
		teamID:      DefaultTeamID,
		teamName:    DefaultTeamName,
		teamDomain:  DefaultTeamDomain,
		appID:       DefaultAppID,
		verifyToken: DefaultVerificationToken,
		now:         time.Now,
		triggerTTL:  3 * time.Second,
		pingEvery:   5 * time.Second,
	}
	for _, opt := range opts {
		opt(&cfg)
	}
	s := &Server{
		report:        report,
		cfg:           cfg,
		changes:       fakeserver.NewChanges("slacktest"),
		outage:        fakeserver.Outage{Status: http.StatusServiceUnavailable, Page: []byte(downPage)},
		failFor:       map[string]failWindow{},
		calls:         map[string]int{},
		channel:       map[string]*channel{},
		users:         map[string]*User{},
		files:         map[string]*storedFile{},
		triggers:      map[string]*trigger{},
		views:         map[string]*View{},
		responseURLs:  map[string]*responseTarget{},
		socketTickets: map[string]bool{},
		sockets:       map[*socketConn]bool{},
		envelopes:     map[string]*envelope{},
	}
	s.users[cfg.botUserID] = &User{ID: cfg.botUserID, Name: cfg.botName, RealName: cfg.botName, IsBot: true}
	var err error
	if s.srv, err = fakeserver.Listen(http.HandlerFunc(s.serveHTTP)); err != nil {
		return nil, err
	}
	return s, nil
}

// Close drops Socket Mode connections and shuts the server down. New calls
// it at test cleanup; it is safe to call more than once.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		conns := s.socketConnsLocked()
		s.changes.Notify()
		s.mu.Unlock()
		for _, c := range conns {
			c.close()
		}
		s.srv.Close()
	})
}

// URL is the server's base URL, e.g. http://127.0.0.1:port.
func (s *Server) URL() string { return s.srv.URL }

// APIURL is the Web API base for slack.OptionAPIURL: URL()+"/api/".
func (s *Server) APIURL() string { return s.srv.URL + "/api/" }

// BotToken is the bot token (xoxb-...) the Web API accepts.
func (s *Server) BotToken() string { return s.cfg.botToken }

// AppToken is the app-level token (xapp-...) apps.connections.open accepts.
func (s *Server) AppToken() string { return s.cfg.appToken }

// BotUserID is the bot's user id (auth.test user_id).
func (s *Server) BotUserID() string { return s.cfg.botUserID }

// BotID is the bot id (auth.test bot_id, bot_id of the bot's messages).
func (s *Server) BotID() string { return s.cfg.botID }

// TeamID is the workspace id.
func (s *Server) TeamID() string { return s.cfg.teamID }

// AppID is the app id (api_app_id of events and payloads).
func (s *Server) AppID() string { return s.cfg.appID }

// VerificationToken is the legacy token put into events and payloads.
func (s *Server) VerificationToken() string { return s.cfg.verifyToken }

// HTTPClient returns an http.Client for the server with a generous overall
// timeout, so a test with a broken bot fails instead of hanging.
func (s *Server) HTTPClient() *http.Client { return fakeserver.Client(s.srv) }

func (s *Server) now() time.Time { return s.cfg.now() }

// Changed returns a channel that is closed at the next state change of the
// server (any request, any simulated staff action, any ack). Take it before
// checking a condition, then wait on it, and no change can be missed.
func (s *Server) Changed() <-chan struct{} { return s.changes.Changed() }
