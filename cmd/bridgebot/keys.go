package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"bridgebot/bot/audit"
	"bridgebot/bot/sealed"
)

// DefaultKeyFile is where `run` keeps the data key it creates when
// BRIDGE_DATA_KEY is not set (relative to the working directory).
const DefaultKeyFile = "bridgebot.key"

// keyConfig is where the data key comes from (see the README's "data
// key's life cycle").
type keyConfig struct {
	Key  string // BRIDGE_DATA_KEY, base64
	Old  string // BRIDGE_DATA_KEYS_OLD, comma-separated base64
	File string // BRIDGE_KEY_FILE
}

func loadKeyConfig(getenv func(string) string) keyConfig {
	return keyConfig{
		Key:  getenv("BRIDGE_DATA_KEY"),
		Old:  getenv("BRIDGE_DATA_KEYS_OLD"),
		File: or(getenv("BRIDGE_KEY_FILE"), DefaultKeyFile),
	}
}

// check reports keys that do not parse, without touching the key file.
func (k keyConfig) check() error {
	if k.Key != "" {
		if _, err := sealed.ParseKey(k.Key); err != nil {
			return fmt.Errorf("BRIDGE_DATA_KEY: %w", err)
		}
	}
	if _, err := sealed.ParseKeys(k.Old); err != nil {
		return fmt.Errorf("BRIDGE_DATA_KEYS_OLD: %w", err)
	}
	return nil
}

// errNoDataKey: a command that reads members' data found no key.
var errNoDataKey = errors.New("no data key: set BRIDGE_DATA_KEY (the key `bridgebot run` uses) or BRIDGE_KEY_FILE to its key file")

// keyring builds the ring from BRIDGE_DATA_KEY, else the key file. With
// create, a missing key file is created with a new key (mode 0600) and the
// operator is told, loudly, to back it up and share it with every replica;
// without it, a missing key is errNoDataKey.
func (k keyConfig) keyring(log *slog.Logger, create bool) (*sealed.Keyring, error) {
	old, err := sealed.ParseKeys(k.Old)
	if err != nil {
		return nil, fmt.Errorf("BRIDGE_DATA_KEYS_OLD: %w", err)
	}
	var cur []byte
	switch {
	case k.Key != "":
		if cur, err = sealed.ParseKey(k.Key); err != nil {
			return nil, fmt.Errorf("BRIDGE_DATA_KEY: %w", err)
		}
	default:
		if cur, err = k.readOrCreate(log, create); err != nil {
			return nil, err
		}
	}
	ring, err := sealed.NewKeyring(cur, old...)
	if err != nil {
		return nil, fmt.Errorf("data keys: %w", err)
	}
	log.Debug("data keys loaded", slog.String("current", ring.CurrentID()), slog.Int("retired", len(old)))
	return ring, nil
}

func (k keyConfig) readOrCreate(log *slog.Logger, create bool) ([]byte, error) {
	data, err := os.ReadFile(k.File)
	if err == nil {
		key, err := sealed.ParseKey(string(data))
		if err != nil {
			return nil, fmt.Errorf("key file %s: %w", k.File, err)
		}
		return key, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read key file: %w", err)
	}
	if !create {
		return nil, fmt.Errorf("%w (no key file at %s)", errNoDataKey, k.File)
	}
	enc := sealed.GenerateKey()
	// O_EXCL: two replicas starting together on one volume must not each
	// write a key of their own.
	f, err := os.OpenFile(k.File, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return k.readOrCreate(log, false)
	}
	if err != nil {
		return nil, fmt.Errorf("create key file: %w", err)
	}
	if _, err := io.WriteString(f, enc+"\n"); err != nil {
		f.Close()
		return nil, fmt.Errorf("write key file: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("write key file: %w", err)
	}
	abs, _ := filepath.Abs(k.File)
	key, _ := sealed.ParseKey(enc)
	log.Warn("CREATED A NEW DATA KEY: members' answers and messages in Redis are encrypted with it. "+
		"BACK IT UP NOW: without it they can never be read again. Every replica (and export/rekey) must use the same key: "+
		"copy this file or set BRIDGE_DATA_KEY to its contents.",
		slog.String("key_file", abs), slog.String("key_id", sealed.KeyID(key)))
	return key, nil
}

// runKeygen prints a new data key.
func runKeygen(stdout io.Writer) error {
	_, err := fmt.Fprintln(stdout, sealed.GenerateKey())
	return err
}

// runRekey re-encrypts every sealed value under the current key and prints
// the counts.
func runRekey(ctx context.Context, c config, stdout, stderr io.Writer) error {
	if !c.redisConfigured() {
		return errors.New("rekey needs REDIS_URL (or REDIS_SENTINEL_ADDRS): the Redis of the running bot")
	}
	log := c.logger(stderr)
	ring, err := c.Keys.keyring(log, false)
	if err != nil {
		return err
	}
	client, closeRedis, err := connectRedis(ctx, c, log)
	if err != nil {
		return err
	}
	defer closeRedis()
	rep, err := sealed.Rekey(ctx, client, c.RedisPrefix, ring, legacyPlain(c.RedisPrefix))
	if err != nil {
		return fmt.Errorf("rekey: %w", err)
	}
	if err := audit.New(client, c.RedisPrefix).Record(ctx, audit.Entry{Action: audit.ActionRekey, Actor: cliActor(),
		Count: int64(rep.Resealed + rep.Sealed), Detail: "to key " + ring.CurrentID()}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "current key %s\nscanned keys: %d\nre-encrypted: %d\nsealed (stored before encryption): %d\nalready current: %d\nchanged while rekeying (rewritten by the bot): %d\n",
		ring.CurrentID(), rep.Scanned, rep.Resealed, rep.Sealed, rep.Current, rep.Changed)
	if rep.Queued > 0 {
		fmt.Fprintf(stdout, "queued, held or dead-letter entries under a retired key: %d (keep the retired keys until they drain or expire)\n", rep.Queued)
	}
	if rep.Corrupt > 0 {
		fmt.Fprintf(stdout, "corrupt values (left as they are): %d\n", rep.Corrupt)
	}
	for _, id := range rep.MissingIDs() {
		fmt.Fprintf(stdout, "values needing key %s, which is not configured: %d\n", id, rep.Missing[id])
	}
	if len(rep.Missing) > 0 || rep.Corrupt > 0 {
		return fmt.Errorf("rekey: %d values could not be decrypted", rep.Corrupt+sum(rep.Missing))
	}
	return nil
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// legacyPlain names the values that hold members' data but may have been
// written before encryption existed, so rekey seals them.
func legacyPlain(prefix string) sealed.Legacy {
	return func(key, field string) bool {
		rest, ok := strings.CutPrefix(key, prefix)
		if !ok {
			return false
		}
		switch {
		case strings.HasPrefix(rest, "signup:"):
			return field == ""
		case strings.HasPrefix(rest, "session:"):
			return field == "d"
		case strings.HasPrefix(rest, "desk:ticket:"):
			return field == "name" || field == "username" || field == "question"
		case rest == "subs:data": // bot/broadcast: "{chat}" records; "{chat}:since" is a time
			return field != "" && !strings.HasSuffix(field, ":since")
		}
		return false
	}
}
