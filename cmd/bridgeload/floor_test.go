package main

import (
	"bytes"
	"context"
	"testing"
	"time"
)

// A small floor run: the null bot handles every member action once, with
// one Redis script call each and the Bot API calls the real bot makes for
// it (figures are measured by running the program, not here).
func TestSmallFloorRun(t *testing.T) {
	getenv := envWithRedis(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := runFloor(ctx, []string{"-members", "4", "-think", "10ms", "-ramp", "0"}, getenv, new(bytes.Buffer))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	reportFloor(&out, res)
	t.Log("\n" + out.String())
	actions := int64(4 * len(scripts["en"]))
	if res.Updates != actions || res.RoundTrips != actions || len(res.Latency) != int(actions) {
		t.Errorf("updates %d, round trips %d, replies %d; want %d each", res.Updates, res.RoundTrips, len(res.Latency), actions)
	}
	// Per member: one sendMessage per message and press, answer and edit
	// per press and toggle, and at least one getUpdates.
	var says, presses, toggles int64
	for _, k := range floorKinds() {
		switch k {
		case "say":
			says++
		case "press":
			presses++
		case "toggle":
			toggles++
		}
	}
	want := 4*(says+3*presses+2*toggles) + 1
	if res.TelegramCalls < want || res.CPU <= 0 {
		t.Errorf("telegram calls %d (want at least %d), CPU %v", res.TelegramCalls, want, res.CPU)
	}
}
