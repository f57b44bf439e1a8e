package ctxtime

import (
	"context"
	"testing"
	"time"
)

func TestSleep(t *testing.T) {
	if !Sleep(context.Background(), time.Microsecond) || !Sleep(context.Background(), 0) {
		t.Error("a live context did not let the wait elapse")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// an hour's wait on a cancelled context returns at once: the test would
	// time out otherwise
	if Sleep(ctx, time.Hour) || Sleep(ctx, 0) {
		t.Error("a cancelled context reported the wait as elapsed")
	}
}
