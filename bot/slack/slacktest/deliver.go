package slacktest

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"
)

// Signer signs requests the way Slack signs what it sends to a bot's
// Request URLs.
type Signer struct {
	Secret string // the app's signing secret
}

// Sign returns the X-Slack-Request-Timestamp and X-Slack-Signature headers
// for body sent at ts: v0=hex(HMAC-SHA256(secret, "v0:"+unix(ts)+":"+body)).
func (sg Signer) Sign(body []byte, ts time.Time) http.Header {
	stamp := strconv.FormatInt(ts.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(sg.Secret))
	mac.Write([]byte("v0:" + stamp + ":"))
	mac.Write(body)
	h := http.Header{}
	h.Set("X-Slack-Request-Timestamp", stamp)
	h.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
	return h
}

// deliveryClient posts to the bot; the timeout keeps a hung bot from hanging
// the test.
var deliveryClient = &http.Client{Timeout: 30 * time.Second}

// encodeBody turns a payload into the bytes and Content-Type Slack sends:
// JSON for events ([]byte, json.RawMessage, string), a form for
// interactivity and slash commands (url.Values).
func encodeBody(tb testing.TB, body any) ([]byte, string) {
	tb.Helper()
	switch b := body.(type) {
	case []byte:
		return b, "application/json"
	case json.RawMessage:
		return b, "application/json"
	case string:
		return []byte(b), "application/json"
	case url.Values:
		return []byte(b.Encode()), "application/x-www-form-urlencoded"
	default:
		tb.Fatalf("slacktest: cannot post a %T: use []byte (JSON) or url.Values (form)", body)
		return nil, ""
	}
}

// PostSigned posts an event ([]byte JSON) or an interactivity/slash command
// form (url.Values) to the bot's endpoint as Slack would: the right
// Content-Type, Slack's User-Agent and a valid signature for the current
// time. The response body is read in full (resp.Body can be read again and
// need not be closed). A transport error fails the test, so call it from the
// test goroutine.
func PostSigned(tb testing.TB, endpoint string, body any, secret string) *http.Response {
	tb.Helper()
	b, ctype := encodeBody(tb, body)
	h := Signer{Secret: secret}.Sign(b, time.Now())
	h.Set("Content-Type", ctype)
	return post(tb, endpoint, b, h)
}

// PostUnsigned posts like PostSigned but without signature headers, for
// negative tests.
func PostUnsigned(tb testing.TB, endpoint string, body any) *http.Response {
	tb.Helper()
	b, ctype := encodeBody(tb, body)
	return post(tb, endpoint, b, http.Header{"Content-Type": {ctype}})
}

// PostWithSignature posts with exactly the given headers (e.g. a signature
// from Signer.Sign with a stale timestamp or the wrong secret, or with
// X-Slack-Retry-Num/X-Slack-Retry-Reason added to simulate a retry). The
// Content-Type is set from the body unless header has one.
func PostWithSignature(tb testing.TB, endpoint string, body any, header http.Header) *http.Response {
	tb.Helper()
	b, ctype := encodeBody(tb, body)
	h := header.Clone()
	if h == nil {
		h = http.Header{}
	}
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", ctype)
	}
	return post(tb, endpoint, b, h)
}

// RetryHeader adds the headers of Slack's n-th redelivery of an event
// (reason e.g. "http_timeout", "http_error") to a header from Signer.Sign.
func RetryHeader(h http.Header, n int, reason string) http.Header {
	h = h.Clone()
	h.Set("X-Slack-Retry-Num", strconv.Itoa(n))
	h.Set("X-Slack-Retry-Reason", reason)
	return h
}

func post(tb testing.TB, endpoint string, body []byte, h http.Header) *http.Response {
	tb.Helper()
	req, err := http.NewRequest(http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		tb.Fatalf("slacktest: post %s: %v", endpoint, err)
	}
	req.Header = h
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", "Slackbot 1.0 (+https://api.slack.com/robots)")
	}
	resp, err := deliveryClient.Do(req)
	if err != nil {
		tb.Fatalf("slacktest: post %s: %v", endpoint, err)
	}
	data, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		tb.Fatalf("slacktest: read answer of %s: %v", endpoint, err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(data))
	return resp
}

// BodyString reads a response body returned by the Post helpers (which
// buffer it), for assertions.
func BodyString(resp *http.Response) string {
	b, _ := io.ReadAll(resp.Body)
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return string(b)
}
