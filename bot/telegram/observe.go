package telegram

import (
	"net/http"
	"strings"
)

// Observer is told what the adapter sees, for metrics. Its methods must
// be cheap and safe for concurrent use.
type Observer interface {
	// APICall is one Bot API request: the method (or "file" for a
	// download) and the HTTP status, 0 when no answer came. Telegram's
	// error_code is the HTTP status.
	APICall(method string, status int)
	// UndecodableUpdate is an update skipped because it could not be read.
	UndecodableUpdate()
}

// observing reports every request's outcome to an Observer.
type observing struct {
	base http.RoundTripper
	obs  Observer
}

func (o observing) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := o.base.RoundTrip(r)
	status := 0
	if err == nil {
		status = resp.StatusCode
	}
	o.obs.APICall(apiMethod(r.URL.Path), status)
	return resp, err
}

// apiMethod is the method of a Bot API path (/bot<token>/<method>), never
// the token; downloads (/file/bot<token>/<path>) are "file".
func apiMethod(path string) string {
	if strings.HasPrefix(path, "/file/") {
		return "file"
	}
	i := strings.LastIndexByte(path, '/')
	if i < 0 || !strings.HasPrefix(path[:i], "/bot") && !strings.Contains(path[:i], "/bot") {
		return "other"
	}
	m := path[i+1:]
	if m == "" || len(m) > 40 {
		return "other"
	}
	for _, c := range m {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return "other"
		}
	}
	return m
}
