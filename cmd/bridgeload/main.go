// Command bridgeload puts the bot under load and prints what it measured.
//
// Three modes:
//
//	go run ./cmd/bridgeload -members 1000              # sign-up load (the default mode)
//	go run ./cmd/bridgeload -mode broadcast -n 10000   # broadcast delivery
//	go run ./cmd/bridgeload -mode floor -members 1000  # the least an update's exchanges cost here
//
// The sign-up mode (signup.go) starts the real bot — `bridgebot run`, as
// child processes — against the in-repo fake Telegram and real Redis
// (REDIS_URL), and drives simulated members through the sign-up form. The
// broadcast mode (broadcast.go) runs the broadcast worker against a fake
// Telegram that enforces the flood limits. The floor mode (floor.go) puts a
// null bot (nullbot.go) that only makes each update's network exchanges in
// the bot's place, so the bot's CPU per update can be read against it.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	mode, args := splitMode(os.Args[1:])
	if os.Getenv(childEnv) == "1" {
		if err := serveFake(args, os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "bridgeload fake:", err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if os.Getenv(floorChildEnv) == "1" {
		if err := runNullBot(ctx, os.Getenv); err != nil {
			fmt.Fprintln(os.Stderr, "bridgeload null bot:", err)
			os.Exit(1)
		}
		return
	}
	var err error
	switch mode {
	case "signup":
		_, err = runSignup(ctx, args, os.Getenv, os.Stdout, os.Stderr)
	case "broadcast":
		_, err = runBroadcast(ctx, args, os.Getenv, os.Stdout)
	case "floor":
		var r FloorResult
		if r, err = runFloor(ctx, args, os.Getenv, os.Stdout); err == nil {
			reportFloor(os.Stdout, r)
		}
	default:
		err = fmt.Errorf("-mode %q: want signup, broadcast or floor", mode)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bridgeload:", err)
		os.Exit(1)
	}
}

// splitMode takes -mode out of the arguments (default "signup"); each
// mode parses the rest with its own flags.
func splitMode(args []string) (string, []string) {
	mode := "signup"
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || name != "mode" {
			rest = append(rest, a)
			continue
		}
		if !hasVal && i+1 < len(args) {
			i++
			val = args[i]
		}
		mode = val
	}
	return mode, rest
}
