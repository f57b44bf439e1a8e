package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Exports, broadcasts, erasures and rekeys are in the audit log — who,
// when, how many — and nothing of the members is.
func TestAuditLogRecordsWithoutMemberContent(t *testing.T) {
	const chat = 918273660
	e, m := readyMember(t, chat, "Ximena")
	signUp(m, "Ximena Auditada", "Red Auditada", "Oaxaca", "ximena@auditada.org", "Nada-que-auditar")
	m.press("Confirmar", "Recibimos tu interés")

	if _, errOut, err := e.cli("export", "signups", "--format", "csv"); err != nil {
		t.Fatalf("export: %v\n%s", err, errOut)
	}
	f := filepath.Join(t.TempDir(), "es.html")
	if err := os.WriteFile(f, []byte("Hola a todas"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, errOut, err := e.cli("broadcast", "send", "--es", f, "--yes"); err != nil {
		t.Fatalf("broadcast: %v\n%s", err, errOut)
	}
	m.expect(0, "Hola a todas")
	m.erase()
	if out, errOut, err := e.cli("rekey"); err != nil {
		t.Fatalf("rekey: %v\n%s%s", err, out, errOut)
	}

	out, errOut, err := e.cli("audit")
	if err != nil {
		t.Fatalf("audit: %v\n%s", err, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	// Everything is under the current key already: rekey rewrote 0.
	want := [][2]string{{"export", "1"}, {"broadcast", "1"}, {"erasure", "1"}, {"rekey", "0"}}
	if len(lines) != len(want) {
		t.Fatalf("audit log:\n%s\nwant %d entries", out, len(want))
	}
	for i, w := range want {
		f := strings.Fields(lines[i])
		if len(f) < 4 || f[1] != w[0] || f[3] != w[1] {
			t.Errorf("entry %d = %q, want %s of %s", i, lines[i], w[0], w[1])
		}
	}
	if !strings.HasPrefix(strings.Fields(lines[0])[2], "cli:") || strings.Fields(lines[2])[2] != "member" {
		t.Errorf("actors:\n%s", out)
	}
	for _, w := range []string{"Ximena", "Auditada", "Oaxaca", "ximena@", "918273660"} {
		if strings.Contains(out, w) {
			t.Errorf("the audit log holds member content %q:\n%s", w, out)
		}
	}
}
