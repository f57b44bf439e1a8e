package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os/user"
	"time"

	"bridgebot/bot/audit"
)

// cliActor names whoever runs a command, for the audit log.
func cliActor() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return "cli:" + u.Username
	}
	return "cli:unknown"
}

// runAudit prints the newest entries of the audit log, oldest first.
func runAudit(ctx context.Context, c config, args []string, s streams) error {
	stdout, stderr := s.out, s.err
	fset := flag.NewFlagSet("audit", flag.ContinueOnError)
	fset.SetOutput(stderr)
	limit := fset.Int64("limit", 100, "how many of the newest entries to print")
	if err := fset.Parse(args); err != nil || *limit < 1 {
		return errUsage
	}
	if c.RedisURL == "" {
		return errors.New("audit needs REDIS_URL: the Redis of the running bot")
	}
	client, err := connectRedis(ctx, c, c.logger(stderr))
	if err != nil {
		return err
	}
	defer client.Close()
	entries, err := audit.New(client.Client, c.RedisPrefix).Last(ctx, *limit)
	if err != nil {
		return err
	}
	for _, e := range entries {
		fmt.Fprintf(stdout, "%s  %-9s  %-20s  %6d  %s\n", e.At.UTC().Format(time.RFC3339), e.Action, e.Actor, e.Count, e.Detail)
	}
	if len(entries) == 0 {
		fmt.Fprintln(stdout, "the audit log is empty")
	}
	return nil
}
