package slack

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	slackapi "github.com/slack-go/slack"

	"bridgebot/bot/broadcast"
	"bridgebot/bot/telegram/tghtml"
	"bridgebot/locales"
)

// Composer is the Slack side of broadcasts: `/bridge broadcast` opens a
// modal, a submission posts a preview with Send / Cancel, and the preview
// then shows live progress with Pause / Resume / Cancel. Only organizers
// listed in configuration may do any of it.
type Composer struct {
	api        composerAPI
	rdb        redis.Cmdable
	key        func(parts ...string) string
	store      broadcast.Control
	choices    broadcast.Choices // what the modal offers: the loaded sign-up flow's
	organizers map[string]bool
	log        *slog.Logger
	every      time.Duration

	mu       sync.Mutex
	rendered map[string]string // job ID → last progress text drawn
}

var _ Extension = (*Composer)(nil)

// composerAPI is the Slack Web API calls the Composer makes.
type composerAPI interface {
	OpenViewContext(ctx context.Context, triggerID string, view slackapi.ModalViewRequest) (*slackapi.ViewResponse, error)
	PostEphemeralContext(ctx context.Context, channelID, userID string, options ...slackapi.MsgOption) (string, error)
	PostMessageContext(ctx context.Context, channelID string, options ...slackapi.MsgOption) (string, string, error)
	UpdateMessageContext(ctx context.Context, channelID, timestamp string, options ...slackapi.MsgOption) (string, string, string, error)
}

// NewComposer adds broadcasting to the desk for these Slack user IDs.
func NewComposer(d Host, store broadcast.Control, organizers []string) *Composer {
	c := &Composer{api: d.SlackClient(), rdb: d.RedisClient(), key: d.Key, store: store, choices: store.Choices(),
		organizers: map[string]bool{}, log: d.Logger(), every: 2 * time.Second, rendered: map[string]string{}}
	for _, o := range organizers {
		c.organizers[strings.TrimSpace(o)] = true
	}
	d.Extend(c)
	return c
}

// Callback and action IDs.
const (
	viewBroadcast   = "bridgebot_broadcast"
	actionSend      = "bridgebot_bc_send"
	actionDiscard   = "bridgebot_bc_discard"
	actionPause     = "bridgebot_bc_pause"
	actionResume    = "bridgebot_bc_resume"
	actionCancelJob = "bridgebot_bc_cancel"
)

const refusal = "Sorry — only the organizers listed in SLACK_ORGANIZERS can send broadcasts. Ask one of them, or an admin, to add you."

// Command opens the composer modal. Slack's trigger_id is single-use and
// expires in 3 seconds, so the modal is opened before anything else.
func (c *Composer) Command(ctx context.Context, name string, cmd slackapi.SlashCommand) (string, bool, error) {
	if name != "broadcast" {
		return "", false, nil
	}
	if !c.organizers[cmd.UserID] {
		return refusal, true, nil
	}
	if _, err := c.api.OpenViewContext(ctx, cmd.TriggerID, c.modal(cmd.ChannelID)); err != nil {
		return "", true, fmt.Errorf("open the broadcast form: %w", err)
	}
	return "Opening the broadcast form…", true, nil
}

func plainText(s string) *slackapi.TextBlockObject {
	return slackapi.NewTextBlockObject(slackapi.PlainTextType, s, false, false)
}

func options(pairs ...string) []*slackapi.OptionBlockObject {
	var out []*slackapi.OptionBlockObject
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, slackapi.NewOptionBlockObject(pairs[i], plainText(pairs[i+1]), nil))
	}
	return out
}

func (c *Composer) modal(channel string) slackapi.ModalViewRequest {
	text := func(id, label, hint string) slackapi.Block {
		el := slackapi.NewPlainTextInputBlockElement(plainText("Slack formatting works: *bold*, _italic_, ~strike~, <https://…|link text>"), id)
		el.Multiline = true
		el.MaxLength = 3000 // Slack's limit for a text input
		return slackapi.NewInputBlock(id, plainText(label), plainText(hint), el).WithOptional(true)
	}
	multi := func(id, label string, choices []broadcast.Choice) slackapi.Block {
		var opts []string
		for _, ch := range choices {
			opts = append(opts, ch.Value, ch.Label)
		}
		el := slackapi.NewOptionsMultiSelectBlockElement(slackapi.MultiOptTypeStatic, plainText("Everyone"), id, options(opts...)...)
		return slackapi.NewInputBlock(id, plainText(label), nil, el).WithOptional(true)
	}
	border := slackapi.NewRadioButtonsBlockElement("border", options("any", "Either", "yes", "Only the border region", "no", "Only outside it")...)
	fallback := slackapi.NewCheckboxGroupsBlockElement("fallback", options("yes", "Members whose language version is empty get the other one")...)
	line := func(id, label string) slackapi.Block {
		return slackapi.NewInputBlock(id, plainText(label), nil, slackapi.NewPlainTextInputBlockElement(nil, id)).WithOptional(true)
	}
	return slackapi.ModalViewRequest{
		Type: slackapi.VTModal, CallbackID: viewBroadcast, PrivateMetadata: channel,
		Title: plainText("Broadcast"), Submit: plainText("Preview"), Close: plainText("Cancel"),
		Blocks: slackapi.Blocks{BlockSet: []slackapi.Block{
			text("en", "English text", "What members who chose English receive."),
			text("es", "Spanish text", "Lo que reciben quienes eligieron español."),
			multi("langs", "Languages", c.choices.Langs),
			multi("areas", "Issue areas", c.choices.Areas),
			multi("roles", "Roles", c.choices.Roles),
			slackapi.NewInputBlock("border", plainText("U.S.–Mexico border region"), nil, border).WithOptional(true),
			line("label_en", "Link button label (English)"),
			line("label_es", "Link button label (Spanish)"),
			slackapi.NewInputBlock("url", plainText("Link button URL"), nil, slackapi.NewURLTextInputBlockElement(plainText("https://"), "url")).WithOptional(true),
			slackapi.NewInputBlock("at", plainText("Send at (empty = when you press Send)"), nil, slackapi.NewDateTimePickerBlockElement("at")).WithOptional(true),
			slackapi.NewInputBlock("fallback", plainText("Missing language"), nil, fallback).WithOptional(true),
		}},
	}
}

// HandleInteraction handles the modal submission and the preview's buttons.
func (c *Composer) HandleInteraction(ctx context.Context, cb slackapi.InteractionCallback) (bool, error) {
	switch cb.Type {
	case slackapi.InteractionTypeViewSubmission:
		if cb.View.CallbackID != viewBroadcast {
			return false, nil
		}
		return true, c.submitted(ctx, cb)
	case slackapi.InteractionTypeBlockActions:
		for _, a := range cb.ActionCallback.BlockActions {
			switch a.ActionID {
			case actionSend, actionDiscard, actionPause, actionResume, actionCancelJob:
				return true, c.button(ctx, cb, a)
			}
		}
	}
	return false, nil
}

// submitted validates the form (errors show next to the fields), then
// acknowledges at once and builds the preview afterwards: counting the
// audience may take longer than Slack's 3 seconds.
func (c *Composer) submitted(ctx context.Context, cb slackapi.InteractionCallback) error {
	if !c.organizers[cb.User.ID] {
		return &ViewErrors{Errors: map[string]string{"en": refusal}}
	}
	job, problems := jobFromView(cb.View.State)
	if len(problems) > 0 {
		return &ViewErrors{Errors: problems}
	}
	job.CreatedBy = "slack:" + cb.User.ID
	channel, user := cb.View.PrivateMetadata, cb.User.ID
	go c.postPreview(context.WithoutCancel(ctx), job, channel, user)
	return nil
}

// value reads one input; each input's action ID is its block ID.
func value(st *slackapi.ViewState, block string) slackapi.BlockAction {
	if st == nil {
		return slackapi.BlockAction{}
	}
	return st.Values[block][block]
}

func selected(a slackapi.BlockAction) []string {
	var out []string
	for _, o := range a.SelectedOptions {
		out = append(out, o.Value)
	}
	return out
}

// jobFromView reads the modal; problems are keyed by block ID.
func jobFromView(st *slackapi.ViewState) (broadcast.Job, map[string]string) {
	problems := map[string]string{}
	job := broadcast.Job{Texts: map[string]string{}, ButtonLabel: map[string]string{}}
	for _, lang := range locales.Languages {
		t := strings.TrimSpace(value(st, lang).Value)
		if t == "" {
			continue
		}
		// The field is a plain-text input: the organizer's Slack markup,
		// sent as Telegram HTML.
		t = telegramHTML(t)
		if err := tghtml.Validate(t); err != nil {
			problems[lang] = err.Error()
		}
		job.Texts[lang] = t
	}
	for _, lang := range locales.Languages {
		if l := strings.TrimSpace(value(st, "label_"+lang).Value); l != "" {
			job.ButtonLabel[lang] = l
		}
	}
	if len(job.Texts) == 0 {
		problems["en"] = "Write the announcement in English, Spanish or both."
	}
	job.Audience = broadcast.Audience{Langs: selected(value(st, "langs")), Areas: selected(value(st, "areas")), Roles: selected(value(st, "roles")),
		Border: strings.TrimPrefix(value(st, "border").SelectedOption.Value, "any")}
	job.ButtonURL = strings.TrimSpace(value(st, "url").Value)
	if job.ButtonURL != "" {
		if u, err := url.Parse(job.ButtonURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			problems["url"] = "Use a full web address starting with https://"
		}
		if len(job.ButtonLabel) == 0 {
			problems["label_en"] = "A link button needs a label."
		}
	} else if len(job.ButtonLabel) > 0 {
		problems["url"] = "A link button needs a URL."
	}
	if at := value(st, "at").SelectedDateTime; at > 0 {
		job.At = time.Unix(at, 0)
		if job.At.Before(time.Now().Add(-time.Minute)) {
			problems["at"] = "That time has passed; leave it empty to send right away."
		}
	}
	job.Fallback = len(value(st, "fallback").SelectedOptions) > 0
	return job, problems
}

type draft struct {
	Job     broadcast.Job `json:"job"`
	Channel string        `json:"channel"`
}

func (c *Composer) draftKey(id string) string { return c.key("bcdraft", id) }

// postPreview posts each language version as members will see it, the
// audience per language and the expected duration, with Send / Cancel.
func (c *Composer) postPreview(ctx context.Context, job broadcast.Job, channel, user string) {
	fail := func(err error) {
		c.log.Error("broadcast preview failed", slog.Any("err", err))
		_, _ = c.api.PostEphemeralContext(ctx, channel, user, slackapi.MsgOptionText("⚠️ Could not prepare the broadcast preview: "+err.Error(), false))
	}
	p, err := c.store.Preview(ctx, job)
	if err != nil {
		fail(err)
		return
	}
	id := rand.Text()
	raw, _ := json.Marshal(draft{Job: job, Channel: channel})
	if err := c.rdb.Set(ctx, c.draftKey(id), raw, 48*time.Hour).Err(); err != nil {
		fail(err)
		return
	}
	blocks := previewBlocks(p, user)
	send := slackapi.NewButtonBlockElement(actionSend, id, plainText(fmt.Sprintf("📣 Send to %d members", p.Recipients)))
	send.Style = slackapi.StylePrimary
	send.Confirm = slackapi.NewConfirmationBlockObject(plainText(fmt.Sprintf("Send to %d members?", p.Recipients)),
		plainText("The announcement goes out on Telegram at once and cannot be taken back."), plainText("Send"), plainText("Not yet"))
	discard := slackapi.NewButtonBlockElement(actionDiscard, id, plainText("Cancel"))
	discard.Style = slackapi.StyleDanger
	blocks = append(blocks, slackapi.NewActionBlock(blockTag+"bc_actions", send, discard))
	if _, _, err := c.api.PostMessageContext(ctx, channel, slackapi.MsgOptionText("Broadcast preview", false), slackapi.MsgOptionBlocks(blocks...)); err != nil {
		fail(err)
	}
}

func mrkdwn(s string) *slackapi.TextBlockObject {
	return slackapi.NewTextBlockObject(slackapi.MarkdownType, clipSlack(s), false, false)
}

func previewBlocks(p broadcast.Preview, user string) []slackapi.Block {
	blocks := []slackapi.Block{slackapi.NewSectionBlock(mrkdwn(fmt.Sprintf("📣 *Broadcast preview* by <@%s>", user)), nil, nil, slackapi.SectionBlockOptionBlockID(blockTag+"bc_head"))}
	for _, lang := range locales.Languages {
		t, ok := p.Shown[lang]
		if !ok {
			continue
		}
		label := ""
		if l := p.Job.ButtonLabel[lang]; l != "" && p.Job.ButtonURL != "" {
			label = fmt.Sprintf("\n[ %s → %s ]", slackEscape(l), slackEscape(p.Job.ButtonURL))
		}
		blocks = append(blocks, slackapi.NewSectionBlock(mrkdwn(fmt.Sprintf("*%s version*\n%s%s", p.LangName(lang), quote(slackEscape(t)), label)), nil, nil, slackapi.SectionBlockOptionBlockID(blockTag+"bc_"+lang)))
	}
	var lines []string
	for _, g := range p.Groups {
		gets := "get *nothing* (no version in their language)"
		if g.Gets != "" {
			gets = "get the " + p.LangName(g.Gets) + " version"
		}
		lines = append(lines, fmt.Sprintf("• %d %s-speaking members %s", g.Members, p.LangName(g.Lang), gets))
	}
	when := "when you press *Send*"
	if !p.Job.At.IsZero() {
		when = fmt.Sprintf("at <!date^%d^{date_short_pretty} {time}|%s>", p.Job.At.Unix(), p.Job.At.UTC().Format(time.RFC1123))
	}
	lines = append(lines, fmt.Sprintf("*Audience:* %s — %d recipients, about %s at %.0f messages/s, starting %s.",
		audienceText(p.Job.Audience), p.Recipients, p.Duration.Round(time.Second), p.Rate, when))
	blocks = append(blocks, slackapi.NewSectionBlock(mrkdwn(strings.Join(lines, "\n")), nil, nil, slackapi.SectionBlockOptionBlockID(blockTag+"bc_audience")))
	return blocks
}

func audienceText(a broadcast.Audience) string {
	if s := a.String(); s != "" && s != "all" {
		return "`" + s + "`"
	}
	return "all subscribers"
}

// button handles Send / Cancel on a preview and Pause / Resume / Cancel on
// a running broadcast.
func (c *Composer) button(ctx context.Context, cb slackapi.InteractionCallback, a *slackapi.BlockAction) error {
	channel, ts := cb.Channel.ID, cb.Message.Timestamp
	if channel == "" {
		channel = cb.Container.ChannelID
	}
	if ts == "" {
		ts = cb.Container.MessageTs
	}
	if !c.organizers[cb.User.ID] {
		_, err := c.api.PostEphemeralContext(ctx, channel, cb.User.ID, slackapi.MsgOptionText(refusal, false))
		return err
	}
	switch a.ActionID {
	case actionSend:
		raw, err := c.rdb.GetDel(ctx, c.draftKey(a.Value)).Result()
		if errors.Is(err, redis.Nil) {
			// Already sent or discarded (a double click), or expired.
			_, err := c.api.PostEphemeralContext(ctx, channel, cb.User.ID, slackapi.MsgOptionText("This preview was already sent, discarded, or has expired (after 48 hours). Use /bridge broadcast to start again.", false))
			return err
		}
		if err != nil {
			return fmt.Errorf("load broadcast draft: %w", err)
		}
		var dr draft
		if err := json.Unmarshal([]byte(raw), &dr); err != nil {
			return fmt.Errorf("decode broadcast draft: %w", err)
		}
		dr.Job.PreviewRef = channel + ":" + ts
		// Creating the job counts the audience, which can take longer than
		// Slack's 3 seconds: acknowledge now, create and draw afterwards.
		go c.create(context.WithoutCancel(ctx), dr.Job, channel, cb.User.ID)
		return nil
	case actionDiscard:
		c.rdb.Del(ctx, c.draftKey(a.Value))
		_, _, _, err := c.api.UpdateMessageContext(ctx, channel, ts, slackapi.MsgOptionText("Broadcast discarded", false),
			slackapi.MsgOptionBlocks(slackapi.NewSectionBlock(mrkdwn(fmt.Sprintf("🗑️ Broadcast discarded by <@%s>; nothing was sent.", cb.User.ID)), nil, nil, slackapi.SectionBlockOptionBlockID(blockTag+"bc_head"))))
		return err
	case actionPause, actionResume, actionCancelJob:
		if ok, err := c.onItsMessage(ctx, a.Value, channel, ts, cb.User.ID); !ok || err != nil {
			return err
		}
	}
	switch a.ActionID {
	case actionPause:
		if err := c.store.Pause(ctx, a.Value); err != nil {
			return c.tellOrganizer(ctx, channel, cb.User.ID, err)
		}
	case actionResume:
		if err := c.store.Resume(ctx, a.Value); err != nil {
			return c.tellOrganizer(ctx, channel, cb.User.ID, err)
		}
	case actionCancelJob:
		if err := c.store.Cancel(ctx, a.Value); err != nil {
			return c.tellOrganizer(ctx, channel, cb.User.ID, err)
		}
	}
	return c.draw(ctx, a.Value, true)
}

// onItsMessage reports whether job id is the broadcast that the message
// (channel, ts) shows; if not, the organizer is told and nothing is done.
// A job's buttons are only on its own message, so a mismatch is a stale
// message (say, from before Redis lost its data) or a forged press.
func (c *Composer) onItsMessage(ctx context.Context, id, channel, ts, user string) (bool, error) {
	j, err := c.store.Get(ctx, id)
	if broadcast.IsNotFound(err) {
		return false, c.tellOrganizer(ctx, channel, user, errors.New("this message's broadcast no longer exists (the database may have lost it); nothing was changed"))
	}
	if err != nil {
		return false, err
	}
	if j.PreviewRef != channel+":"+ts {
		c.log.Warn("broadcast button refused: its job is not the one of its message",
			slog.String("job", id), slog.String("channel", channel), slog.String("ts", ts))
		return false, c.tellOrganizer(ctx, channel, user, errors.New("this button does not belong to the broadcast this message shows; nothing was changed. Use the buttons on the broadcast's own message, or `bridgebot broadcast list`"))
	}
	return true, nil
}

func (c *Composer) create(ctx context.Context, j broadcast.Job, channel, user string) {
	job, err := c.store.Create(ctx, j)
	if err != nil {
		c.log.Error("broadcast not created", slog.Any("err", err))
		_, _ = c.api.PostEphemeralContext(ctx, channel, user, slackapi.MsgOptionText("⚠️ The broadcast was not created: "+err.Error()+" — submit /bridge broadcast again.", false))
		return
	}
	c.log.Info("broadcast created from slack", slog.String("job", job.ID), slog.String("by", user))
	if err := c.draw(ctx, job.ID, true); err != nil {
		c.log.Warn("broadcast progress: first draw failed", slog.String("job", job.ID), slog.Any("err", err))
	}
}

func (c *Composer) tellOrganizer(ctx context.Context, channel, user string, err error) error {
	_, perr := c.api.PostEphemeralContext(ctx, channel, user, slackapi.MsgOptionText("⚠️ "+err.Error(), false))
	return perr
}

// Run keeps every broadcast's Slack message current: a progress bar,
// counts, rate and ETA at most every 2 seconds, then the final report.
func (c *Composer) Run(ctx context.Context) error {
	t := time.NewTicker(c.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		jobs, err := c.store.List(ctx, 20)
		if err != nil {
			c.log.Warn("broadcast progress: cannot list jobs", slog.Any("err", err))
			continue
		}
		for _, j := range jobs {
			if j.PreviewRef == "" {
				continue
			}
			if err := c.draw(ctx, j.ID, false); err != nil {
				c.log.Warn("broadcast progress: update failed", slog.String("job", j.ID), slog.Any("err", err))
			}
		}
	}
}

// draw redraws a job's message when its progress changed. One replica
// draws each job per interval (a short Redis lease), so several bots do
// not spend Slack's chat.update budget twice.
func (c *Composer) draw(ctx context.Context, id string, force bool) error {
	p, err := c.store.Progress(ctx, id)
	if err != nil {
		return err
	}
	channel, ts, ok := strings.Cut(p.PreviewRef, ":")
	if !ok {
		return nil
	}
	text, blocks := progressBlocks(p, c.choices)
	c.mu.Lock()
	same := c.rendered[id] == text
	c.mu.Unlock()
	if same && !force {
		return nil
	}
	if !force {
		got, err := c.rdb.SetNX(ctx, c.key("bcdraw", id), "1", c.every-100*time.Millisecond).Result()
		if err != nil || !got {
			return err
		}
	}
	if _, _, _, err := c.api.UpdateMessageContext(ctx, channel, ts, slackapi.MsgOptionText(text, false), slackapi.MsgOptionBlocks(blocks...)); err != nil {
		return err
	}
	c.mu.Lock()
	c.rendered[id] = text // unchanged text (a finished job) is not redrawn
	c.mu.Unlock()
	return nil
}

// progressBlocks draws a job's progress under what it sends; names gives
// the languages' names.
func progressBlocks(p broadcast.Progress, names broadcast.Choices) (string, []slackapi.Block) {
	c := p.Counts
	// Members who subscribed after the job was created are sent to as
	// well, so Done can pass the Total counted then.
	c.Total = max(c.Total, p.Done)
	pct := 0.0
	if c.Total > 0 {
		pct = min(float64(p.Done)/float64(c.Total), 1)
	}
	const width = 20
	filled := int(pct*width + 0.5)
	bar := strings.Repeat("▓", filled) + strings.Repeat("░", width-filled)
	var head string
	switch p.Status {
	case broadcast.StatusScheduled:
		head = fmt.Sprintf("⏰ *Broadcast scheduled* for <!date^%d^{date_short_pretty} {time}|%s>", p.At.Unix(), p.At.UTC().Format(time.RFC1123))
	case broadcast.StatusRunning:
		head = "📣 *Broadcast sending*"
	case broadcast.StatusPaused:
		head = "⏸️ *Broadcast paused*"
	case broadcast.StatusCancelled:
		head = "🛑 *Broadcast cancelled* — nothing more will be sent"
	case broadcast.StatusDone:
		head = "✅ *Broadcast finished*"
	}
	line := fmt.Sprintf("`%s` %3.0f%% · %d/%d\nsent %d · blocked %d · failed %d · skipped %d",
		bar, pct*100, p.Done, c.Total, c.Sent, c.Blocked, c.Failed, c.Skipped)
	if p.Status == broadcast.StatusRunning {
		line += fmt.Sprintf(" · %.1f msg/s · ETA %s", p.Rate, p.ETA.Round(time.Second))
	}
	if p.Final() && !p.Started.IsZero() && !p.Finished.IsZero() {
		line += fmt.Sprintf("\nTook %s. By %s.", p.Finished.Sub(p.Started).Round(time.Second), sender(p.CreatedBy))
	}
	text := head + "\n" + line
	blocks := append(announcementBlocks(p.Job, names), slackapi.NewSectionBlock(mrkdwn(text), nil, nil, slackapi.SectionBlockOptionBlockID(blockTag+"bc_head")))
	var buttons []slackapi.BlockElement
	switch p.Status {
	case broadcast.StatusRunning, broadcast.StatusScheduled:
		buttons = append(buttons, slackapi.NewButtonBlockElement(actionPause, p.ID, plainText("⏸️ Pause")))
	case broadcast.StatusPaused:
		buttons = append(buttons, slackapi.NewButtonBlockElement(actionResume, p.ID, plainText("▶️ Resume")))
	}
	if !p.Final() {
		cancel := slackapi.NewButtonBlockElement(actionCancelJob, p.ID, plainText("🛑 Cancel"))
		cancel.Style = slackapi.StyleDanger
		cancel.Confirm = slackapi.NewConfirmationBlockObject(plainText("Cancel the broadcast?"), plainText("Members who have not received it yet will not get it."), plainText("Cancel it"), plainText("Keep sending"))
		buttons = append(buttons, cancel)
		blocks = append(blocks, slackapi.NewActionBlock(blockTag+"bc_actions", buttons...))
	}
	return text, blocks
}

// announcementBlocks show what a broadcast sends, above its progress, so
// the channel still reads what went out once the preview has turned into
// the progress bar.
func announcementBlocks(j broadcast.Job, names broadcast.Choices) []slackapi.Block {
	var blocks []slackapi.Block
	for _, lang := range locales.Languages {
		html, ok := j.Texts[lang]
		if !ok {
			continue
		}
		blocks = append(blocks, slackapi.NewSectionBlock(mrkdwn(fmt.Sprintf("*%s version*\n%s", names.LangName(lang), quote(slackEscape(tghtml.PlainLinks(html))))),
			nil, nil, slackapi.SectionBlockOptionBlockID(blockTag+"bc_"+lang)))
	}
	return blocks
}

// sender names who created a broadcast: a Slack user as a mention, anyone
// else (the command line) as recorded.
func sender(createdBy string) string {
	if id, ok := strings.CutPrefix(createdBy, "slack:"); ok && id != "" {
		return "<@" + id + ">"
	}
	return slackEscape(createdBy)
}
