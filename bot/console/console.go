// Package console is a transport that runs the whole bot in a terminal:
// the reader types as a member, sees the bot's messages with numbered
// buttons, and presses a button by typing its number. It drives the same
// Engine, flows, locales and store as Telegram, so what a newcomer sees here
// is what members see.
package console

import (
	"bufio"
	"context"
	"fmt"
	"html"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"bridgebot/bot"
)

// ChatID is the console member's chat.
const ChatID int64 = 1

// Console prints responses and turns typed lines into updates.
type Console struct {
	out  io.Writer
	user bot.User

	mu      sync.Mutex
	nextMsg int
	buttons []pressable // the buttons of the latest message, numbered from 1
}

type pressable struct {
	button bot.Button
	msgID  int
}

var (
	_ bot.Sender      = (*Console)(nil)
	_ bot.Wiper       = (*Console)(nil)
	_ bot.WipeReplier = (*Console)(nil)
)

// New returns a console speaking to out as a member with that language.
func New(out io.Writer, lang string) *Console {
	return &Console{out: out, user: bot.User{ID: ChatID, FirstName: "Console", LanguageCode: lang}}
}

// Send prints a response (bot.Sender).
func (c *Console) Send(_ context.Context, r bot.Response) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r.Notice != "" {
		fmt.Fprintf(c.out, "  (%s)\n", r.Notice)
	}
	for _, m := range r.Messages {
		id := m.Edit
		if id == 0 {
			c.nextMsg++
			id = c.nextMsg
		} else {
			fmt.Fprintln(c.out, "  (message updated)")
		}
		fmt.Fprintf(c.out, "\nbot> %s\n", indent(render(m.Text)))
		if len(m.Buttons) > 0 {
			c.buttons = c.buttons[:0]
		}
		for _, row := range m.Buttons {
			var cells []string
			for _, b := range row {
				c.buttons = append(c.buttons, pressable{button: b, msgID: id})
				label := b.Text
				if b.URL != "" {
					label += " → " + b.URL
				}
				cells = append(cells, fmt.Sprintf("[%d] %s", len(c.buttons), label))
			}
			fmt.Fprintf(c.out, "     %s\n", strings.Join(cells, "   "))
		}
	}
	return nil
}

// Wipe is /wipe in the terminal (bot.Wiper): lines already printed
// cannot be taken back, so it does what is left — the buttons of earlier
// messages stop working, as they would once Telegram deleted those
// messages — and its reply (WipeReply) tells the member so and how to
// clear the terminal.
func (c *Console) Wipe(context.Context, int64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.buttons = nil
	return nil
}

// WipeReply is the message /wipe answers with here (bot.WipeReplier).
func (*Console) WipeReply() string { return "wipe.console" }

// Run reads lines from in until EOF or ctx ends and hands each to h as an
// update, one at a time, in order.
func (c *Console) Run(ctx context.Context, in io.Reader, h bot.Handler) error {
	fmt.Fprintln(c.out, "bridgebot console — you are a member chatting with the bot.")
	fmt.Fprintln(c.out, "Type a message, a button's number to press it, /lang es|en to switch language, /quit to leave.")
	lines := make(chan string)
	errc := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(in)
		sc.Buffer(make([]byte, 64*1024), 1<<20)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
		errc <- sc.Err()
		close(lines)
	}()
	if err := c.handle(ctx, h, c.update("/start")); err != nil {
		return err
	}
	for {
		c.prompt()
		select {
		case <-ctx.Done():
			return nil
		case line, ok := <-lines:
			if !ok {
				return <-errc
			}
			u, quit := c.parse(line)
			if quit {
				return nil
			}
			if err := c.handle(ctx, h, u); err != nil {
				return err
			}
		}
	}
}

func (c *Console) prompt() { fmt.Fprint(c.out, "\nyou> ") }

func (c *Console) handle(ctx context.Context, h bot.Handler, u bot.Update) error {
	if err := h.Handle(ctx, u); err != nil {
		// The member has already been told; show the operator why.
		fmt.Fprintf(c.out, "  (error: %v)\n", err)
	}
	return nil
}

func (c *Console) update(text string) bot.Update {
	u := bot.Update{ChatID: ChatID, ChatType: bot.ChatPrivate, From: c.user, Text: text}
	if strings.HasPrefix(text, "/") {
		head, rest, _ := strings.Cut(text[1:], " ")
		u.Command, u.Args = strings.ToLower(head), strings.TrimSpace(rest)
	}
	return u
}

// parse turns a typed line into an update: a number presses a button,
// "/lang xx" presses the language button, anything else is a message.
func (c *Console) parse(line string) (bot.Update, bool) {
	line = strings.TrimSpace(line)
	switch {
	case line == "/quit" || line == "/exit":
		return bot.Update{}, true
	case strings.HasPrefix(line, "/lang "):
		lang := strings.TrimSpace(strings.TrimPrefix(line, "/lang "))
		return c.press(bot.Button{Data: "l|" + lang}, 0), false
	}
	if n, err := strconv.Atoi(line); err == nil {
		c.mu.Lock()
		var p *pressable
		if n >= 1 && n <= len(c.buttons) {
			p = &c.buttons[n-1]
		}
		c.mu.Unlock()
		if p != nil && p.button.URL == "" {
			return c.press(p.button, p.msgID), false
		}
	}
	return c.update(line), false
}

func (c *Console) press(b bot.Button, msgID int) bot.Update {
	u := c.update("")
	u.Callback = &bot.Callback{ID: "console", Data: b.Data, MessageID: msgID}
	return u
}

var tagRE = regexp.MustCompile(`<[^>]*>`)

// render shows Telegram HTML as plain terminal text.
func render(s string) string { return html.UnescapeString(tagRE.ReplaceAllString(s, "")) }

func indent(s string) string { return strings.ReplaceAll(s, "\n", "\n     ") }
