package slack

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	slackapi "github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
)

// maxBody bounds what an HTTP request from Slack may carry.
const maxBody = 1 << 20

// Handler serves Slack's HTTP endpoints. Every request must carry a valid
// signature made with the signing secret, within Slack's 5-minute window;
// anything else gets 401 and has no effect.
//
//	POST /slack/events        Events API (and url_verification)
//	POST /slack/commands      the /bridge slash command
//	POST /slack/interactivity buttons and modals
func (d *Desk) Handler(signingSecret string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /slack/events", d.verified(signingSecret, d.serveEvents))
	mux.HandleFunc("POST /slack/commands", d.verified(signingSecret, d.serveCommand))
	mux.HandleFunc("POST /slack/interactivity", d.verified(signingSecret, d.serveInteraction))
	return mux
}

// verified reads the body once, checks the signature over the raw bytes,
// then hands the bytes on (parsing the form first would consume them).
func (d *Desk) verified(secret string, next func(http.ResponseWriter, *http.Request, []byte)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
			return
		}
		sv, err := slackapi.NewSecretsVerifier(r.Header, secret)
		if err == nil {
			_, _ = sv.Write(body)
			err = sv.Ensure()
		}
		if err != nil || secret == "" {
			d.log.Warn("rejected unsigned or badly signed Slack request", slog.String("path", r.URL.Path), slog.String("remote", r.RemoteAddr))
			w.Header().Set("X-Slack-No-Retry", "1")
			http.Error(w, "invalid signature", http.StatusUnauthorized)
			return
		}
		next(w, r, body)
	}
}

func (d *Desk) serveEvents(w http.ResponseWriter, r *http.Request, body []byte) {
	ev, err := slackevents.ParseEvent(json.RawMessage(body), slackevents.OptionNoVerifyToken())
	if err != nil {
		w.Header().Set("X-Slack-No-Retry", "1")
		http.Error(w, "cannot parse event", http.StatusBadRequest)
		return
	}
	if ev.Type == slackevents.URLVerification {
		var ch slackevents.ChallengeResponse
		if err := json.Unmarshal(body, &ch); err != nil {
			http.Error(w, "bad challenge", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, ch.Challenge)
		return
	}
	if err := d.HandleEvent(r.Context(), ev); err != nil {
		// Nothing was done: a 500 makes Slack deliver it again.
		d.log.Error("slack event failed", slog.Any("err", err))
		http.Error(w, "temporarily unavailable", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (d *Desk) serveCommand(w http.ResponseWriter, r *http.Request, body []byte) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	cmd := slashCommand(form)
	reply := d.HandleCommand(r.Context(), cmd)
	writeJSON(w, ephemeral(reply))
}

// slashCommand reads a slash command from its form, like
// slack.SlashCommandParse but from bytes already read for verification.
func slashCommand(f url.Values) slackapi.SlashCommand {
	return slackapi.SlashCommand{
		Token: f.Get("token"), TeamID: f.Get("team_id"), TeamDomain: f.Get("team_domain"),
		ChannelID: f.Get("channel_id"), ChannelName: f.Get("channel_name"), UserID: f.Get("user_id"),
		UserName: f.Get("user_name"), Command: f.Get("command"), Text: f.Get("text"),
		ResponseURL: f.Get("response_url"), TriggerID: f.Get("trigger_id"), APIAppID: f.Get("api_app_id"),
	}
}

func (d *Desk) serveInteraction(w http.ResponseWriter, r *http.Request, body []byte) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	var cb slackapi.InteractionCallback
	if err := json.Unmarshal([]byte(form.Get("payload")), &cb); err != nil {
		http.Error(w, "bad payload", http.StatusBadRequest)
		return
	}
	if err := d.HandleInteraction(r.Context(), cb); err != nil {
		var ve *ViewErrors
		if errors.As(err, &ve) {
			writeJSON(w, ve.Response())
			return
		}
		d.log.Error("slack interaction failed", slog.Any("err", err))
		http.Error(w, "temporarily unavailable", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// ViewErrors are validation errors of a modal submission, shown by Slack
// next to the fields.
type ViewErrors struct{ Errors map[string]string }

func (v *ViewErrors) Error() string {
	parts := make([]string, 0, len(v.Errors))
	for k, m := range v.Errors {
		parts = append(parts, k+": "+m)
	}
	return "invalid submission: " + strings.Join(parts, "; ")
}

// Response is the body Slack expects for a rejected view submission.
func (v *ViewErrors) Response() any {
	return map[string]any{"response_action": "errors", "errors": v.Errors}
}

func ephemeral(text string) map[string]any {
	return map[string]any{"response_type": "ephemeral", "text": text}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
