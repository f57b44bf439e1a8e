package sealed

import (
	"bytes"
	"errors"
	"testing"
)

func mustKey(t *testing.T) []byte {
	t.Helper()
	k, err := ParseKey(GenerateKey())
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSealOpen(t *testing.T) {
	r, err := NewKeyring(mustKey(t))
	if err != nil {
		t.Fatal(err)
	}
	plain := []byte(`{"name":"Rosa Méndez"}`)
	a, b := r.Seal(plain), r.Seal(plain)
	if bytes.Equal(a, b) {
		t.Fatal("two seals of one value are equal: nonces repeat")
	}
	if bytes.Contains(a, []byte("Rosa")) {
		t.Fatal("sealed value holds the plain text")
	}
	if a[0] != Version || ValueKeyID(a) != r.CurrentID() {
		t.Fatalf("header: version %d, key %s; want %d, %s", a[0], ValueKeyID(a), Version, r.CurrentID())
	}
	got, err := r.Open(a)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("Open = %q, %v", got, err)
	}
}

func TestRotation(t *testing.T) {
	oldK, newK := mustKey(t), mustKey(t)
	oldRing, _ := NewKeyring(oldK)
	v := oldRing.Seal([]byte("hola"))

	rotated, err := NewKeyring(newK, oldK)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := rotated.Open(v); err != nil || string(got) != "hola" {
		t.Fatalf("retired key does not open: %q, %v", got, err)
	}
	re, changed, err := rotated.Reseal(v)
	if err != nil || !changed || ValueKeyID(re) != rotated.CurrentID() {
		t.Fatalf("Reseal: changed %v, key %s, err %v", changed, ValueKeyID(re), err)
	}
	if _, changed, _ := rotated.Reseal(re); changed {
		t.Fatal("resealing a current value changed it")
	}
	if _, changed, err := rotated.Reseal([]byte(`{"legacy":true}`)); err != nil || !changed {
		t.Fatalf("legacy plain value not sealed: %v %v", changed, err)
	}

	newOnly, _ := NewKeyring(newK)
	_, err = newOnly.Open(v)
	var missing *MissingKeyError
	if !errors.As(err, &missing) || missing.KeyID != KeyID(oldK) {
		t.Fatalf("Open under a missing key: %v; want MissingKeyError naming %s", err, KeyID(oldK))
	}
}

func TestCorrupt(t *testing.T) {
	r, _ := NewKeyring(mustKey(t))
	v := r.Seal([]byte("secret"))
	for name, bad := range map[string][]byte{
		"flipped":   append(append([]byte(nil), v[:len(v)-1]...), v[len(v)-1]^1),
		"truncated": v[:10],
		"plain":     []byte("plain"),
		"empty":     nil,
	} {
		_, err := r.Open(bad)
		var ce *CorruptError
		if !errors.As(err, &ce) {
			t.Errorf("%s: err %v, want CorruptError", name, err)
		}
	}
}

func TestParseKey(t *testing.T) {
	if _, err := ParseKey("c2hvcnQ="); err == nil {
		t.Error("short key accepted")
	}
	if _, err := ParseKey("not base64!"); err == nil {
		t.Error("garbage accepted")
	}
	ks, err := ParseKeys(GenerateKey() + ", " + GenerateKey() + ",")
	if err != nil || len(ks) != 2 {
		t.Fatalf("ParseKeys: %d keys, %v", len(ks), err)
	}
}

func TestMAC(t *testing.T) {
	k1, k2 := mustKey(t), mustKey(t)
	r1, _ := NewKeyring(k1)
	r2, _ := NewKeyring(k2, k1)
	if r1.MAC("123") == r2.MAC("123") {
		t.Fatal("MAC does not depend on the key")
	}
	if macs := r2.MACs("123"); len(macs) != 2 || macs[1] != r1.MAC("123") {
		t.Fatalf("MACs = %v, want the retired key's MAC too", macs)
	}
	if names := r2.ChatNames("p:sent:", 123); len(names) != 2 || names[0] != "p:sent:"+r2.MAC("123") || names[1] != "p:sent:"+r1.MAC("123") {
		t.Fatalf("ChatNames = %v, want the current key's name, then the retired one's", names)
	}
}

func FuzzOpen(f *testing.F) {
	r := Throwaway()
	f.Add(r.Seal([]byte("x")))
	f.Add([]byte{Version})
	f.Fuzz(func(t *testing.T, v []byte) {
		_, _ = r.Open(v) // must never panic
	})
}
