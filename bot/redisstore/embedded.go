package redisstore

import (
	"fmt"

	"github.com/alicebob/miniredis/v2"
)

// StartEmbedded starts an in-process, in-memory Redis (miniredis) on a
// free local port and returns its address. It lets `bridgebot console`, and
// `bridgebot run` without REDIS_URL, work with nothing installed; its data
// is lost when stop is called or the process exits, so it is for trying the
// bot out, not for keeping sign-ups.
func StartEmbedded() (addr string, stop func(), err error) {
	m, err := miniredis.Run()
	if err != nil {
		return "", nil, fmt.Errorf("redisstore: start embedded redis: %w", err)
	}
	return m.Addr(), m.Close, nil
}
