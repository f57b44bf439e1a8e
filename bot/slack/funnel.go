package slack

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"

	slackapi "github.com/slack-go/slack"

	"bridgebot/bot/funnel"
	"bridgebot/flows"
	"bridgebot/locales"
)

// funnelFlow is the flow /bridge stats charts: the interest form; nil
// without a funnel store or flows.
func (d *Desk) funnelFlow() *flows.Flow {
	if d.cfg.Funnel == nil {
		return nil
	}
	return d.cfg.Flows[flows.SignupFlow]
}

// funnelReport reads the funnel with the labels staff read.
func (d *Desk) funnelReport(ctx context.Context) (funnel.Report, error) {
	return funnel.Build(ctx, d.cfg.Funnel, d.funnelFlow(), locales.Languages, funnel.Labels{
		Text:      d.text,
		LangName:  langName,
		TopicText: func(id string) string { return d.text("faq." + id + ".title") },
	})
}

// postFunnel uploads the funnel chart to the channel, with the FAQ's most
// asked topics and unmatched counts as its comment. A failure is told to
// the person who asked.
func (d *Desk) postFunnel(ctx context.Context, channel, user string) {
	if err := d.postFunnelErr(ctx, channel); err != nil {
		d.log.Error("funnel chart not posted", slog.String("channel", channel), slog.Any("err", err))
		_, _ = d.api.PostEphemeralContext(ctx, channel, user, slackapi.MsgOptionText("⚠️ The funnel chart could not be posted: "+err.Error(), false))
	}
}

func (d *Desk) postFunnelErr(ctx context.Context, channel string) error {
	r, err := d.funnelReport(ctx)
	if err != nil {
		return err
	}
	img, err := r.PNG()
	if err != nil {
		return err
	}
	name := "bridge-funnel-" + d.now().UTC().Format("2006-01-02") + ".png"
	if _, err := d.api.UploadFileContext(ctx, slackapi.UploadFileParameters{
		Channel: channel, Filename: name, Title: r.Flow + " — how far members got", FileSize: len(img), Reader: bytes.NewReader(img),
		InitialComment: funnelComment(r),
	}); err != nil {
		return fmt.Errorf("upload the chart: %w", err)
	}
	return nil
}

// funnelComment is the text posted with the chart: per language, starts,
// sign-ups, where most stopped, the FAQ's most asked topics and how many
// questions it could not match.
func funnelComment(r funnel.Report) string {
	var b strings.Builder
	b.WriteString("📊 *" + slackEscape(r.Flow) + "*: how many members reached each step, and where they stopped (cancelled, deleted their data, or left it to expire).")
	for _, l := range r.Langs {
		fmt.Fprintf(&b, "\n\n*%s* — %d started, %d sign-ups", l.Name, l.Started(), l.Completed)
		var worst funnel.StepRow
		for _, s := range l.Steps {
			if s.Stopped() > worst.Stopped() {
				worst = s
			}
		}
		if worst.Stopped() > 0 {
			fmt.Fprintf(&b, "; most stopped at *%s* (%d)", slackEscape(worst.Label), worst.Stopped())
		}
		var topics []string
		for _, t := range l.TopTopics {
			topics = append(topics, fmt.Sprintf("“%s” %d", slackEscape(t.Title), t.Asked))
		}
		if len(topics) == 0 {
			topics = []string{"—"}
		}
		fmt.Fprintf(&b, "\nFAQ, most asked: %s\nQuestions the FAQ could not match: %d (and %d answered with “did you mean”)",
			strings.Join(topics, " · "), l.FAQ.Unmatched, l.FAQ.DidYouMean)
	}
	return b.String()
}
