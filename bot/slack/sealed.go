package slack

import (
	"log/slog"

	"bridgebot/bot/sealed"
)

// seal encrypts a member's words for a desk key; "" stays "" (nothing to
// hide, and a cleared field stays recognisably empty).
func (d *Desk) seal(s string) string {
	if s == "" {
		return ""
	}
	return d.ring.SealString(s)
}

// open decrypts a sealed ticket field. A field that cannot be opened (its
// key was retired and left out of the ring, or it was altered) is reported
// with the key ID it needs and read as "": the desk goes on without it
// rather than showing garbage.
func (d *Desk) open(chat int64, field, v string) string {
	p, err := d.ring.OpenString(v)
	if err != nil {
		d.log.Warn("cannot decrypt a desk field", slog.Int64("chat", chat), slog.String("field", field),
			slog.String("key_id", sealed.ValueKeyID([]byte(v))), slog.Any("err", err))
		return ""
	}
	return p
}
