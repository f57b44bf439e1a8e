package slack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"

	slackapi "github.com/slack-go/slack"
)

// Download errors that retrying cannot fix are permanent; the rest
// (Slack or the network down) are retried.
func TestFileProblemClassifiesDownloadErrors(t *testing.T) {
	for _, tc := range []struct {
		err       error
		permanent bool
	}{
		{fmt.Errorf("x: %w", errFileTooLarge), true},
		{slackapi.StatusCodeError{Code: 404, Status: "404 Not Found"}, true},
		{slackapi.StatusCodeError{Code: 403, Status: "403 Forbidden"}, true},
		{errors.New(`refusing to send the token to "http://evil.example/f": not an https Slack URL or the API URL`), true},
		{errors.New("received empty download URL"), true},
		{errors.New("file download was redirected to the sign-in page at x.slack.com: the token cannot read this file"), true},
		{slackapi.StatusCodeError{Code: 503, Status: "503 Service Unavailable"}, false},
		{slackapi.StatusCodeError{Code: 500, Status: "500 Internal Server Error"}, false},
		{&net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}, false},
		{context.DeadlineExceeded, false},
	} {
		reason, permanent := fileProblem(fmt.Errorf("download: %w", tc.err), 45<<20)
		if permanent != tc.permanent || reason == "" {
			t.Errorf("%v: permanent=%v reason=%q, want permanent=%v", tc.err, permanent, reason, tc.permanent)
		}
	}
	if r, _ := fileProblem(errFileTooLarge, 45<<20); r != "too large (the limit is 45 MB)" {
		t.Errorf("too large: %q", r)
	}
}

func TestSplitHTML(t *testing.T) {
	if p := splitHTML("", 10); len(p) != 0 {
		t.Errorf("empty: %q", p)
	}
	if p := splitHTML("<b>hola</b>", 20); len(p) != 1 || p[0] != "<b>hola</b>" {
		t.Errorf("short: %q", p)
	}
	// Lines go whole while they fit; a long line is cut between tags,
	// entities and characters, never inside one.
	in := "uno dos\ntres\n" + strings.Repeat("<b>x</b>&amp;é", 5)
	parts := splitHTML(in, 12)
	if strings.Join(parts, "") != in {
		t.Fatalf("parts %q do not make up the text", parts)
	}
	if parts[0] != "uno dos\ntres\n" && parts[0] != "uno dos\n" {
		t.Errorf("first part %q, want whole lines", parts[0])
	}
	for _, p := range parts {
		if utf16Len(p) > 12 {
			t.Errorf("part %q longer than 12", p)
		}
		if strings.Count(p, "<")+strings.Count(p, "&") != strings.Count(p, ">")+strings.Count(p, ";") {
			t.Errorf("part %q cuts a tag or an entity", p)
		}
	}
	if got := utf16Len("a😀"); got != 3 {
		t.Errorf("utf16Len = %d, want 3", got)
	}
}
