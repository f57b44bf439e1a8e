// Command bridgebot is the BRIDGE Institutes outreach and sign-up bot.
//
// This is the only package that reads the environment and wires things
// together; run is small and takes its world as arguments so end-to-end
// tests can call it like a shell would.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/redis/go-redis/v9"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// go-redis prints reconnect attempts through a process-wide logger;
	// they belong in the configured log at debug level (LOG_LEVEL=debug
	// shows them), not on stderr of every command. Set once here, not in
	// run, which tests call concurrently; a bad configuration is run's to
	// report.
	if cfg, err := loadConfig(os.Getenv); err == nil {
		redis.SetLogger(redisLogger{cfg.logger(os.Stderr)})
	}
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		var ps problemsError
		var printed printedError
		if !errors.As(err, &ps) && !errors.As(err, &printed) {
			fmt.Fprintln(os.Stderr, "bridgebot:", err)
		}
		os.Exit(exitCode(err))
	}
}

const usage = `bridgebot — the BRIDGE Institutes outreach and sign-up bot

Usage:
  bridgebot console                  the whole bot in this terminal (embedded Redis, no accounts)
  bridgebot run [-cpuprofile FILE]   the bot on Telegram (needs TELEGRAM_BOT_TOKEN)
  bridgebot check                    validate the configuration, flows and locales, print every
                                     problem, and which features are enabled
  bridgebot export signups --format csv|json
                                     every sign-up to stdout
  bridgebot faq match --lang es|en "question"
                                     how the FAQ understands a question (JSON)
  bridgebot faq list [--lang es|en]  the frequent questions
  bridgebot broadcast send|list|status|pause|resume|cancel
                                     announcements to subscribed members (see broadcast help)
  bridgebot keygen                   print a new data key (for BRIDGE_DATA_KEY)
  bridgebot rekey                    re-encrypt members' data under the current data key
  bridgebot audit [--limit N]        who exported, broadcast, erased or rekeyed, when, how many
  bridgebot stats                    how far members got in the sign-up form, per step and
                                     language, and what they asked the FAQ (text bars)
  bridgebot help                     this text

Configuration is read from the environment; see README.md.
`

// run is the whole program: args without the program name, getenv for
// configuration, and the three standard streams.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	cfg, err := loadConfig(getenv)
	if args[0] == "check" {
		return runCheck(cfg, err, stdout)
	}
	if err != nil {
		return err
	}
	switch args[0] {
	case "run":
		return runWithProfile(args[1:], stderr, func() error { return runBot(ctx, cfg, stderr) })
	case "console":
		return runConsole(ctx, cfg, args[1:], stdin, stdout, stderr)
	case "export":
		return runExport(ctx, cfg, args[1:], stdout, stderr)
	case "faq":
		return runFAQ(cfg, args[1:], stdout, stderr)
	case "broadcast":
		return runBroadcast(ctx, cfg, args[1:], stdin, stdout, stderr)
	case "keygen":
		return runKeygen(stdout)
	case "rekey":
		return runRekey(ctx, cfg, stdout, stderr)
	case "audit":
		return runAudit(ctx, cfg, args[1:], stdout, stderr)
	case "stats":
		return runStats(ctx, cfg, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprintf(stderr, "unknown command %q\n\n%s", args[0], usage)
		return errUsage
	}
}

var errUsage = errors.New("usage")

// redisLogger sends go-redis's internal messages (reconnect attempts) to
// slog at debug level instead of printing them.
type redisLogger struct{ log *slog.Logger }

func (l redisLogger) Printf(_ context.Context, format string, v ...any) {
	l.log.Debug("redis: " + fmt.Sprintf(format, v...))
}

func exitCode(err error) int {
	if errors.Is(err, errUsage) {
		return 2
	}
	return 1
}

// runWithProfile runs the bot, writing a CPU profile of the whole run
// when asked (-cpuprofile FILE; the load program uses it).
func runWithProfile(args []string, stderr io.Writer, runBot func() error) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	profile := fs.String("cpuprofile", "", "write a CPU profile of this run to `file`")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if *profile == "" {
		return runBot()
	}
	f, err := os.Create(*profile)
	if err != nil {
		return fmt.Errorf("cpuprofile: %w", err)
	}
	defer f.Close()
	if err := pprof.StartCPUProfile(f); err != nil {
		return fmt.Errorf("cpuprofile: %w", err)
	}
	defer pprof.StopCPUProfile()
	return runBot()
}
