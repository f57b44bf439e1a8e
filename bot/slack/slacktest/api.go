package slacktest

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"bridgebot/bot/internal/fakeserver"
)

// Request is one Web API call the server received, for assertions.
type Request struct {
	Method string     // e.g. "chat.postMessage"
	Params url.Values // form and query parameters; for JSON bodies the top-level fields (strings unquoted, the rest as JSON text)
	Body   []byte     // raw body of JSON requests
	Token  string     // the token presented (Authorization header or token parameter)
	Status int        // HTTP status answered
	Error  string     // the "error" of an ok:false answer, or "ratelimited"/"http_<status>" for injected HTTP failures
	Time   time.Time
}

// call is one Web API request being handled.
type call struct {
	method string
	p      url.Values
	body   []byte
	json   map[string]json.RawMessage // top-level fields of a JSON body
	token  string
	r      *http.Request
}

func (c *call) get(name string) string { return c.p.Get(name) }

// has reports whether a parameter was sent at all (even empty).
func (c *call) has(name string) bool { _, ok := c.p[name]; return ok }

// raw returns a parameter as JSON: the JSON body's field verbatim, or a form
// field's text (which, for JSON-valued form fields like blocks, is JSON).
func (c *call) raw(name string) (json.RawMessage, bool) {
	if v, ok := c.json[name]; ok {
		var str string
		if json.Unmarshal(v, &str) == nil {
			return json.RawMessage(str), true // a JSON-encoded string holding JSON
		}
		return v, true
	}
	if !c.has(name) {
		return nil, false
	}
	return json.RawMessage(c.get(name)), true
}

// obj is a JSON object answer; ok:true is added when it is written.
type obj map[string]any

// apiError is a Slack ok:false answer (HTTP 200).
type apiError struct {
	code  string
	extra obj
}

func slackErr(code string) *apiError { return &apiError{code: code} }

// handler implements one Web API method. It runs with s.mu held.
type handler func(s *Server, c *call) (obj, *apiError)

// tokenKind says which token a method wants.
type tokenKind int

const (
	botTokenMethod tokenKind = iota
	appTokenMethod
)

type method struct {
	fn    handler
	token tokenKind
}

var methods map[string]method

func init() {
	methods = map[string]method{
		"auth.test":                    {fn: (*Server).apiAuthTest},
		"chat.postMessage":             {fn: (*Server).apiPostMessage},
		"chat.update":                  {fn: (*Server).apiUpdate},
		"chat.delete":                  {fn: (*Server).apiDelete},
		"chat.postEphemeral":           {fn: (*Server).apiPostEphemeral},
		"chat.getPermalink":            {fn: (*Server).apiPermalink},
		"reactions.add":                {fn: (*Server).apiReactionsAdd},
		"reactions.remove":             {fn: (*Server).apiReactionsRemove},
		"users.info":                   {fn: (*Server).apiUsersInfo},
		"conversations.info":           {fn: (*Server).apiConversationsInfo},
		"conversations.history":        {fn: (*Server).apiConversationsHistory},
		"conversations.replies":        {fn: (*Server).apiConversationsReplies},
		"files.getUploadURLExternal":   {fn: (*Server).apiGetUploadURL},
		"files.completeUploadExternal": {fn: (*Server).apiCompleteUpload},
		"files.info":                   {fn: (*Server).apiFilesInfo},
		"files.delete":                 {fn: (*Server).apiFilesDelete},
		"views.open":                   {fn: (*Server).apiViewsOpen},
		"views.push":                   {fn: (*Server).apiViewsPush},
		"views.update":                 {fn: (*Server).apiViewsUpdate},
		"views.publish":                {fn: (*Server).apiViewsPublish},
		"apps.connections.open":        {fn: (*Server).apiConnectionsOpen, token: appTokenMethod},
		"users.lookupByEmail":          {fn: (*Server).apiUsersLookupByEmail},
		"conversations.join":           {fn: (*Server).apiConversationsJoin},
	}
}

const downPage = "<html><head><title>503 Service Unavailable</title></head><body><h1>Slack is temporarily unavailable</h1></body></html>"

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	switch {
	case strings.HasPrefix(path, "/api/"):
		s.serveAPI(w, r, strings.TrimPrefix(path, "/api/"))
	case strings.HasPrefix(path, "/upload/"):
		s.serveUpload(w, r, strings.TrimPrefix(path, "/upload/"))
	case strings.HasPrefix(path, "/files-pri/"):
		s.serveFileDownload(w, r)
	case path == "/signin":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, "<html><body><h1>Sign in to Fake Workspace</h1></body></html>")
	case strings.HasPrefix(path, "/response/"):
		s.serveResponseURL(w, r, strings.TrimPrefix(path, "/response/"))
	case path == "/socket":
		s.serveSocket(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request, name string) {
	c, perr := parseCall(r, name)

	s.mu.Lock()
	rec := &Request{Method: name, Params: c.p, Body: c.body, Token: c.token, Time: s.now()}
	s.requests = append(s.requests, rec)
	s.calls[name]++

	var (
		res    obj
		aerr   *apiError
		status = http.StatusOK
		retry  int
	)
	m, known := methods[name]
	failAfter := 0
	if f, ok := s.takeFaultLocked(name); ok {
		if f.after {
			failAfter = f.status
		} else {
			status, retry = f.status, f.retryAfter
		}
		if f.slackErr != "" {
			aerr = slackErr(f.slackErr)
		}
	}
	switch {
	case status != http.StatusOK:
	case aerr != nil:
	case !known:
		aerr = &apiError{code: "unknown_method", extra: obj{"req_method": name}}
	case perr != nil:
		aerr = slackErr("invalid_arguments")
	default:
		aerr = s.checkTokenLocked(c.token, m.token)
		if aerr == nil {
			res, aerr = s.invoke(m.fn, c)
		}
	}

	if failAfter != 0 {
		status = failAfter
	}
	var body []byte
	switch {
	case status == http.StatusTooManyRequests:
		s.ratelimit++
		rec.Error = "ratelimited"
		body = []byte(`{"ok":false,"error":"ratelimited"}`)
	case status != http.StatusOK:
		rec.Error = "http_" + http.StatusText(status)
	case aerr != nil:
		rec.Error = aerr.code
		body = errorBody(aerr)
	default:
		body = okBody(res)
	}
	rec.Status = status
	hold := s.takeHoldLocked(name)
	s.changes.Notify()
	s.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-r.Context().Done():
		}
	}

	switch {
	case status == http.StatusTooManyRequests:
		if retry > 0 {
			w.Header().Set("Retry-After", itoa(retry))
		}
		writeJSON(w, status, body)
	case status == http.StatusInternalServerError:
		fakeserver.Write(w, status, "text/html; charset=utf-8", nil)
	case status != http.StatusOK:
		fakeserver.Write(w, status, "text/html; charset=utf-8", []byte(downPage))
	default:
		writeJSON(w, http.StatusOK, body)
	}
}

// parseCall reads the parameters of a Web API request the way Slack does:
// query string, form (urlencoded or multipart) or a JSON body, and the token
// from the Authorization header or the token parameter.
func parseCall(r *http.Request, name string) (*call, error) {
	c := &call{method: name, p: url.Values{}, r: r}
	for k, v := range r.URL.Query() {
		c.p[k] = append(c.p[k], v...)
	}
	ctype, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var perr error
	switch ctype {
	case "application/json":
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return c, err
		}
		c.body = body
		if t := bytes.TrimSpace(body); len(t) > 0 && !bytes.Equal(t, []byte("null")) {
			if err := json.Unmarshal(t, &c.json); err != nil {
				perr = err
			}
		}
		for k, v := range c.json {
			var str string
			if json.Unmarshal(v, &str) == nil {
				c.p.Set(k, str)
			} else {
				c.p.Set(k, string(v))
			}
		}
	case "multipart/form-data":
		if err := r.ParseMultipartForm(32 << 20); err != nil {
			perr = err
		} else {
			for k, v := range r.MultipartForm.Value {
				c.p[k] = append(c.p[k], v...)
			}
		}
	default:
		if r.Method == http.MethodPost {
			if err := r.ParseForm(); err != nil {
				perr = err
			}
			for k, v := range r.PostForm {
				c.p[k] = append(c.p[k], v...)
			}
		}
	}
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		c.token = strings.TrimSpace(tok)
	} else {
		c.token = c.p.Get("token")
	}
	return c, perr
}

// checkTokenLocked answers like Slack for missing, wrong and wrong-kind tokens.
func (s *Server) checkTokenLocked(token string, want tokenKind) *apiError {
	switch {
	case token == "":
		return slackErr("not_authed")
	case want == botTokenMethod && token == s.cfg.botToken,
		want == appTokenMethod && token == s.cfg.appToken:
		return nil
	case want == botTokenMethod && strings.HasPrefix(token, "xapp-"),
		want == appTokenMethod && strings.HasPrefix(token, "xox"):
		return slackErr("not_allowed_token_type")
	default:
		return slackErr("invalid_auth")
	}
}

// invoke runs a handler, turning a panic (a bug in the fake) into a test
// error and an internal_error answer rather than a server stuck with s.mu held.
func (s *Server) invoke(fn handler, c *call) (obj, *apiError) {
	return fakeserver.Recover(s.report, "slacktest: "+c.method, func() (obj, *apiError) { return fn(s, c) },
		slackErr("internal_error"))
}

func okBody(res obj) []byte {
	out := obj{"ok": true}
	for k, v := range res {
		out[k] = v
	}
	b, err := json.Marshal(out)
	if err != nil {
		panic("slacktest: marshal answer: " + err.Error())
	}
	return b
}

func errorBody(e *apiError) []byte {
	out := obj{"ok": false, "error": e.code}
	for k, v := range e.extra {
		out[k] = v
	}
	b, _ := json.Marshal(out)
	return b
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	fakeserver.Write(w, status, "application/json; charset=utf-8", body)
}
