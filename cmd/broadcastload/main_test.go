package main

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"
)

// TestMain lets the test binary play the child process, as the program
// does.
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		if err := serveFake(os.Args[1:], os.Stdin, os.Stdout); err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// A small paid run: the program works end to end (figures are measured
// by running it, not here: -race and CI machines distort rates).
func TestSmallPaidRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out bytes.Buffer
	res, err := run(ctx, []string{"-n", "400", "-paid", "-blocked", "8"}, os.Getenv, &out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	t.Log("\n" + out.String())
	if res.Missing != 0 || res.Duplicates != 0 || res.RateLimited != 0 || res.Accepted != 392 {
		t.Errorf("result %+v", res)
	}
	if res.Counts.Sent != 392 || res.Counts.Blocked != 8 || res.Achieved <= 0 || res.PeakHeap == 0 {
		t.Errorf("counts %+v, achieved %.1f, heap %d", res.Counts, res.Achieved, res.PeakHeap)
	}
}
