package slack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	slackapi "github.com/slack-go/slack"
)

// Shared files: files the bot posted in Slack that hold many members'
// data (the sign-up CSV of /bridge export). An erasure cannot redact one
// member's row in such a file, so every shared file made before an erasure
// is deleted from Slack when any member erases their data, and the
// conversation it was posted in gets a note that the export was removed
// and can be run again.
//
// desk:shared (sorted set) holds "channel fileID" scored by the Unix time
// the file's data was read; nothing about any member. An entry lives until
// an erasure deletes its file (or finds it already gone): the file
// stays in Slack until then, so the record must too.
// desk:last-erasure is the time of the latest erasure (no chat ID), which
// a file still being made when an erasure happened checks once it is
// recorded (RecordSharedFile).

// kindPurgeExports is a "slack" outbox entry: delete the shared files made
// before an erasure.
const kindPurgeExports = "purge_shared"

// sharedQueue is the outbox key of shared-file purges.
const sharedQueue = "shared-files"

type purgeExportsMsg struct {
	At time.Time `json:"at"` // the erasure: files made up to then hold the member's data
}

func (tk *tickets) sharedKey() string      { return tk.key("shared") }
func (tk *tickets) lastErasureKey() string { return tk.key("last-erasure") }

// RecordSharedFile records a file the bot posted in channel that holds many
// members' data, read at made (Host). If a member erased their data after
// made — while the file was being made or uploaded — the file is deleted
// at once, as every earlier one was.
func (d *Desk) RecordSharedFile(ctx context.Context, channel, fileID string, made time.Time) error {
	if err := d.rdb.ZAdd(ctx, d.sharedKey(), redis.Z{Score: float64(made.UnixMilli()), Member: channel + " " + fileID}).Err(); err != nil {
		return fmt.Errorf("slack: record shared file: %w", err)
	}
	v, err := d.rdb.Get(ctx, d.lastErasureKey()).Result()
	if errors.Is(err, redis.Nil) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("slack: record shared file: %w", err)
	}
	ms, _ := strconv.ParseInt(v, 10, 64)
	if ms < made.UnixMilli() {
		return nil
	}
	return d.enqueueJSON(ctx, "", sharedQueue, kindPurgeExports, purgeExportsMsg{At: time.UnixMilli(ms)})
}

// erasureClockSkew widens what an erasure reaches: files are dated by the
// clock of the replica that made them, erasures by the one that ran them,
// and the two may differ; an export made up to this long after an erasure
// (by the eraser's clock) is deleted too, to be run again.
const erasureClockSkew = time.Minute

// forgetShared is the shared files' part of an erasure at at: remember the
// erasure's time, then queue the deletion of the files made before it.
func (d *Desk) forgetShared(ctx context.Context, at time.Time) error {
	at = at.Add(erasureClockSkew)
	if err := d.rdb.Set(ctx, d.lastErasureKey(), at.UnixMilli(), eventTTL).Err(); err != nil {
		return fmt.Errorf("slack: note the erasure for shared files: %w", err)
	}
	n, err := d.rdb.ZCount(ctx, d.sharedKey(), "-inf", strconv.FormatInt(at.UnixMilli(), 10)).Result()
	if err != nil {
		return fmt.Errorf("slack: find shared files: %w", err)
	}
	if n == 0 {
		return nil
	}
	return d.enqueueJSON(ctx, "", sharedQueue, kindPurgeExports, purgeExportsMsg{At: at})
}

// exportRemovedNote is posted where removed exports were.
const exportRemovedNote = "🗑 A member erased their data, so the sign-up exports sent here before then were deleted (they held that member's answers). Run `/bridge export` again for a current copy."

// purgeExports is the kindPurgeExports handler. It is idempotent: a file
// already gone counts as deleted; a retry may post the note twice, never
// leave a file.
func (d *Desk) purgeExports(ctx context.Context, p purgeExportsMsg) error {
	refs, err := d.rdb.ZRangeByScore(ctx, d.sharedKey(), &redis.ZRangeBy{Min: "-inf", Max: strconv.FormatInt(p.At.UnixMilli(), 10)}).Result()
	if err != nil {
		return fmt.Errorf("find shared files: %w", err)
	}
	byChannel := map[string][]string{}
	for _, ref := range refs {
		channel, id, ok := strings.Cut(ref, " ")
		if !ok {
			continue
		}
		byChannel[channel] = append(byChannel[channel], ref)
		err := d.api.DeleteFileContext(ctx, id)
		if err != nil && !goneAlready(err, "file_not_found", "file_deleted") {
			return fmt.Errorf("delete a shared file after an erasure: %w", err)
		}
	}
	channels := make([]string, 0, len(byChannel))
	for c := range byChannel {
		channels = append(channels, c)
	}
	sort.Strings(channels)
	for _, c := range channels {
		if _, _, err := d.api.PostMessageContext(ctx, c, slackapi.MsgOptionText(exportRemovedNote, false)); err != nil {
			d.log.Warn("could not say that exports were removed", slog.String("channel", c), slog.Any("err", err))
		}
		members := make([]any, len(byChannel[c]))
		for i, ref := range byChannel[c] {
			members[i] = ref
		}
		if err := d.rdb.ZRem(ctx, d.sharedKey(), members...).Err(); err != nil {
			return fmt.Errorf("forget deleted shared files: %w", err)
		}
	}
	if len(refs) > 0 {
		d.log.Info("shared files deleted after an erasure", slog.Int("files", len(refs)), slog.Int("conversations", len(channels)))
	}
	return nil
}
