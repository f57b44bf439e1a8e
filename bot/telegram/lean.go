package telegram

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"bridgebot/bot"
)

// The lean request path of the calls made for every update (getUpdates,
// sendMessage, editMessageText, editMessageReplyMarkup,
// answerCallbackQuery, deleteMessage): the parameters are form-encoded
// straight into a pooled buffer, written on a connection of the direct
// transport (directTransport.post), and the answer is decoded into a
// struct of the few fields read. The library's MakeRequest builds a map
// of parameters, url.Values, an http.Request, goes through http.Client,
// and decodes the answer through a json.Decoder; for a call that is
// mostly system calls, that was as much CPU as the system calls.
//
// Everything else about a call is as the library's: the same parameters
// (the library's nil entities, sent as "null", are left out: Telegram
// reads both as none), an error answer comes back as a *tgbotapi.Error
// (Code, Message, ResponseParameters) so the classification in apiError
// is unchanged, an answer that is not JSON (a proxy's error page) is a
// JSON decoding error, the observer sees each call's method and status,
// and errors never carry the token. When the direct transport cannot
// carry the call (a proxy from the environment, Config.Transport set),
// the same request goes through net/http (Bot.client).

// form is a request body being form-encoded.
type form struct{ b []byte }

var formPool = sync.Pool{New: func() any { return &form{b: make([]byte, 0, 1024)} }}

func newForm() *form { f := formPool.Get().(*form); f.b = f.b[:0]; return f }

func (f *form) free() {
	if cap(f.b) <= 64<<10 {
		formPool.Put(f)
	}
}

func (f *form) key(k string) {
	if len(f.b) > 0 {
		f.b = append(f.b, '&')
	}
	f.b = append(f.b, k...) // keys are plain ASCII names
	f.b = append(f.b, '=')
}

// str adds key=value, escaped as url.QueryEscape does.
func (f *form) str(k, v string) {
	f.key(k)
	f.b = appendQueryEscape(f.b, v)
}

// nonEmpty adds key=value when value is not empty (Params.AddNonEmpty).
func (f *form) nonEmpty(k, v string) {
	if v != "" {
		f.str(k, v)
	}
}

// int64 adds key=n when n is not zero (Params.AddNonZero64).
func (f *form) int64(k string, n int64) {
	if n != 0 {
		f.key(k)
		f.b = strconv.AppendInt(f.b, n, 10)
	}
}

// flag adds key=true when set (Params.AddBool).
func (f *form) flag(k string, set bool) {
	if set {
		f.key(k)
		f.b = append(f.b, "true"...)
	}
}

// json adds key=the JSON in raw, escaped.
func (f *form) json(k string, raw []byte) {
	f.key(k)
	f.b = appendQueryEscape(f.b, raw)
}

const (
	upperhex = "0123456789ABCDEF" // of URL escapes
	lowerhex = "0123456789abcdef" // of JSON escapes, as encoding/json writes them
)

// queryUnreserved: the bytes url.QueryEscape leaves as they are.
var queryUnreserved = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	t['-'], t['_'], t['.'], t['~'] = true, true, true, true
	return t
}()

// appendQueryEscape appends s form-encoded (url.QueryEscape's bytes)
// without building a string first; s is a string or bytes.
func appendQueryEscape[S ~string | ~[]byte](b []byte, s S) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case queryUnreserved[c]:
			b = append(b, c)
		case c == ' ':
			b = append(b, '+')
		default:
			b = append(b, '%', upperhex[c>>4], upperhex[c&15])
		}
	}
	return b
}

// appendJSONString appends s as a JSON string the way encoding/json
// writes it (HTML characters escaped, invalid UTF-8 as U+FFFD), so a
// keyboard is the bytes the library sent.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', lowerhex[c>>4], lowerhex[c&15])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', lowerhex[r&15])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendKeyboard appends the inline keyboard of rows as reply_markup JSON,
// as keyboard() and the library's encoding make it; ok is false when
// there is no keyboard (no rows).
func appendKeyboard(b []byte, rows [][]bot.Button) ([]byte, bool) {
	if len(rows) == 0 {
		return b, false
	}
	b = append(b, `{"inline_keyboard":[`...)
	first := true
	for _, row := range rows {
		if len(row) == 0 {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, '[')
		for i, btn := range row {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"text":`...)
			b = appendJSONString(b, btn.Text)
			if btn.URL != "" {
				b = append(b, `,"url":`...)
				b = appendJSONString(b, btn.URL)
			} else {
				b = append(b, `,"callback_data":`...)
				b = appendJSONString(b, btn.Data)
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	return append(b, "]}"...), true
}

// answerHead is the part of every Bot API answer that says how it went.
type answerHead struct {
	OK          bool                         `json:"ok"`
	ErrorCode   int                          `json:"error_code"`
	Description string                       `json:"description"`
	Parameters  *tgbotapi.ResponseParameters `json:"parameters"`
}

// answer is an answer with its result decoded into R.
type answer[R any] struct {
	answerHead
	Result R `json:"result"`
}

// ignored is a result nobody reads: checked as JSON, not decoded.
type ignored struct{}

func (*ignored) UnmarshalJSON([]byte) error { return nil }

// sentID is the part of a sent message that is read.
type sentID struct {
	MessageID int `json:"message_id"`
}

// bodyPool holds answer buffers.
var bodyPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// leanAPI is what the lean path needs of the API's address, worked out
// once; nil when the direct transport cannot carry the calls.
type leanAPI struct {
	t    *directTransport
	u    *url.URL
	key  string // the transport's connection key
	path string // escaped path up to the method: /bot<token>/
}

// newLeanAPI: the lean path when the bot's transport is ours and no
// proxy is configured for the API's URL (decided once, as net/http reads
// the proxy environment once).
func newLeanAPI(t *directTransport, apiURL, token string) *leanAPI {
	u, err := url.Parse(strings.TrimRight(apiURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil
	}
	req, err := http.NewRequest(http.MethodPost, u.String()+"/bot"+token+"/getMe", nil)
	if err != nil || !t.handles(req) {
		return nil
	}
	return &leanAPI{t: t, u: u, key: u.Scheme + "://" + canonicalHost(u),
		path: (&url.URL{Path: u.Path + "/bot" + token + "/"}).EscapedPath()}
}

// call makes one Bot API call with the form in f, bounded by timeout
// within ctx, and decodes its answer into out. An error answer is a
// *tgbotapi.Error.
func call[R any](b *Bot, ctx context.Context, timeout time.Duration, method string, f *form, out *answer[R]) error {
	bp := bodyPool.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= 64<<10 {
			bodyPool.Put(bp)
		}
	}()
	var err error
	if b.lean != nil {
		*bp, err = b.postLean(ctx, timeout, method, f.b, (*bp)[:0])
	} else {
		*bp, err = b.postHTTP(ctx, timeout, method, f.b, (*bp)[:0])
	}
	if err != nil {
		return err
	}
	if decodeOK(*bp, out) {
		return nil
	}
	if err := json.Unmarshal(*bp, out); err != nil {
		return err
	}
	if !out.OK {
		te := &tgbotapi.Error{Code: out.ErrorCode, Message: out.Description}
		if out.Parameters != nil {
			te.ResponseParameters = *out.Parameters
		}
		return te
	}
	return nil
}

// postLean sends the call on the direct transport.
func (b *Bot) postLean(ctx context.Context, timeout time.Duration, method string, body, buf []byte) ([]byte, error) {
	l := b.lean
	deadline := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	status, out, err := l.t.post(ctx, deadline, l.key, l.u, l.path+method, body, buf)
	if b.cfg.Observer != nil {
		b.cfg.Observer.APICall(method, status)
	}
	if err != nil {
		// as net/http reports it, without the token
		return out, &url.Error{Op: "Post", URL: b.redactedURL(method), Err: redact(err, b.cfg.Token)}
	}
	return out, nil
}

// postHTTP sends the call through net/http (and the observing, redacting
// client every other call uses).
func (b *Bot) postHTTP(ctx context.Context, timeout time.Duration, method string, body, buf []byte) ([]byte, error) {
	u := strings.TrimRight(b.cfg.APIURL, "/") + "/bot" + b.cfg.Token + "/" + method
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(string(body)))
	if err != nil {
		return buf, redact(err, b.cfg.Token)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := b.client(ctx, timeout).Do(req)
	if err != nil {
		return buf, err
	}
	defer resp.Body.Close()
	for {
		if len(buf) > maxAnswer {
			return buf, errAnswerTooLarge
		}
		buf = slicesGrow(buf, 4096)
		n, err := resp.Body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, redact(err, b.cfg.Token)
		}
	}
}

func (b *Bot) redactedURL(method string) string {
	return strings.TrimRight(b.cfg.APIURL, "/") + "/bot<token>/" + method
}

// redact keeps the token out of an error.
func redact(err error, token string) error {
	if err != nil && token != "" && strings.Contains(err.Error(), token) {
		return redactedError{msg: strings.ReplaceAll(err.Error(), token, "<token>"), err: err}
	}
	return err
}

// okResult starts every successful answer, as Telegram writes it.
const okResult = `{"ok":true,"result":`

// decodeOK decodes the answer Telegram gives to nearly every call,
// {"ok":true,"result":…} with nothing after the result, without
// encoding/json (whose validation and reflection cost more than the rest
// of a call's work in this process): the result is framed by a scan of
// its structure, and of it only what is read is taken. It reports false
// for anything else (an error answer, other keys, an unusual shape), which
// the caller decodes with encoding/json.
func decodeOK[R any](body []byte, out *answer[R]) bool {
	body = bytes.TrimLeft(body, " \t\r\n")
	if !bytes.HasPrefix(body, []byte(okResult)) {
		return false
	}
	start := skipSpace(body, len(okResult))
	end := skipValue(body, start)
	if end < 0 {
		return false
	}
	if rest := bytes.TrimRight(body[skipSpace(body, end):], " \t\r\n"); len(rest) != 1 || rest[0] != '}' {
		return false
	}
	result := body[start:end]
	switch r := any(&out.Result).(type) {
	case *ignored:
	case *json.RawMessage:
		*r = append((*r)[:0], result...)
	case *sentID:
		// a Message written by Telegram starts with its message_id
		const prefix = `{"message_id":`
		if !bytes.HasPrefix(result, []byte(prefix)) {
			return false
		}
		n, i := 0, len(prefix)
		for ; i < len(result) && result[i] >= '0' && result[i] <= '9' && i < len(prefix)+18; i++ {
			n = n*10 + int(result[i]-'0')
		}
		if i == len(prefix) || i == len(result) || (result[i] != ',' && result[i] != '}') {
			return false
		}
		r.MessageID = n
	default:
		return false
	}
	out.OK = true
	return true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

// skipValue returns where the JSON value starting at b[i] ends, or -1
// when it is not well framed (unbalanced brackets, an open string,
// nesting deeper than 64). Numbers and literals are taken as runs of
// their characters, not checked further.
func skipValue(b []byte, i int) int {
	var stack [64]byte
	depth := 0
	for i < len(b) {
		switch c := b[i]; c {
		case '{', '[':
			if depth == len(stack) {
				return -1
			}
			stack[depth] = c + 2 // '{'+2 == '}', '['+2 == ']'
			depth++
			i++
		case '}', ']':
			if depth == 0 || stack[depth-1] != c {
				return -1
			}
			depth--
			i++
		case '"':
			j := i + 1
			for j < len(b) && b[j] != '"' {
				if b[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(b) {
				return -1
			}
			i = j + 1
		case ',', ':', ' ', '\t', '\r', '\n':
			if depth == 0 {
				return -1
			}
			i++
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c == '-' || c == '+' || c == '.' || c == 'E') {
				return -1
			}
			for i < len(b) && (b[i] >= '0' && b[i] <= '9' || b[i] >= 'a' && b[i] <= 'z' || b[i] == '-' || b[i] == '+' || b[i] == '.' || b[i] == 'E') {
				i++
			}
		}
		if depth == 0 {
			return i
		}
	}
	return -1
}
