package slack

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	slackapi "github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"bridgebot/bot"
)

// eventTTL is how long an event ID is remembered; Slack retries within
// minutes.
const eventTTL = 24 * time.Hour

// HandleEvent acts on one Events API event, from HTTP or Socket Mode
// alike. It only reads and writes Redis (the slow work is queued), so the
// caller can acknowledge Slack within its 3 seconds. An event delivered
// again (same event_id) is acted on once: what it queues is stored
// together with the event's mark, atomically (outbox.EnqueueOnce), so a
// failure between the two cannot leave a marked event with nothing
// queued. Its other effects (a reaction, a status) are idempotent and
// mark the event after they are done. An error means "ask Slack to
// retry": nothing was queued.
func (d *Desk) HandleEvent(ctx context.Context, ev slackevents.EventsAPIEvent) error {
	if ev.Type != slackevents.CallbackEvent {
		return nil
	}
	var once string
	if cb, ok := ev.Data.(*slackevents.EventsAPICallbackEvent); ok && cb.EventID != "" {
		once = d.key("event", cb.EventID)
		n, err := d.rdb.Exists(ctx, once).Result()
		if err != nil {
			return fmt.Errorf("slack: check event: %w", err)
		}
		if n > 0 {
			return nil
		}
	}
	var err error
	switch in := ev.InnerEvent.Data.(type) {
	case *slackevents.MessageEvent:
		err = d.onMessage(ctx, in, once)
	case *slackevents.ReactionAddedEvent:
		err = d.onReaction(ctx, in, once)
	}
	if err != nil || once == "" {
		return err
	}
	// Already set when the event queued something; otherwise it only spares
	// a redelivery the work of finding out again that nothing is to be done.
	if err := d.rdb.SetNX(ctx, once, "1", eventTTL).Err(); err != nil {
		d.log.Debug("could not mark event handled", slog.Any("err", err))
	}
	return nil
}

// fromBot reports whether a message was posted by this bot or any other
// app: those are never relayed (no loops).
func (d *Desk) fromBot(user, botID, subtype string) bool {
	return botID != "" || subtype == "bot_message" || (user != "" && user == d.botUserID)
}

// isNote tells internal notes, which stay in Slack.
func isNote(text string) bool {
	t := strings.ToLower(strings.TrimSpace(text))
	return strings.HasPrefix(t, "//") || strings.HasPrefix(t, "note:")
}

func (d *Desk) onMessage(ctx context.Context, ev *slackevents.MessageEvent, once string) error {
	msg := ev.Message
	if msg == nil {
		return nil
	}
	switch ev.SubType {
	case "", "file_share", "thread_broadcast":
		if d.fromBot(msg.User, msg.BotID, msg.SubType) || msg.ThreadTimestamp == "" || msg.ThreadTimestamp == msg.Timestamp {
			return nil
		}
		chat, ours, err := d.threadChat(ctx, ev.Channel, msg.ThreadTimestamp)
		if err != nil {
			return err
		}
		if !ours {
			if isNote(msg.Text) {
				return nil
			}
			return d.onStrayReply(ctx, ev.Channel, ev, once) // see stray.go
		}
		if isNote(msg.Text) {
			d.react(ctx, ev.Channel, msg.Timestamp, reactionNote)
			return nil
		}
		r := staffReply{Chat: chat, Channel: ev.Channel, TS: msg.Timestamp, ThreadTS: msg.ThreadTimestamp, User: msg.User, Text: msg.Text}
		for _, f := range msg.Files {
			url := f.URLPrivateDownload
			if url == "" {
				url = f.URLPrivate
			}
			r.Files = append(r.Files, staffFile{ID: f.ID, Name: f.Name, MIME: f.Mimetype, URL: url})
		}
		if strings.TrimSpace(r.Text) == "" && len(r.Files) == 0 {
			return nil
		}
		return d.enqueueOnce(ctx, d.toMember, once, chat, kindReply, r)
	case "message_changed":
		prev := ev.PreviousMessage
		if d.fromBot(msg.User, msg.BotID, msg.SubType) || prev == nil || prev.Text == msg.Text || msg.ThreadTimestamp == "" {
			return nil // unfurls and other non-text changes fire this too
		}
		chat, ours, err := d.threadChat(ctx, ev.Channel, msg.ThreadTimestamp)
		if err != nil || !ours || isNote(msg.Text) {
			return err
		}
		return d.enqueueOnce(ctx, d.toMember, once, chat, kindEdit, staffReply{Chat: chat, Channel: ev.Channel, TS: msg.Timestamp, ThreadTS: msg.ThreadTimestamp, User: msg.User, Text: msg.Text})
	}
	return nil
}

// onReaction: a ✅ on a thread root marks the question answered.
func (d *Desk) onReaction(ctx context.Context, ev *slackevents.ReactionAddedEvent, once string) error {
	if ev.User == d.botUserID || !strings.HasPrefix(ev.Reaction, "white_check_mark") && ev.Reaction != "heavy_check_mark" {
		return nil
	}
	chat, ours, err := d.threadChat(ctx, ev.Item.Channel, ev.Item.Timestamp)
	if err != nil || !ours {
		return err
	}
	return d.setStatus(ctx, chat, ev.Item.Timestamp, statusAnswered, ev.User, once)
}

// setStatus marks a question answered or open again and redraws its root.
// Only the member's current question has a status: a button or ✅ on an
// older thread's root changes nothing. once, if not "", is the event's
// idempotency key (see HandleEvent).
func (d *Desk) setStatus(ctx context.Context, chat int64, rootTS, status, user, once string) error {
	t, err := d.loadTicket(ctx, chat)
	if err != nil || !t.exists || t.Status == status || (rootTS != "" && rootTS != t.TS) {
		return err
	}
	id := strconv.FormatInt(chat, 10)
	keys, err := d.rdb.SMembers(ctx, d.key("keys", id)).Result()
	if err != nil {
		return fmt.Errorf("slack: set status: %w", err)
	}
	// Not if the member erased their data since the ticket was read: the
	// write would bring the ticket back.
	_, gone, err := d.guard(ctx, chat, t.Last, func(pipe redis.Pipeliner) {
		if status == statusAnswered {
			pipe.HSet(ctx, d.ticketKey(chat), "status", status, "answered_by", user, "answered_at", d.now().Unix())
			pipe.SRem(ctx, d.key("open"), id)
			pipe.SAdd(ctx, d.key("answered"), id)
			d.expireAnswered(ctx, pipe, chat, keys)
		} else {
			for _, k := range append(keys, d.ticketKey(chat), d.key("keys", id)) {
				if !d.expiresAnyway(k) {
					pipe.Persist(ctx, k)
				}
			}
			pipe.HSet(ctx, d.ticketKey(chat), "status", status, "answered_by", "", "answered_at", 0)
			pipe.SAdd(ctx, d.key("open"), id)
			pipe.SRem(ctx, d.key("answered"), id)
		}
	})
	if err != nil || gone {
		return err
	}
	if status == statusAnswered && d.cfg.Observer != nil {
		d.cfg.Observer.QuestionAnswered(t.Lang)
	}
	return d.enqueueOnce(ctx, d.toSlack, once, chat, kindRootUpdate, rootUpdate{Chat: chat})
}

// HandleInteraction acts on a button press (Mark answered / Reopen) or
// hands other interactions to the registered extensions.
func (d *Desk) HandleInteraction(ctx context.Context, cb slackapi.InteractionCallback) error {
	if cb.Type == slackapi.InteractionTypeBlockActions {
		for _, a := range cb.ActionCallback.BlockActions {
			chat, err := strconv.ParseInt(a.Value, 10, 64)
			if err != nil {
				continue
			}
			root := cb.Container.MessageTs
			if root == "" {
				root = cb.Message.Timestamp
			}
			switch a.ActionID {
			case actionAnswered:
				return d.setStatus(ctx, chat, root, statusAnswered, cb.User.ID, "")
			case actionReopen:
				return d.setStatus(ctx, chat, root, statusOpen, cb.User.ID, "")
			}
		}
	}
	for _, x := range d.extensions {
		if handled, err := x.HandleInteraction(ctx, cb); handled || err != nil {
			return err
		}
	}
	return nil
}

// Extension adds slash subcommands and interactions to the desk (the
// broadcast composer does).
type Extension interface {
	// Command handles "/bridge <name> …"; it returns the ephemeral reply.
	Command(ctx context.Context, name string, cmd slackapi.SlashCommand) (reply string, handled bool, err error)
	// HandleInteraction handles its own buttons and modals.
	HandleInteraction(ctx context.Context, cb slackapi.InteractionCallback) (handled bool, err error)
}

// Extend registers an extension. Call before serving.
func (d *Desk) Extend(x Extension) { d.extensions = append(d.extensions, x) }

// HandleCommand answers /bridge, ephemerally and only in the configured
// channels.
func (d *Desk) HandleCommand(ctx context.Context, cmd slackapi.SlashCommand) string {
	if !slices.Contains(d.cfg.Channels.Commands, cmd.ChannelID) {
		return "Sorry, /bridge works only in the BRIDGE staff channels."
	}
	name, _, _ := strings.Cut(strings.TrimSpace(cmd.Text), " ")
	switch strings.ToLower(name) {
	case "", "help":
		return helpText
	case "stats":
		s, err := d.stats(ctx)
		if err != nil {
			d.log.Error("stats failed", slog.Any("err", err))
			return "Sorry, the stats are not available right now (the database is not answering). Try again in a minute."
		}
		if d.funnelFlow() != nil {
			// Reading the counts and drawing take longer than Slack's 3 s.
			go d.postFunnel(context.WithoutCancel(ctx), cmd.ChannelID, cmd.UserID)
			s += "\n_The sign-up funnel chart is on its way to this channel._"
		}
		return s
	}
	for _, x := range d.extensions {
		reply, handled, err := x.Command(ctx, strings.ToLower(name), cmd)
		if err != nil {
			d.log.Error("command failed", slog.String("command", name), slog.Any("err", err))
			return "Sorry, that did not work: " + err.Error()
		}
		if handled {
			return reply
		}
	}
	return fmt.Sprintf("Unknown command %q.\n\n%s", name, helpText)
}

var helpText = strings.Join([]string{
	"*/bridge* — the BRIDGE Institutes bot",
	"• `/bridge stats` — sign-ups by language, role and issue area; open and answered questions; the sign-up funnel chart and the FAQ's most asked topics, posted to the channel",
	"• `/bridge broadcast` — send an announcement to subscribed members (organizers only)",
	"• `/bridge export` — the sign-ups as a CSV file in a direct message to you (organizers only)",
	"• `/bridge help` — this help",
	"Members' questions arrive as threads in this channel: reply in the thread and the member gets it on Telegram. Start a reply with `//` or `note:` to keep it internal. ✅ on the question, or *Mark answered*, closes it.",
}, "\n")

// stats counts sign-ups and questions.
func (d *Desk) stats(ctx context.Context) (string, error) {
	if err := d.pruneStats(ctx); err != nil {
		return "", err
	}
	byLang, byRole, byArea := map[string]int{}, map[string]int{}, map[string]int{}
	total := 0
	if d.cfg.Signups != nil {
		err := d.cfg.Signups.Signups(ctx, func(s *bot.Signup) error {
			total++
			byLang[d.langName(s.Lang)]++
			for _, r := range s.Answers["role"] {
				byRole[d.answerLabel("role", r)]++
			}
			for _, a := range s.Answers["areas"] {
				byArea[d.answerLabel("areas", a)]++
			}
			return nil
		})
		if err != nil {
			return "", err
		}
	}
	open, err := d.rdb.SCard(ctx, d.key("open")).Result()
	if err != nil {
		return "", err
	}
	answered, err := d.rdb.SCard(ctx, d.key("answered")).Result()
	if err != nil {
		return "", err
	}
	lines := []string{
		fmt.Sprintf("*Sign-ups:* %d", total),
		"*By language:* " + counts(byLang),
		"*By role:* " + counts(byRole),
		"*By issue area:* " + counts(byArea),
		fmt.Sprintf("*Questions:* %d open · %d answered", open, answered),
	}
	return strings.Join(lines, "\n"), nil
}

func counts(m map[string]int) string {
	if len(m) == 0 {
		return "—"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, " · ")
}
