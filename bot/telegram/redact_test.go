package telegram_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"bridgebot/bot/telegram"
)

func TestTokenNeverAppearsInErrors(t *testing.T) {
	const token = "123456:SECRET-token-value"
	_, err := telegram.New(context.Background(), telegram.Config{Token: token, APIURL: "http://127.0.0.1:1", RequestTimeout: time.Second})
	if err == nil {
		t.Fatal("connected to nothing")
	}
	if strings.Contains(err.Error(), "SECRET") {
		t.Fatalf("token leaked into the error: %v", err)
	}
}
