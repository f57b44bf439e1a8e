package main

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Without BRIDGE_DATA_KEY, run creates the key file (mode 0600) once and
// says loudly where it is and that it must be backed up and shared; later
// starts read it silently; commands that only read data (create = false)
// refuse to invent a key.
func TestKeyFileCreatedOnceAndAnnounced(t *testing.T) {
	file := filepath.Join(t.TempDir(), "bridgebot.key")
	k := keyConfig{File: file}
	if _, err := k.keyring(slog.New(slog.DiscardHandler), false); !errors.Is(err, errNoDataKey) {
		t.Fatalf("reading without a key file: %v, want errNoDataKey", err)
	}
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	ring, err := k.keyring(log, true)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(file)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, mode %v; want 0600", err, st.Mode().Perm())
	}
	for _, want := range []string{"level=WARN", "BACK IT UP", "Every replica", file, ring.CurrentID()} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the announcement lacks %q: %s", want, logs.String())
		}
	}
	logs.Reset()
	again, err := k.keyring(log, true)
	if err != nil || again.CurrentID() != ring.CurrentID() {
		t.Fatalf("second start: key %v, %v; want the same key %s", again, err, ring.CurrentID())
	}
	if strings.Contains(logs.String(), "BACK IT UP") {
		t.Errorf("a second start announced a new key: %s", logs.String())
	}
}
