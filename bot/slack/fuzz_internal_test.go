package slack

import (
	"encoding/json"
	"net/url"
	"testing"

	slackapi "github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"bridgebot/bot/telegram/tghtml"
)

// FuzzSlackPayloads feeds what Slack posts — an Events API body, an
// interactivity form with its JSON payload, a slash command form — to the
// parsing the bot does before acting: nothing panics, and a broadcast
// modal's submission either becomes a job whose texts are valid Telegram
// HTML or is refused with a problem.
func FuzzSlackPayloads(f *testing.F) {
	f.Add(`{"type":"event_callback","event_id":"Ev1","event":{"type":"message","channel":"C1","user":"U1","text":"hola","ts":"1.1","thread_ts":"1.0"}}`)
	f.Add(`{"type":"url_verification","challenge":"abc"}`)
	f.Add(`{"type":"event_callback","event":{"type":"message","subtype":"message_changed","message":{"text":"x"},"previous_message":{"text":"y"}}}`)
	f.Add(`{"type":"event_callback","event":{"type":"reaction_added","user":"U1","reaction":"white_check_mark","item":{"type":"message","channel":"C1","ts":"1.0"}}}`)
	f.Add(`payload=` + url.QueryEscape(`{"type":"block_actions","user":{"id":"U1"},"container":{"message_ts":"1.0"},"actions":[{"action_id":"answered","block_id":"b","value":"42"}]}`))
	f.Add(`payload=` + url.QueryEscape(`{"type":"view_submission","user":{"id":"U1"},"view":{"private_metadata":"C1","state":{"values":{"en":{"en":{"type":"plain_text_input","value":"<b>Hi</b>"}},"url":{"url":{"value":"https://x.org"}},"label_en":{"label_en":{"value":"More"}},"langs":{"langs":{"selected_options":[{"value":"es"}]}}}}}}`))
	f.Add(`command=%2Fbridge&text=export&user_id=U1&channel_id=C1`)
	f.Fuzz(func(t *testing.T, body string) {
		if ev, err := slackevents.ParseEvent(json.RawMessage(body), slackevents.OptionNoVerifyToken()); err == nil {
			_ = ev.InnerEvent.Data
		}
		form, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		_ = slashCommand(form)
		var cb slackapi.InteractionCallback
		if err := json.Unmarshal([]byte(form.Get("payload")), &cb); err != nil {
			return
		}
		job, problems := jobFromView(cb.View.State)
		if len(problems) > 0 {
			return
		}
		if len(job.Texts) == 0 {
			t.Fatal("a job without texts was accepted")
		}
		for lang, text := range job.Texts {
			if err := tghtml.Validate(text); err != nil {
				t.Fatalf("accepted %s text is invalid: %v", lang, err)
			}
		}
	})
}
