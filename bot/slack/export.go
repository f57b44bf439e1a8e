package slack

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	slackapi "github.com/slack-go/slack"

	"bridgebot/bot/audit"
)

// WriteSignups writes every sign-up as CSV to w and reports how many rows
// it wrote (the same export as `bridgebot export signups --format csv`).
type WriteSignups func(ctx context.Context, w io.Writer) (rows int64, err error)

// Exporter is "/bridge export": the sign-ups as a CSV file, sent in a
// direct message to the organizer who asked — never to a channel, where
// everyone in it would get members' answers. Only SLACK_ORGANIZERS may;
// anyone else is refused and the attempt is recorded in the audit log, as
// is every export. Each uploaded file is recorded (Host.RecordSharedFile)
// and deleted from Slack when any member erases their data.
type Exporter struct {
	api        exporterAPI
	log        *slog.Logger
	write      WriteSignups
	audit      *audit.Log
	organizers map[string]bool
	now        func() time.Time
	// shared records an uploaded export (Host.RecordSharedFile), so an
	// erasure deletes it.
	shared func(ctx context.Context, channel, fileID string, made time.Time) error
}

// exporterAPI is the Slack Web API calls the Exporter makes.
type exporterAPI interface {
	OpenConversationContext(ctx context.Context, params *slackapi.OpenConversationParameters) (*slackapi.Channel, bool, bool, error)
	GetUploadURLExternalContext(ctx context.Context, params slackapi.GetUploadURLExternalParameters) (*slackapi.GetUploadURLExternalResponse, error)
	UploadToURL(ctx context.Context, params slackapi.UploadToURLParameters) error
	CompleteUploadExternalContext(ctx context.Context, params slackapi.CompleteUploadExternalParameters) (*slackapi.CompleteUploadExternalResponse, error)
	DeleteFileContext(ctx context.Context, fileID string) error
}

// NewExporter registers /bridge export on the desk.
func NewExporter(d Host, write WriteSignups, log *audit.Log, organizers []string) *Exporter {
	x := &Exporter{api: d.SlackClient(), log: d.Logger(), write: write, audit: log, organizers: map[string]bool{}, now: time.Now, shared: d.RecordSharedFile}
	for _, o := range organizers {
		if o = strings.TrimSpace(o); o != "" {
			x.organizers[o] = true
		}
	}
	d.Extend(x)
	return x
}

const exportRefusal = "Sorry — only the organizers listed in SLACK_ORGANIZERS can export the sign-ups. This attempt was recorded."

// Command answers "/bridge export" at once (Slack wants an answer within
// 3 s) and sends the file when it is ready.
func (x *Exporter) Command(ctx context.Context, name string, cmd slackapi.SlashCommand) (string, bool, error) {
	if name != "export" {
		return "", false, nil
	}
	actor := "slack:" + cmd.UserID
	if !x.organizers[cmd.UserID] {
		x.log.Warn("sign-up export refused", slog.String("user", cmd.UserID))
		if err := x.audit.Record(ctx, audit.Entry{Action: audit.ActionExport, Actor: actor, Detail: "refused: not in SLACK_ORGANIZERS"}); err != nil {
			return "", true, fmt.Errorf("record the refused export: %w", err)
		}
		return exportRefusal, true, nil
	}
	go x.send(context.WithoutCancel(ctx), cmd.UserID)
	return "Preparing the sign-ups: I'll send them to you as a CSV file in a direct message.", true, nil
}

// send builds the CSV and uploads it into the organizer's direct messages.
func (x *Exporter) send(ctx context.Context, user string) {
	if err := x.sendErr(ctx, user); err != nil {
		x.log.Error("sign-up export failed", slog.String("user", user), slog.Any("err", err))
	}
}

func (x *Exporter) sendErr(ctx context.Context, user string) error {
	ch, _, _, err := x.api.OpenConversationContext(ctx, &slackapi.OpenConversationParameters{Users: []string{user}})
	if err != nil {
		return fmt.Errorf("open a direct message: %w", err)
	}
	if !strings.HasPrefix(ch.ID, "D") {
		return fmt.Errorf("conversations.open gave %s, not a direct message: not sending", ch.ID)
	}
	var buf bytes.Buffer
	made := x.now()
	rows, err := x.write(ctx, &buf)
	if err != nil {
		return fmt.Errorf("write the sign-ups: %w", err)
	}
	name := "bridge-signups-" + x.now().UTC().Format("2006-01-02") + ".csv"
	if buf.Len() == 0 {
		buf.WriteString("\n") // Slack refuses empty files
	}
	// Slack's three upload steps by hand, the file recorded before it is
	// shared: were the last step's answer lost (or the process stopped)
	// after Slack shared it, a later erasure must still reach it.
	u, err := x.api.GetUploadURLExternalContext(ctx, slackapi.GetUploadURLExternalParameters{FileName: name, FileSize: buf.Len()})
	if err != nil {
		return fmt.Errorf("upload the sign-ups: %w", err)
	}
	if err := x.shared(ctx, ch.ID, u.FileID, made); err != nil {
		return fmt.Errorf("record the export for erasures (nothing was shared): %w", err)
	}
	if err := x.api.UploadToURL(ctx, slackapi.UploadToURLParameters{UploadURL: u.UploadURL, Reader: &buf, Filename: name}); err != nil {
		return fmt.Errorf("upload the sign-ups: %w", err)
	}
	if _, err := x.api.CompleteUploadExternalContext(ctx, slackapi.CompleteUploadExternalParameters{
		Files: []slackapi.FileSummary{{ID: u.FileID, Title: name}}, Channel: ch.ID,
		InitialComment: fmt.Sprintf("The sign-ups, %d rows. Members' personal data: keep this file private and delete it when you are done. If a member erases their data, the bot deletes this file (run /bridge export again for a current copy).", rows),
	}); err != nil {
		// Slack may have shared it all the same: withdraw it (an erasure
		// would delete it too, being recorded).
		if derr := x.api.DeleteFileContext(context.WithoutCancel(ctx), u.FileID); derr != nil {
			x.log.Warn("an export whose sharing failed could not be withdrawn; the next erasure deletes it", slog.String("file", u.FileID), slog.Any("err", derr))
		}
		return fmt.Errorf("upload the sign-ups: %w", err)
	}
	if err := x.audit.Record(ctx, audit.Entry{Action: audit.ActionExport, Actor: "slack:" + user, Count: rows, Detail: "signups csv (slack direct message)"}); err != nil {
		return fmt.Errorf("record the export: %w", err)
	}
	return nil
}

// HandleInteraction: the export has no buttons.
func (*Exporter) HandleInteraction(context.Context, slackapi.InteractionCallback) (bool, error) {
	return false, nil
}
