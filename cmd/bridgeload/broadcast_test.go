package main

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"
)

// A small paid run: the program works end to end (figures are measured
// by running it, not here: -race and CI machines distort rates).
func TestSmallPaidRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out bytes.Buffer
	res, err := runBroadcast(ctx, []string{"-n", "400", "-paid", "-blocked", "8"}, os.Getenv, &out)
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

// A small sign-up run against two bot processes behind the balancer: the
// program works end to end, every member's sign-up is saved once, and no
// update is handled twice (figures are measured by running the program).
func TestSmallSignupRunTwoReplicas(t *testing.T) {
	getenv := envWithRedis(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out, logs bytes.Buffer
	res, err := runSignup(ctx, []string{"-members", "20", "-replicas", "2", "-think", "20ms", "-ramp", "100ms"}, getenv, &out, &logs)
	if err != nil {
		t.Fatalf("%v\n%s\n%s", err, out.String(), logs.String())
	}
	t.Log("\n" + out.String())
	steps := len(scripts["en"])
	if res.Errors != 0 || res.Duplicates != 0 || res.Completed != 20 || res.Saved != 20 || res.Actions != 20*steps {
		t.Errorf("result %+v", res)
	}
	if res.Updates != int64(20*steps) || res.CPU <= 0 || res.PeakRSS == 0 || res.RoundTrips <= 0 {
		t.Errorf("measured updates %d, CPU %v, RSS %d, round trips %.0f", res.Updates, res.CPU, res.PeakRSS, res.RoundTrips)
	}
}
