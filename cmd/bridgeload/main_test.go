package main

import (
	"context"
	"os"
	"testing"

	"bridgebot/bot/redisstore"
)

// TestMain lets the test binary play the child process, as the program
// does.
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		_, args := splitMode(os.Args[1:])
		if err := serveFake(args, os.Stdin, os.Stdout); err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	if os.Getenv(floorChildEnv) == "1" {
		if err := runNullBot(context.Background(), os.Getenv); err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// envWithRedis is the environment with REDIS_URL set: the real Redis CI
// gives, else an embedded one for this test.
func envWithRedis(t *testing.T) func(string) string {
	redisURL := os.Getenv("REDIS_URL")
	if redisURL == "" {
		addr, stop, err := redisstore.StartEmbedded()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(stop)
		redisURL = "redis://" + addr
	}
	return func(k string) string {
		if k == "REDIS_URL" {
			return redisURL
		}
		return os.Getenv(k)
	}
}
