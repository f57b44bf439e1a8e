// Package shipped loads the flows and texts that ship with the bot, for
// tests of the packages under bot that drive a real engine: one place
// instead of the same six lines in each.
package shipped

import (
	"testing"

	"bridgebot/flows"
	"bridgebot/locales"
)

// Content returns the shipped flows and locales, failing tb if they do
// not load.
func Content(tb testing.TB) (map[string]*flows.Flow, *locales.Catalog) {
	tb.Helper()
	fl, err := flows.Load(flows.Default())
	if err != nil {
		tb.Fatal(err)
	}
	cat, err := locales.Load(locales.Default())
	if err != nil {
		tb.Fatal(err)
	}
	return fl, cat
}
