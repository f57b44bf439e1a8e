package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// webhookSecretKey holds the generated webhook secret, under REDIS_PREFIX.
const webhookSecretKey = "telegram:webhook_secret"

// webhookSecret is TELEGRAM_WEBHOOK_SECRET, or else a secret generated
// once and kept in Redis: the first replica to start stores its own
// (SET NX) and every replica uses what is stored, so all accept what
// Telegram sends, whichever registered the webhook last.
func webhookSecret(ctx context.Context, c config, client *redis.Client) (string, error) {
	if c.Webhook.Secret != "" {
		return c.Webhook.Secret, nil
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generate webhook secret: %w", err)
	}
	key := c.RedisPrefix + webhookSecretKey
	if err := client.SetNX(ctx, key, base64.RawURLEncoding.EncodeToString(b[:]), 0).Err(); err != nil {
		return "", fmt.Errorf("store webhook secret in redis: %w", err)
	}
	secret, err := client.Get(ctx, key).Result()
	if err != nil {
		return "", fmt.Errorf("read webhook secret from redis: %w", err)
	}
	if !validWebhookSecret(secret) {
		return "", errors.New("the webhook secret stored in redis is not valid for Telegram; delete the key " + key)
	}
	return secret, nil
}
