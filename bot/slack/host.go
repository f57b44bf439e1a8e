package slack

import (
	"context"
	"time"

	"log/slog"

	"github.com/redis/go-redis/v9"
	slackapi "github.com/slack-go/slack"
)

// Host is what an extension of the desk (the broadcast Composer, the
// sign-up Exporter) works with, so it need not know the desk's insides: it
// registers itself, calls the Slack Web API through the desk's client, and
// keeps its own Redis keys under the desk's prefix. *Desk is the Host.
type Host interface {
	Extend(Extension)
	SlackClient() *slackapi.Client
	RedisClient() redis.Cmdable
	Key(parts ...string) string
	Logger() *slog.Logger
	// RecordSharedFile records a file the extension posted that holds
	// many members' data, read at made: it is deleted from Slack when any
	// member erases their data (see shared.go).
	RecordSharedFile(ctx context.Context, channel, fileID string, made time.Time) error
}

var _ Host = (*Desk)(nil)

// SlackClient is the desk's Slack Web API client (Host).
func (d *Desk) SlackClient() *slackapi.Client { return d.api }

// RedisClient is the desk's Redis (Host).
func (d *Desk) RedisClient() redis.Cmdable { return d.rdb }

// Key names a key under the desk's prefix (Host).
func (d *Desk) Key(parts ...string) string { return d.key(parts...) }

// Logger is the desk's log (Host).
func (d *Desk) Logger() *slog.Logger { return d.log }
