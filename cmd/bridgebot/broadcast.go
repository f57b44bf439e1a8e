package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/user"
	"strings"
	"text/tabwriter"
	"time"

	"bridgebot/bot/broadcast"
	"bridgebot/locales"
)

const broadcastUsage = `Usage:
  bridgebot broadcast send --en FILE --es FILE [options]
                       preview an announcement, ask, queue it for the running bot, show progress
      --audience EXPR  all (default), or filters: lang=en,es area=migration,labor
                       role=organizer,popular-educator,community-leader,other border=yes|no
      --at TIME        send later: RFC 3339 or "2026-12-01 18:00" (local time)
      --fallback       members whose language version is missing get the other one
      --button-url URL --button-label-en TEXT --button-label-es TEXT
                       a link button under the message
      --paid           paid broadcast, up to 1000 messages/s (costs Stars; the bot needs BROADCAST_PAID=true)
      --yes            do not ask before sending
      --no-follow      do not show progress
  bridgebot broadcast list [--limit N]
  bridgebot broadcast status ID [--follow]
  bridgebot broadcast pause|resume|cancel ID

Texts are Telegram HTML (<b>, <i>, <u>, <s>, <a href="https://…">, <code>,
<pre>, <blockquote>, <tg-spoiler>; write &lt; &gt; &amp; for < > &).
Broadcasts are delivered by the running bot (bridgebot run) through REDIS_URL.
`

const noBotRunning = "No bot is running: the broadcast will start when `bridgebot run` starts."

// runBroadcast is `bridgebot broadcast ...`.
func runBroadcast(ctx context.Context, c config, args []string, s streams) error {
	stdin, stdout, stderr := s.in, s.out, s.err
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stderr, broadcastUsage)
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	switch args[0] {
	case "send", "list", "status", "pause", "resume", "cancel":
	default:
		fmt.Fprintf(stderr, "unknown broadcast command %q\n\n%s", args[0], broadcastUsage)
		return errUsage
	}
	if !c.redisConfigured() {
		return errors.New("broadcast needs REDIS_URL (or REDIS_SENTINEL_ADDRS): broadcasts are queued in the Redis of the running bot (`bridgebot run`), " +
			"and an embedded Redis would vanish with this command")
	}
	ct, log, client, err := openCommand(ctx, c, stderr)
	if err != nil {
		return err
	}
	defer client.Close()
	if client.Down != nil {
		return fmt.Errorf("cannot reach Redis at %s: %w", client.Options().Addr, client.Down)
	}
	// The running bot's settings (rate, paid broadcasts) come with its
	// heartbeat: they are what delivery will use.
	workers, err := broadcast.NewHeartbeats(client.Client, broadcast.Options{Prefix: c.RedisPrefix}).Workers(ctx)
	if err != nil {
		return err
	}
	opts := broadcast.Options{Prefix: c.RedisPrefix, Footer: footers(ct.locales), Choices: ct.audienceChoices(), Logger: log}
	if args[0] == "send" {
		// Counting the audience opens the subscription records, sealed
		// with the bot's data key; the other commands never read them.
		if opts.Keyring, err = c.Keys.keyring(log, false); err != nil {
			return err
		}
	}
	if len(workers) > 0 {
		opts.Rate, opts.PaidRate, opts.AllowPaid = workers[0].Rate, workers[0].PaidRate, workers[0].AllowPaid
	}
	cli := &broadcastCLI{store: broadcast.New(client.Client, opts), workers: workers, stdin: stdin, stdout: stdout, stderr: stderr}
	switch args[0] {
	case "send":
		return cli.send(ctx, args[1:])
	case "list":
		return cli.list(ctx, args[1:])
	case "status":
		return cli.status(ctx, args[1:])
	default:
		return cli.change(ctx, args[0], args[1:])
	}
}

// broadcastJobs is what the broadcast commands use of a *broadcast.Store:
// the jobs, their progress and the workers' heartbeats.
type broadcastJobs interface {
	broadcast.Control
	Workers(ctx context.Context) ([]broadcast.WorkerInfo, error)
}

type broadcastCLI struct {
	store          broadcastJobs
	workers        []broadcast.WorkerInfo
	stdin          io.Reader
	stdout, stderr io.Writer
}

func (b *broadcastCLI) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("broadcast "+name, flag.ContinueOnError)
	fs.SetOutput(b.stderr)
	fs.Usage = func() { fmt.Fprint(b.stderr, broadcastUsage) }
	return fs
}

func (b *broadcastCLI) send(ctx context.Context, args []string) error {
	fs := b.flags("send")
	enFile := fs.String("en", "", "")
	esFile := fs.String("es", "", "")
	audience := fs.String("audience", "all", "")
	at := fs.String("at", "", "")
	fallback := fs.Bool("fallback", false, "")
	labelEn := fs.String("button-label-en", "", "")
	labelEs := fs.String("button-label-es", "", "")
	buttonURL := fs.String("button-url", "", "")
	paid := fs.Bool("paid", false, "")
	yes := fs.Bool("yes", false, "")
	noFollow := fs.Bool("no-follow", false, "")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(b.stderr, "unexpected argument %q\n\n%s", fs.Arg(0), broadcastUsage)
		return errUsage
	}
	if *enFile == "" && *esFile == "" {
		fmt.Fprintf(b.stderr, "give the text: --en FILE and/or --es FILE\n\n%s", broadcastUsage)
		return errUsage
	}
	job := broadcast.Job{
		CreatedBy: cliUser(), Texts: map[string]string{}, Fallback: *fallback, Paid: *paid,
		ButtonURL: *buttonURL, ButtonLabel: map[string]string{"en": *labelEn, "es": *labelEs},
	}
	for lang, file := range map[string]string{"en": *enFile, "es": *esFile} {
		if file == "" {
			continue
		}
		text, err := os.ReadFile(file)
		if err != nil {
			return fmt.Errorf("--%s: %w", lang, err)
		}
		job.Texts[lang] = strings.TrimSpace(string(text))
	}
	var err error
	if job.Audience, err = broadcast.ParseAudience(*audience, b.store.Choices()); err != nil {
		return fmt.Errorf("--audience: %w", err)
	}
	if *at != "" {
		if job.At, err = parseAt(*at, time.Now()); err != nil {
			return err
		}
	}
	running := len(b.workers) > 0
	if *paid && running && !b.workers[0].AllowPaid {
		return errors.New("--paid: the running bot does not allow paid broadcasts (set BROADCAST_PAID=true for `bridgebot run`)")
	}

	p, err := b.store.Preview(ctx, job)
	var ve *broadcast.ValidationError
	if errors.As(err, &ve) {
		fmt.Fprintln(b.stderr, "The broadcast has problems; nothing was sent:")
		for _, problem := range ve.Problems {
			fmt.Fprintln(b.stderr, "  - "+problem)
		}
		return errors.New("invalid broadcast")
	}
	if err != nil {
		return err
	}
	fmt.Fprint(b.stdout, renderPreview(p))
	fmt.Fprintln(b.stdout)
	later := job.At.After(time.Now())
	if p.Recipients == 0 && !later {
		return errors.New("no member would receive this broadcast: nothing was queued")
	}
	if !running {
		fmt.Fprintln(b.stdout, noBotRunning)
	}
	if !*yes {
		fmt.Fprintf(b.stdout, "Send to %d members? [y/N] ", p.Recipients)
		answer, _ := bufio.NewReader(b.stdin).ReadString('\n')
		switch strings.ToLower(strings.TrimSpace(answer)) {
		case "y", "yes", "s", "si", "sí":
		default:
			fmt.Fprintln(b.stdout, "Not sent.")
			return nil
		}
	}
	j, err := b.store.Create(ctx, job)
	if err != nil {
		return err
	}
	if later {
		fmt.Fprintf(b.stdout, "Broadcast %s is scheduled for %s. See it with `bridgebot broadcast status %s`.\n",
			j.ID, j.At.Local().Format("Mon 2 Jan 2006 15:04 MST"), j.ID)
		return nil
	}
	fmt.Fprintf(b.stdout, "Broadcast %s is queued.\n", j.ID)
	if *noFollow || !running {
		return nil
	}
	return b.follow(ctx, j.ID)
}

// parseAt reads --at: RFC 3339, or a local date and time.
func parseAt(v string, now time.Time) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		for _, layout := range []string{"2006-01-02 15:04", "2006-01-02 15:04:05", "2006-01-02T15:04"} {
			if t, err = time.ParseInLocation(layout, v, time.Local); err == nil {
				break
			}
		}
	}
	if err != nil {
		return time.Time{}, fmt.Errorf(`--at %q: want RFC 3339 (2026-12-01T18:00:00-07:00) or a local "2026-12-01 18:00"`, v)
	}
	if t.Before(now.Add(-time.Minute)) {
		return time.Time{}, fmt.Errorf("--at %q is in the past (leave --at out to send now)", v)
	}
	return t, nil
}

// cliUser names the sender for the audit.
func cliUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return "cli:" + u.Username
	}
	return "cli"
}

func (b *broadcastCLI) list(ctx context.Context, args []string) error {
	fs := b.flags("list")
	limit := fs.Int("limit", 20, "")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	jobs, err := b.store.List(ctx, *limit)
	if err != nil {
		return err
	}
	if len(jobs) == 0 {
		fmt.Fprintln(b.stdout, "No broadcasts yet.")
		return nil
	}
	tw := tabwriter.NewWriter(b.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATUS\tCREATED\tBY\tAUDIENCE\tSENT\tBLOCKED\tFAILED\tSKIPPED\tTOTAL")
	for _, j := range jobs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\n", j.ID, j.Status, j.Created.Local().Format("2006-01-02 15:04"),
			j.CreatedBy, j.Audience, j.Counts.Sent, j.Counts.Blocked, j.Counts.Failed, j.Counts.Skipped, j.Counts.Total)
	}
	return tw.Flush()
}

// jobID reads the one ID argument (flags may come after it).
func (b *broadcastCLI) jobID(fs *flag.FlagSet, args []string) (string, error) {
	var id string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		id, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return "", errUsage
	}
	if id == "" && fs.NArg() == 1 {
		id = fs.Arg(0)
	} else if fs.NArg() > 0 || id == "" {
		fmt.Fprintf(b.stderr, "give one broadcast ID (see `bridgebot broadcast list`)\n\n%s", broadcastUsage)
		return "", errUsage
	}
	return id, nil
}

func notFound(err error, id string) error {
	if broadcast.IsNotFound(err) {
		return fmt.Errorf("there is no broadcast %s (see `bridgebot broadcast list`)", id)
	}
	return err
}

func (b *broadcastCLI) status(ctx context.Context, args []string) error {
	fs := b.flags("status")
	follow := fs.Bool("follow", false, "")
	id, err := b.jobID(fs, args)
	if err != nil {
		return err
	}
	p, err := b.store.Progress(ctx, id)
	if err != nil {
		return notFound(err, id)
	}
	j := p.Job
	w := b.stdout
	fmt.Fprintf(w, "Broadcast %s: %s\n", j.ID, j.Status)
	fmt.Fprintf(w, "  created   %s by %s\n", stamp(j.Created), j.CreatedBy)
	if !j.At.IsZero() {
		fmt.Fprintf(w, "  send at   %s\n", stamp(j.At))
	}
	if !j.Started.IsZero() {
		fmt.Fprintf(w, "  started   %s\n", stamp(j.Started))
	}
	if !j.Finished.IsZero() {
		fmt.Fprintf(w, "  finished  %s\n", stamp(j.Finished))
	}
	aud := j.Audience.String()
	if j.Audience.IsAll() {
		aud = "all subscribers"
	}
	fmt.Fprintf(w, "  audience  %s\n", aud)
	var langs []string
	for _, l := range locales.Languages {
		if j.Texts[l] != "" {
			langs = append(langs, b.store.Choices().LangName(l))
		}
	}
	fallback := ""
	if j.Fallback {
		fallback = " (with fallback)"
	}
	fmt.Fprintf(w, "  texts     %s%s\n", strings.Join(langs, ", "), fallback)
	if j.ButtonURL != "" {
		fmt.Fprintf(w, "  button    %s\n", j.ButtonURL)
	}
	if j.Paid {
		fmt.Fprintln(w, "  paid      yes")
	}
	fmt.Fprintf(w, "  progress  %s\n", progressLine(p))
	if j.Status == broadcast.StatusRunning && len(b.workers) == 0 {
		fmt.Fprintln(w, noBotRunning)
	}
	if *follow && !j.Final() {
		if len(b.workers) == 0 {
			return nil
		}
		return b.follow(ctx, id)
	}
	return nil
}

func stamp(t time.Time) string { return t.Local().Format("2006-01-02 15:04:05 MST") }

func (b *broadcastCLI) change(ctx context.Context, action string, args []string) error {
	id, err := b.jobID(b.flags(action), args)
	if err != nil {
		return err
	}
	switch action {
	case "pause":
		err = b.store.Pause(ctx, id)
	case "resume":
		err = b.store.Resume(ctx, id)
	case "cancel":
		err = b.store.Cancel(ctx, id)
	}
	if err != nil {
		return notFound(err, id)
	}
	j, err := b.store.Get(ctx, id)
	if err != nil {
		return err
	}
	switch action {
	case "pause":
		fmt.Fprintf(b.stdout, "Broadcast %s is paused (%d of %d done). Continue with `bridgebot broadcast resume %s`.\n", id, j.Counts.Done(), j.Counts.Total, id)
	case "resume":
		fmt.Fprintf(b.stdout, "Broadcast %s is %s again.\n", id, j.Status)
		if len(b.workers) == 0 {
			fmt.Fprintln(b.stdout, noBotRunning)
		}
	case "cancel":
		fmt.Fprintf(b.stdout, "Broadcast %s is cancelled: nothing more will be sent (%d of %d were sent).\n", id, j.Counts.Sent, j.Counts.Total)
	}
	return nil
}

// followEvery is how often follow redraws.
const followEvery = 500 * time.Millisecond

// follow shows a job's progress until it is done or cancelled, or until
// ctx ends (Ctrl-C), which stops following and leaves the job running.
func (b *broadcastCLI) follow(ctx context.Context, id string) error {
	tty := isTerminal(b.stdout)
	tick := time.NewTicker(followEvery)
	defer tick.Stop()
	var lastLine string
	var lastPrint time.Time
	drawn := false
	for n := 0; ; n++ {
		p, err := b.store.Progress(ctx, id)
		if err != nil {
			if ctx.Err() != nil {
				return b.stopFollowing(id, drawn && tty)
			}
			return notFound(err, id)
		}
		line := progressLine(p)
		switch {
		case tty:
			fmt.Fprintf(b.stdout, "\r%s\x1b[K", line)
			drawn = true
		case line != lastLine && (time.Since(lastPrint) >= 2*time.Second || p.Final()):
			fmt.Fprintln(b.stdout, line)
			lastLine, lastPrint = line, time.Now()
		}
		if p.Final() {
			if tty {
				fmt.Fprintln(b.stdout)
			}
			fmt.Fprintf(b.stdout, "Broadcast %s is %s: %d sent, %d blocked (unsubscribed), %d failed, %d skipped.\n",
				id, p.Status, p.Counts.Sent, p.Counts.Blocked, p.Counts.Failed, p.Counts.Skipped)
			return nil
		}
		if n%20 == 19 { // every ~10 s: is a bot still delivering?
			if ws, err := b.store.Workers(ctx); err == nil && len(ws) == 0 {
				if tty {
					fmt.Fprintln(b.stdout)
				}
				fmt.Fprintln(b.stdout, "No bot is running: the broadcast will continue when `bridgebot run` starts.")
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return b.stopFollowing(id, drawn && tty)
		case <-tick.C:
		}
	}
}

func (b *broadcastCLI) stopFollowing(id string, newline bool) error {
	if newline {
		fmt.Fprintln(b.stdout)
	}
	fmt.Fprintf(b.stdout, "Stopped following. Broadcast %s goes on in the bot: see `bridgebot broadcast status %s`.\n", id, id)
	return nil
}

// progressLine is a one-line progress bar.
func progressLine(p broadcast.Progress) string {
	const width = 24
	total := max(p.Counts.Total, p.Done)
	frac := 1.0
	if total > 0 {
		frac = float64(p.Done) / float64(total)
	}
	filled := int(frac * width)
	bar := strings.Repeat("#", filled) + strings.Repeat(".", width-filled)
	s := fmt.Sprintf("[%s] %3.0f%% %d/%d  sent %d  blocked %d  failed %d", bar, frac*100, p.Done, total,
		p.Counts.Sent, p.Counts.Blocked, p.Counts.Failed)
	if p.Counts.Skipped > 0 {
		s += fmt.Sprintf("  skipped %d", p.Counts.Skipped)
	}
	switch p.Status {
	case broadcast.StatusRunning:
		s += fmt.Sprintf("  %.1f msg/s", p.Rate)
		if p.ETA > 0 {
			s += "  ETA " + formatDuration(p.ETA)
		}
	default:
		s += "  " + p.Status
	}
	return s
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
