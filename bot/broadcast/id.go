package broadcast

import (
	"crypto/rand"
	"encoding/binary"
	"strings"
	"time"
)

// crockford is Crockford's base 32 alphabet (no I, L, O, U), as in ULIDs.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// newID returns a job ID that no other job has had, even one created
// before Redis lost its data: a ULID, 26 characters of Crockford base 32
// holding the creation time in milliseconds (48 bits, so IDs sort by
// creation) and 80 random bits.
func newID(t time.Time) string {
	var b [16]byte
	ms := uint64(t.UnixMilli())
	for i := 5; i >= 0; i-- {
		b[i] = byte(ms)
		ms >>= 8
	}
	_, _ = rand.Read(b[6:]) // never fails (crypto/rand)
	hi, lo := binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])
	out := make([]byte, 26)
	for i := len(out) - 1; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out)
}

// normID is an ID as typed: IDs are upper case, and people copy them in
// either case. (Jobs created before IDs were ULIDs have decimal IDs, which
// this leaves alone.)
func normID(id string) string { return strings.ToUpper(strings.TrimSpace(id)) }
