package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"bridgebot/bot"
	"bridgebot/bot/audit"
	"bridgebot/bot/broadcast"
	"bridgebot/bot/console"
	"bridgebot/bot/redisstore"
	"bridgebot/bot/sealed"
	"bridgebot/locales"
)

// redisProtocol is RESP2: the bot uses nothing of RESP3, and with RESP3
// go-redis looks for push notifications around every reply (2% of the
// bot's CPU under load).
const redisProtocol = 2

// redisConn is a connected Redis client. Down is what its one ping at
// connection said (nil: Redis answered): the bot runs on and recovers when
// Redis returns, a command that needs Redis now refuses.
type redisConn struct {
	*redis.Client
	Down         error
	stopEmbedded func()
}

// Close releases the client and the embedded Redis, if one was started.
func (r *redisConn) Close() {
	r.Client.Close()
	r.stopEmbedded()
}

// connectRedis connects to Redis through Sentinel (REDIS_SENTINEL_ADDRS)
// or REDIS_URL, or starts an embedded in-memory Redis (loudly: nothing
// survives a restart), and pings it once.
func connectRedis(ctx context.Context, c config, log *slog.Logger) (*redisConn, error) {
	conn := &redisConn{stopEmbedded: func() {}}
	const timeout = 2 * time.Second
	if len(c.Sentinel.Addrs) > 0 {
		// The failover client asks the Sentinels for the master, follows
		// them when they promote a replica, and reconnects.
		conn.Client = redis.NewFailoverClient(&redis.FailoverOptions{
			MasterName: c.Sentinel.Master, SentinelAddrs: c.Sentinel.Addrs, SentinelPassword: c.Sentinel.Password,
			Password: c.RedisPassword, DialTimeout: timeout, ReadTimeout: timeout, WriteTimeout: timeout,
			Protocol: redisProtocol,
		})
	} else {
		url := c.RedisURL
		if url == "" {
			addr, stop, err := redisstore.StartEmbedded()
			if err != nil {
				return nil, fmt.Errorf("start embedded redis: %w", err)
			}
			conn.stopEmbedded = stop
			url = "redis://" + addr
			log.Warn("REDIS_URL is not set: using an embedded in-memory Redis. ALL DATA (sign-ups, conversations) WILL BE LOST when the bot stops. Set REDIS_URL for real use.")
		}
		opt, err := redis.ParseURL(url)
		if err != nil {
			conn.stopEmbedded()
			return nil, fmt.Errorf("REDIS_URL: %w", err)
		}
		if opt.Password == "" && c.RedisPassword != "" {
			opt.Password = c.RedisPassword
		}
		opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout = timeout, timeout, timeout
		opt.Protocol = redisProtocol
		conn.Client = redis.NewClient(opt)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if conn.Down = conn.Ping(pingCtx).Err(); conn.Down != nil {
		// Not fatal for the bot: it tells members it is unavailable and
		// recovers when Redis returns. Worth a loud line for the operator.
		log.Error("redis is not answering; members will be told to try again later", slog.Any("err", conn.Down))
	}
	return conn, nil
}

func (c config) store(client *redis.Client, ring *sealed.Keyring, log *slog.Logger) *redisstore.Store {
	return redisstore.New(client, redisstore.Options{Prefix: c.RedisPrefix, SessionTTL: c.FormTTL, Keyring: ring, Logger: log})
}

// openCommand is what a command that reads the bot's data starts with:
// the checked flows and texts (refusing to start on invalid ones, as run
// does), a log on stderr, and Redis, which the caller closes.
func openCommand(ctx context.Context, c config, stderr io.Writer) (content, *slog.Logger, *redisConn, error) {
	ct, err := mustContent(c, stderr)
	if err != nil {
		return ct, nil, nil, err
	}
	log := c.logger(stderr)
	client, err := connectRedis(ctx, c, log)
	if err != nil {
		return ct, nil, nil, err
	}
	return ct, log, client, nil
}

func runConsole(ctx context.Context, c config, args []string, s streams) error {
	stdin, stdout, stderr := s.in, s.out, s.err
	lang := c.ConsoleLang
	if len(args) > 0 && locales.Supported(args[0]) {
		lang = args[0]
	}
	ct, log, client, err := openCommand(ctx, c, stderr)
	if err != nil {
		return err
	}
	defer client.Close()
	// On the embedded Redis nothing outlives the process, the key
	// included; on a real one the console must read what `run` wrote.
	ring := sealed.Throwaway()
	if c.redisConfigured() {
		if ring, err = c.Keys.keyring(log, true); err != nil {
			return err
		}
	}
	con := console.New(stdout, lang)
	bstore := broadcast.New(client.Client, broadcast.Options{Prefix: c.RedisPrefix, Keyring: ring, Logger: log})
	engine, err := bot.NewEngine(bot.Config{
		Store: c.store(client.Client, ring, log), Sender: con, Flows: ct.flows, Locales: ct.locales, Logger: log,
		FormTTL: c.FormTTL, BotUsername: "bridge_bot", FAQ: ct.faq, Contact: c.Contact,
		Subscriptions: bstore.Subscribers,
		Erasers:       []bot.Eraser{bstore, audit.New(client.Client, c.RedisPrefix)},
		Wiper:         con, // /wipe: the terminal's lines cannot be deleted; it says so
	})
	if err != nil {
		return err
	}
	return con.Run(ctx, stdin, engine)
}
