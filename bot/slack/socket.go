package slack

import (
	"context"
	"errors"
	"log/slog"

	slackapi "github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"
)

// RunSocketMode receives events over Socket Mode (no public URL needed)
// and hands them to the same code as HTTP. An envelope is acknowledged
// once acted on; one that failed is not, so Slack delivers it again.
func (d *Desk) RunSocketMode(ctx context.Context, client *socketmode.Client) error {
	errc := make(chan error, 1)
	go func() { errc <- client.RunContext(ctx) }()
	for {
		select {
		case <-ctx.Done():
			<-errc
			return nil
		case err := <-errc:
			if ctx.Err() != nil {
				return nil
			}
			return err
		case evt, ok := <-client.Events:
			if !ok {
				return nil
			}
			d.socketEvent(ctx, client, evt)
		}
	}
}

func (d *Desk) socketEvent(ctx context.Context, client *socketmode.Client, evt socketmode.Event) {
	switch evt.Type {
	case socketmode.EventTypeEventsAPI:
		ev, ok := evt.Data.(slackevents.EventsAPIEvent)
		if !ok || evt.Request == nil {
			return
		}
		if err := d.HandleEvent(ctx, ev); err != nil {
			d.log.Error("slack event failed; Slack will retry", slog.Any("err", err))
			return
		}
		client.Ack(*evt.Request)
	case socketmode.EventTypeInteractive:
		cb, ok := evt.Data.(slackapi.InteractionCallback)
		if !ok || evt.Request == nil {
			return
		}
		err := d.HandleInteraction(ctx, cb)
		var ve *ViewErrors
		switch {
		case errors.As(err, &ve):
			client.Ack(*evt.Request, ve.Response())
		case err != nil:
			d.log.Error("slack interaction failed", slog.Any("err", err))
		default:
			client.Ack(*evt.Request)
		}
	case socketmode.EventTypeSlashCommand:
		cmd, ok := evt.Data.(slackapi.SlashCommand)
		if !ok || evt.Request == nil {
			return
		}
		client.Ack(*evt.Request, ephemeral(d.HandleCommand(ctx, cmd)))
	case socketmode.EventTypeConnectionError, socketmode.EventTypeInvalidAuth:
		d.log.Error("slack socket mode connection problem", slog.String("type", string(evt.Type)))
	}
}
