package telegramtest

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"bridgebot/bot/internal/fakeserver"
)

// apiError is a Telegram error answer. code doubles as the HTTP status.
type apiError struct {
	code       int
	desc       string
	retryAfter int
}

func badRequest(desc string) *apiError { return &apiError{code: 400, desc: "Bad Request: " + desc} }

func forbidden(desc string) *apiError { return &apiError{code: 403, desc: "Forbidden: " + desc} }

// errClientGone marks a request whose client disconnected: nothing is written.
var errClientGone = &apiError{}

// rawResult is written into "result" verbatim, unvalidated (getUpdates must
// be able to serve garbage pushed with PushRaw).
type rawResult []byte

// described is a success result that carries Telegram's "description" too
// (setWebhook answers {"ok":true,"result":true,"description":"Webhook was set"}).
type described struct {
	result      any
	description string
}

// call is one API request being handled.
type call struct {
	ctx    context.Context
	method string
	p      *params
}

// handler implements one API method. It runs with s.mu held.
type handler func(s *Server, c *call) (any, *apiError)

// methods maps lower-case method names (Telegram ignores case) to handlers.
var methods = map[string]struct {
	name string
	fn   handler
}{}

func init() {
	for name, fn := range map[string]handler{
		"getMe":                  (*Server).handleGetMe,
		"getUpdates":             (*Server).handleGetUpdates,
		"setWebhook":             (*Server).handleSetWebhook,
		"deleteWebhook":          (*Server).handleDeleteWebhook,
		"getWebhookInfo":         (*Server).handleGetWebhookInfo,
		"sendMessage":            (*Server).handleSendMessage,
		"editMessageText":        (*Server).handleEditMessageText,
		"editMessageCaption":     (*Server).handleEditMessageCaption,
		"editMessageReplyMarkup": (*Server).handleEditMessageReplyMarkup,
		"deleteMessage":          (*Server).handleDeleteMessage,
		"copyMessage":            (*Server).handleCopyMessage,
		"sendChatAction":         (*Server).handleSendChatAction,
		"answerCallbackQuery":    (*Server).handleAnswerCallbackQuery,
		"setMyCommands":          (*Server).handleSetMyCommands,
		"getMyCommands":          (*Server).handleGetMyCommands,
		"deleteMyCommands":       (*Server).handleDeleteMyCommands,
		"getFile":                (*Server).handleGetFile,
		"sendPhoto":              mediaHandler(kindPhoto),
		"sendDocument":           mediaHandler(kindDocument),
		"sendVoice":              mediaHandler(kindVoice),
		"sendAudio":              mediaHandler(kindAudio),
		"sendVideo":              mediaHandler(kindVideo),
		"sendSticker":            mediaHandler(kindSticker),
	} {
		methods[strings.ToLower(name)] = struct {
			name string
			fn   handler
		}{name, fn}
	}
}

// canonicalMethod maps any spelling of a known method to its canonical name.
func canonicalMethod(name string) string {
	if m, ok := methods[strings.ToLower(name)]; ok {
		return m.name
	}
	return name
}

const badGatewayPage = "<html><body><h1>502 Bad Gateway</h1></body></html>"

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case strings.HasPrefix(r.URL.Path, "/file/bot"):
		s.serveFile(w, r, strings.TrimPrefix(r.URL.Path, "/file/bot"))
	case strings.HasPrefix(r.URL.Path, "/bot"):
		s.serveAPI(w, r, strings.TrimPrefix(r.URL.Path, "/bot"))
	default:
		writeError(w, &apiError{code: 404, desc: "Not Found"})
	}
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request, rest string) {
	token, method, _ := strings.Cut(rest, "/")
	p, perr := parseParams(r)
	defer p.cleanup()

	s.mu.Lock()
	rec := &Request{Method: canonicalMethod(method), Params: p.values, Files: p.fileNames(), Time: s.now()}
	s.requests = append(s.requests, rec)

	var (
		res  any
		aerr *apiError
		drop bool
		down = s.outage.Down()
	)
	m, known := methods[strings.ToLower(method)]
	switch {
	case down:
		rec.Status = http.StatusBadGateway
	case token != s.cfg.token:
		aerr = &apiError{code: 401, desc: "Unauthorized"}
	case !known:
		aerr = &apiError{code: 404, desc: "Not Found"}
	case perr != nil:
		aerr = badRequest(perr.Error())
	default:
		if f, ok := s.takeFaultLocked(m.name); ok {
			aerr, drop = f.err, f.drop
		} else {
			res, aerr = s.invoke(m.fn, &call{ctx: r.Context(), method: m.name, p: p})
		}
	}
	switch {
	case rec.Status != 0, drop, aerr == errClientGone:
	case aerr != nil:
		rec.Status = httpStatus(aerr.code)
	default:
		rec.Status = http.StatusOK
	}
	if rec.Status == http.StatusTooManyRequests {
		s.rateLimited++
	}
	var body []byte
	if aerr == nil && rec.Status == http.StatusOK {
		body = successBody(res)
	}
	s.changes.Notify()
	s.mu.Unlock()

	switch {
	case down:
		s.outage.WritePage(w)
	case drop:
		fakeserver.DropConnection(w)
	case aerr == errClientGone:
	case aerr != nil:
		writeError(w, aerr)
	default:
		writeJSON(w, http.StatusOK, body)
	}
}

// invoke runs a handler, turning a panic (a bug in the fake) into a test
// error and a 500 answer rather than a server stuck with s.mu held.
func (s *Server) invoke(fn handler, c *call) (any, *apiError) {
	return fakeserver.Recover(s.report, "telegramtest: "+c.method, func() (any, *apiError) { return fn(s, c) },
		&apiError{code: 500, desc: "Internal Server Error"})
}

// httpStatus maps an error_code to the HTTP status Telegram answers with.
func httpStatus(code int) int {
	if code < 400 || code > 599 {
		return http.StatusInternalServerError
	}
	return code
}

func successBody(res any) []byte {
	var buf bytes.Buffer
	buf.WriteString(`{"ok":true,"result":`)
	var desc string
	if d, ok := res.(described); ok {
		res, desc = d.result, d.description
	}
	if raw, ok := res.(rawResult); ok {
		buf.Write(raw)
	} else {
		b, err := json.Marshal(res)
		if err != nil {
			panic("telegramtest: marshal result: " + err.Error())
		}
		buf.Write(b)
	}
	if desc != "" {
		b, _ := json.Marshal(desc)
		buf.WriteString(`,"description":`)
		buf.Write(b)
	}
	buf.WriteString("}")
	return buf.Bytes()
}

func writeError(w http.ResponseWriter, e *apiError) {
	type parameters struct {
		RetryAfter int `json:"retry_after,omitempty"`
	}
	body := struct {
		OK          bool        `json:"ok"`
		ErrorCode   int         `json:"error_code"`
		Description string      `json:"description"`
		Parameters  *parameters `json:"parameters,omitempty"`
	}{ErrorCode: e.code, Description: e.desc}
	if e.retryAfter > 0 {
		body.Parameters = &parameters{RetryAfter: e.retryAfter}
	}
	b, _ := json.Marshal(body)
	writeJSON(w, httpStatus(e.code), b)
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	fakeserver.Write(w, status, "application/json", body)
}
