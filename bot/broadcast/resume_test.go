package broadcast_test

import (
	"testing"
	"time"

	"bridgebot/bot"
	"bridgebot/bot/broadcast"
)

// A replica killed mid-broadcast (its leases left behind, as in a crash)
// and restarted under the same name takes its own page back at once;
// another replica takes the abandoned page over within 10 s. Default
// lease time.
func TestKilledReplicaIsResumedWithinTenSeconds(t *testing.T) {
	for _, tc := range []struct {
		name, restartAs string
		within          time.Duration
	}{
		{"same replica restarted", "replica-a", 3 * time.Second},
		{"another replica", "replica-b", 10 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			ids := e.members(1, 60, bot.Subscription{})
			const conc = 4
			// One page holds the whole audience: nothing is left to claim
			// but the killed replica's page.
			o := broadcast.Options{Rate: 40, Concurrency: conc, PageSize: 100, Consumer: "replica-a"}
			clientA := e.client()
			stopA := e.worker(clientA, nil, o)
			j := e.create(broadcast.Job{})
			e.accepted(20)
			clientA.Close() // kill: nothing recorded or handed back from here on
			stopA()
			killed, before := time.Now(), e.srv.AcceptedTotal()

			o.Consumer = tc.restartAs
			e.worker(e.client(), nil, o)
			e.srv.WaitFor(t, wait, func() bool { return e.srv.AcceptedTotal() > before })
			resumed := time.Since(killed)
			t.Logf("resumed %v after the kill", resumed.Round(time.Millisecond))
			if resumed > tc.within {
				t.Errorf("resumed %v after the kill, want within %v", resumed.Round(time.Millisecond), tc.within)
			}
			j = e.waitStatus(j.ID, broadcast.StatusDone)
			if dups := e.duplicates(t, ids); dups > conc {
				t.Errorf("%d duplicates, want ≤ %d", dups, conc)
			}
		})
	}
}
