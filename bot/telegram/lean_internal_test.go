package telegram

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf16"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"bridgebot/bot"
)

// keyboard is the inline keyboard the library was given for rows before
// the lean path: appendKeyboard must encode the same bytes.
func keyboard(rows [][]bot.Button) *tgbotapi.InlineKeyboardMarkup {
	if len(rows) == 0 {
		return nil
	}
	kb := make([][]tgbotapi.InlineKeyboardButton, 0, len(rows))
	for _, row := range rows {
		var r []tgbotapi.InlineKeyboardButton
		for _, btn := range row {
			if btn.URL != "" {
				r = append(r, tgbotapi.NewInlineKeyboardButtonURL(btn.Text, btn.URL))
				continue
			}
			r = append(r, tgbotapi.NewInlineKeyboardButtonData(btn.Text, btn.Data))
		}
		if len(r) > 0 {
			kb = append(kb, r)
		}
	}
	return &tgbotapi.InlineKeyboardMarkup{InlineKeyboard: kb}
}

var awkward = []string{"", "plain", "with space", "a+b&c=d%e", "<b>bold</b> & \"q\" 'a'", "tab\tnl\nret\r", "\x00\x01\x1f\x7f",
	"ñandú 😀 日本", "bad \xff utf8 \xc3", "line\u2028sep\u2029para", `back\slash`, "f|role|popular-educator", "~._-"}

func TestFormEncodesAsURLValues(t *testing.T) {
	for _, s := range awkward {
		f := newForm()
		f.str("text", s)
		f.int64("chat_id", -1001234567890)
		f.nonEmpty("parse_mode", "")
		f.flag("disable_web_page_preview", true)
		f.flag("protect_content", false)
		f.json("reply_markup", []byte(`{"inline_keyboard":[]}`))
		want := url.Values{"text": {s}, "chat_id": {"-1001234567890"}, "disable_web_page_preview": {"true"}, "reply_markup": {`{"inline_keyboard":[]}`}}
		got, err := url.ParseQuery(string(f.b))
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: form %s decodes to %v (%v), want %v", s, f.b, got, err, want)
		}
		if esc := string(appendQueryEscape(nil, s)); esc != url.QueryEscape(s) {
			t.Fatalf("%q escaped as %s, url.QueryEscape: %s", s, esc, url.QueryEscape(s))
		}
		f.free()
	}
}

func TestAppendKeyboardEncodesAsTheLibrary(t *testing.T) {
	cases := [][][]bot.Button{
		nil,
		{},
		{{}},
		{{{Text: "Organizer", Data: "f|role|organizer"}}, {}, {{Text: "Web", URL: "https://example.org/?a=1&b=<2>"}, {Text: "", Data: ""}}},
	}
	for _, s := range awkward {
		cases = append(cases, [][]bot.Button{{{Text: s, Data: s}, {Text: s, URL: "https://x.org/" + s}}})
	}
	for _, rows := range cases {
		got, ok := appendKeyboard([]byte("prefix"), rows)
		kb := keyboard(rows)
		if !ok {
			if kb != nil || string(got) != "prefix" {
				t.Fatalf("%v: no keyboard, the library had %v", rows, kb)
			}
			continue
		}
		want, err := json.Marshal(kb)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != "prefix"+string(want) {
			t.Fatalf("%v:\n got %s\nwant %s", rows, got[len("prefix"):], want)
		}
	}
}

// answers are Bot API answers; decodeOK must agree with encoding/json on
// every one it takes, and leave the others to it.
var answers = []string{
	`{"ok":true,"result":true}`,
	` {"ok":true,"result":true}` + "\n",
	`{"ok":true,"result":{"message_id":42,"from":{"id":1,"is_bot":true,"first_name":"B"},"chat":{"id":5,"type":"private"},"date":1,"text":"a \"}\" [","reply_markup":{"inline_keyboard":[[{"text":"x","callback_data":"y"}]]}}}`,
	`{"ok":true,"result":{"message_id":7}}`,
	`{"ok":true,"result":[]}`,
	`{"ok":true,"result":[{"update_id":1000,"message":{"message_id":1,"date":1,"chat":{"id":5,"type":"private"},"text":"\u00e9\\"}}]}`,
	`{"ok":true,"result":true,"description":"Webhook was set"}`,
	`{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 3","parameters":{"retry_after":3}}`,
	`{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}`,
	`{"result":true,"ok":true}`,
	`{"ok":true,"result":{"chat":{"id":5},"message_id":9}}`,
	`{"ok":true,"result":{"message_id":123456789012345678901}}`,
	`{"ok":true,"result":{"message_id":1}} trailing`,
	`{"ok":true,"result":{"message_id":1]}`,
	`{"ok":true,"result":"open`,
	`{"ok":true,"result":`,
	`<html><body><h1>502 Bad Gateway</h1></body></html>`,
	``,
}

func TestDecodeOKAgreesWithEncodingJSON(t *testing.T) {
	for _, body := range answers {
		checkDecodeOK[ignored](t, body)
		checkDecodeOK[sentID](t, body)
		checkDecodeOK[json.RawMessage](t, body)
	}
	var a answer[sentID]
	if !decodeOK([]byte(answers[2]), &a) || a.Result.MessageID != 42 {
		t.Fatalf("a sent message's answer: %+v, want message 42 by the fast path", a)
	}
	var u answer[json.RawMessage]
	if !decodeOK([]byte(answers[5]), &u) || !strings.HasPrefix(string(u.Result), `[{"update_id":1000`) {
		t.Fatalf("a batch of updates: %s", u.Result)
	}
}

func checkDecodeOK[R any](t *testing.T, body string) {
	t.Helper()
	var fast, slow answer[R]
	if !decodeOK([]byte(body), &fast) {
		return
	}
	if err := json.Unmarshal([]byte(body), &slow); err != nil {
		t.Fatalf("%s: decodeOK took what encoding/json refuses: %v", body, err)
	}
	if !reflect.DeepEqual(fast, slow) {
		t.Fatalf("%s: decodeOK %+v, encoding/json %+v", body, fast, slow)
	}
}

// FuzzDecodeOK: on valid JSON, whatever decodeOK decodes, encoding/json
// decodes the same.
func FuzzDecodeOK(f *testing.F) {
	for _, a := range answers {
		f.Add([]byte(a))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if !json.Valid(body) {
			return
		}
		checkDecodeOK[ignored](t, string(body))
		checkDecodeOK[sentID](t, string(body))
		checkDecodeOK[json.RawMessage](t, string(body))
	})
}

// rawServer answers every request on a connection with the next of
// answers (raw HTTP), closing the connection after the ones marked so.
func rawServer(t *testing.T, answers ...string) (string, *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var conns atomic.Int64
	var next atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					_, _ = io.Copy(io.Discard, req.Body)
					a := answers[int(next.Add(1)-1)%len(answers)]
					closeAfter := strings.HasPrefix(a, "CLOSE ")
					a = strings.TrimPrefix(a, "CLOSE ")
					if _, err := io.WriteString(c, a); err != nil || closeAfter {
						return
					}
				}
			}()
		}
	}()
	return "http://" + ln.Addr().String(), &conns
}

func leanBot(t *testing.T, apiURL string) *Bot {
	t.Helper()
	d := testDirect(t)
	b := &Bot{cfg: Config{Token: "123:SECRET", APIURL: apiURL, RequestTimeout: 2 * time.Second}}
	b.lean = newLeanAPI(d, apiURL, b.cfg.Token)
	if b.lean == nil {
		t.Fatal("no lean path to a plain local server")
	}
	return b
}

func TestLeanFraming(t *testing.T) {
	const ok = `{"ok":true,"result":{"message_id":5}}`
	cl := "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + strconv.Itoa(len(ok)) + "\r\n\r\n" + ok
	chunked := "HTTP/1.1 200 OK\r\ntransfer-encoding: Chunked\r\n\r\n5;ext=1\r\n" + ok[:5] + "\r\n" +
		strconv.FormatInt(int64(len(ok)-5), 16) + "\r\n" + ok[5:] + "\r\n0\r\nX-Trailer: 1\r\n\r\n"
	cases := []struct {
		name   string
		answer string
		conns  int // connections for three calls
		err    string
	}{
		{"content-length", cl, 1, ""},
		{"chunked", chunked, 1, ""},
		{"continue first", "HTTP/1.1 100 Continue\r\n\r\n" + cl, 1, ""},
		{"connection close", strings.Replace(cl, "Content-Type", "Connection: close\r\nContent-Type", 1), 3, ""},
		{"HTTP/1.0", strings.Replace(cl, "HTTP/1.1", "HTTP/1.0", 1), 3, ""},
		{"to the end of the connection", "CLOSE HTTP/1.1 200 OK\r\n\r\n" + ok, 3, ""},
		{"cut short", "CLOSE HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n" + ok, 3, "unexpected EOF"},
		{"cut short chunked", "CLOSE HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n" + ok, 3, "unexpected EOF"},
		{"not HTTP", "CLOSE SSH-2.0-OpenSSH\r\n\r\n", 3, "malformed HTTP status line"},
		{"gzip framing", "CLOSE HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 3, "unsupported Transfer-Encoding"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			u, conns := rawServer(t, c.answer)
			b := leanBot(t, u)
			obs := &statuses{}
			b.cfg.Observer = obs
			for i := range 3 {
				f := newForm()
				f.str("text", "hola")
				var a answer[sentID]
				err := call(b, context.Background(), time.Second, "sendMessage", f, &a)
				switch {
				case c.err == "" && err != nil:
					t.Fatalf("call %d: %v", i, err)
				case c.err == "" && a.Result.MessageID != 5:
					t.Fatalf("call %d: message %d, want 5", i, a.Result.MessageID)
				case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
					t.Fatalf("call %d: error %v, want one saying %q", i, err, c.err)
				case err != nil && strings.Contains(err.Error(), "SECRET"):
					t.Fatalf("the token leaked into %v", err)
				}
			}
			if n := conns.Load(); n != int64(c.conns) {
				t.Fatalf("%d connections for three calls, want %d", n, c.conns)
			}
			want := "sendMessage:200"
			if strings.Contains(c.err, "malformed") || strings.Contains(c.err, "unsupported") {
				want = "sendMessage:0" // no answer could be read, as net/http reports it
			}
			for _, got := range obs.got {
				if got != want {
					t.Fatalf("observed %v, want %s each time", obs.got, want)
				}
			}
		})
	}
}

func TestLeanErrorAnswers(t *testing.T) {
	page := "<html><body><h1>502 Bad Gateway</h1></body></html>"
	flood := `{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 3","parameters":{"retry_after":3}}`
	u, _ := rawServer(t,
		"HTTP/1.1 429 Too Many Requests\r\nContent-Length: "+strconv.Itoa(len(flood))+"\r\n\r\n"+flood,
		"HTTP/1.1 502 Bad Gateway\r\nContent-Length: "+strconv.Itoa(len(page))+"\r\n\r\n"+page)
	b := leanBot(t, u)
	obs := &statuses{}
	b.cfg.Observer = obs
	err := b.request(context.Background(), "answerCallbackQuery", newForm())
	var te *tgbotapi.Error
	if !errors.As(err, &te) || te.Code != 429 || te.RetryAfter != 3 {
		t.Fatalf("flood control came back as %v", err)
	}
	if ae := apiError(err); ae == nil || ae.RetryAfter != 3*time.Second {
		t.Fatalf("classified as %+v", ae)
	}
	err = b.request(context.Background(), "answerCallbackQuery", newForm())
	if err == nil || apiError(err) != nil {
		t.Fatalf("a proxy's error page came back as %v, want an error that is no API answer", err)
	}
	if got := strings.Join(obs.got, " "); got != "answerCallbackQuery:429 answerCallbackQuery:502" {
		t.Fatalf("observed %s", got)
	}
}

type statuses struct{ got []string }

func (s *statuses) APICall(method string, status int) {
	s.got = append(s.got, method+":"+strconv.Itoa(status))
}

func (s *statuses) UndecodableUpdate() {}

func TestLeanDeadlineAndCancel(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() { // accepts and never answers
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	b := leanBot(t, "http://"+ln.Addr().String())
	start := time.Now()
	err = b.request(context.Background(), "sendMessage", newForm()) // RequestTimeout 2s
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || time.Since(start) > 4*time.Second {
		t.Fatalf("after %v: %v, want a timeout after 2s", time.Since(start), err)
	}
	if strings.Contains(err.Error(), "SECRET") || !strings.Contains(err.Error(), "/bot<token>/sendMessage") {
		t.Fatalf("error %q: want the URL without the token", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start = time.Now()
	err = b.request(ctx, "sendMessage", newForm())
	if !errors.Is(err, context.Canceled) || time.Since(start) > time.Second {
		t.Fatalf("after %v: %v, want cancelled at once", time.Since(start), err)
	}
}

func TestUTF16LenCountsAsUTF16Encode(t *testing.T) {
	for _, s := range append(awkward, "😀😀 a", "\xed\xa0\x80 surrogate", "\U0010FFFF", strings.Repeat("é😀", 1000)) {
		if got, want := utf16Len(s), len(utf16.Encode([]rune(s))); got != want {
			t.Fatalf("%q: %d UTF-16 units, utf16.Encode: %d", s, got, want)
		}
	}
}

func TestLeanOverTLS(t *testing.T) {
	srv, conns := countingServer(t, true, func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil || r.PostForm.Get("text") != "hola" || r.URL.Path != "/bot123:SECRET/sendMessage" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok":true,"result":{"message_id":9,"chat":{"id":7}}}`)
	})
	b := leanBot(t, srv.URL)
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	b.lean.t.tlsConfig = &tls.Config{RootCAs: pool}
	for i := range 3 {
		f := newForm()
		f.str("text", "hola")
		var a answer[sentID]
		if err := call(b, context.Background(), time.Second, "sendMessage", f, &a); err != nil || a.Result.MessageID != 9 {
			t.Fatalf("call %d over TLS: %+v, %v", i, a, err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("opened %d TLS connections, want 1", n)
	}
}

// A server that accepts a connection and never answers the TLS
// handshake must not hold a call past its own timeout, even when the
// caller's context has no deadline (the polling loop's): net/http's
// client timeout bounded the dial and handshake too.
func TestLeanHandshakeBoundedByTheCallsTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() { // accepts and never speaks TLS
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	b := leanBot(t, "https://"+ln.Addr().String())
	errc := make(chan error, 1)
	start := time.Now()
	go func() {
		_, err := b.getUpdates(context.Background(), time.Second, 0, 0, 0)
		errc <- err
	}()
	select {
	case err := <-errc:
		if err == nil || time.Since(start) > 3*time.Second {
			t.Fatalf("after %v: %v, want a timeout after 1s", time.Since(start), err)
		}
		if strings.Contains(err.Error(), "SECRET") {
			t.Fatalf("the token leaked into %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a getUpdates with a 1s timeout still waits for a TLS handshake after 5s")
	}
}

// A server (or anything listening on the API's port) that echoes the
// request back: the malformed status line it answers with is the
// request line, the token in its path, and must not reach the error.
func TestLeanEchoedRequestLineKeepsTheToken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				line, _ := bufio.NewReader(c).ReadString('\n')
				_, _ = io.WriteString(c, line+"\r\n")
			}()
		}
	}()
	const token = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw" // BotFather's shape
	b := leanBot(t, "http://"+ln.Addr().String())
	b.cfg.Token = token
	b.lean = newLeanAPI(b.lean.t, b.cfg.APIURL, token)
	err = b.request(context.Background(), "sendMessage", newForm())
	if err == nil {
		t.Fatal("an echo was taken for an answer")
	}
	for _, part := range []string{token, token[:20], "AAHdqTcv"} {
		if strings.Contains(err.Error(), part) {
			t.Fatalf("the token (%q) leaked into %v", part, err)
		}
	}
}
