package broadcast

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"

	"bridgebot/bot/sealed"
)

// A subscription record holds what the member chose on the form (their
// language, role, issue areas, border answer), so it is sealed
// (bot/sealed, AES-256-GCM) like the sign-up it comes from. Targeting
// never needs it clear in Redis: scripts only hand records over, and the
// audience is matched in Go after opening them. Records written before
// sealing (plain JSON) are still read; `bridgebot rekey` seals them.

// sealRecord encodes and seals a subscriber's record.
func (o Options) sealRecord(r record) (string, error) {
	js, err := json.Marshal(r)
	if err != nil {
		return "", fmt.Errorf("encode record: %w", err)
	}
	return o.Keyring.SealString(string(js)), nil
}

// decodeSubscriber builds a subscriber from its stored record and since.
// ok is false when the record is missing (unsubscribed meanwhile); err
// says why a record that is there cannot be read (a *sealed.MissingKeyError
// or *sealed.CorruptError naming the key it needs, or bad JSON).
func (o Options) decodeSubscriber(id string, rec, since any) (sub Subscriber, ok bool, err error) {
	raw, ok := rec.(string)
	if !ok {
		return Subscriber{}, false, nil
	}
	chatID, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return Subscriber{}, false, fmt.Errorf("subscriber %q: not a chat ID", id)
	}
	plain, err := o.Keyring.OpenString(raw)
	if err != nil {
		return Subscriber{}, false, err
	}
	var r record
	if err := json.Unmarshal([]byte(plain), &r); err != nil {
		return Subscriber{}, false, &sealed.CorruptError{Reason: "subscription record is not JSON"}
	}
	sub = Subscriber{ChatID: chatID, Lang: r.Lang, Role: r.Role, Areas: r.Areas, Border: r.Border}
	if v, ok := since.(string); ok {
		sub.Since = fromMS(v)
	}
	return sub, true, nil
}

// unreadable tallies records that could not be opened by the key they
// need, so that a walk over thousands of subscribers reports them in one
// log line instead of one per member.
type unreadable map[string]int

func (u unreadable) add(err error) {
	var missing *sealed.MissingKeyError
	var corrupt *sealed.CorruptError
	switch {
	case errors.As(err, &missing):
		u["needs key "+missing.KeyID]++
	case errors.As(err, &corrupt) && corrupt.KeyID != "":
		u["corrupt under key "+corrupt.KeyID]++
	default:
		u["corrupt"]++
	}
}

// report logs the tally, if any: the members concerned were left out.
func (u unreadable) report(log *slog.Logger, what string) {
	if len(u) == 0 {
		return
	}
	reasons := make([]string, 0, len(u))
	for r := range u {
		reasons = append(reasons, r)
	}
	sort.Strings(reasons)
	attrs := make([]any, 0, len(reasons)+1)
	attrs = append(attrs, slog.String("while", what))
	for _, r := range reasons {
		attrs = append(attrs, slog.Int(r, u[r]))
	}
	log.Warn("broadcast: subscription records that cannot be decrypted were left out (configure the key in BRIDGE_DATA_KEYS_OLD, then run `bridgebot rekey`)", attrs...)
}
