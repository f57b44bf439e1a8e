// Package sealed encrypts what members gave before it reaches Redis:
// AES-256-GCM from the standard library, under a Keyring of one current
// key and any number of retired keys that still decrypt.
//
// # Format
//
// A sealed value is binary:
//
//	byte 0      Version (1)
//	bytes 1–4   the key's ID: the first 4 bytes of SHA-256(key)
//	bytes 5–16  a random 96-bit nonce, new for every Seal
//	bytes 17–   the AES-256-GCM ciphertext and its 16-byte tag
//
// The first five bytes are authenticated as additional data, so a value
// cannot be relabelled with another key's ID. The key ID is shown as 8
// hex digits (KeyID): it names a key without revealing anything about it.
//
// Opening a value whose key is not in the ring returns a *MissingKeyError
// naming the key ID; a value that fails authentication returns a
// *CorruptError naming it too. Neither ever yields garbage or panics.
// Values written before encryption existed (plain JSON or text) are
// recognised by their first byte (IsSealed) so callers can still read
// them; `bridgebot rekey` seals them.
package sealed

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// Version is the first byte of every sealed value. It is a control
// character that neither JSON nor text written by the bot starts with.
const Version byte = 1

// KeySize is the length of a data key: AES-256.
const KeySize = 32

const (
	idLen     = 4
	nonceLen  = 12
	headerLen = 1 + idLen + nonceLen
	tagLen    = 16
)

// MissingKeyError is returned by Open for a value sealed under a key the
// ring does not hold (a retired key left out of BRIDGE_DATA_KEYS_OLD).
type MissingKeyError struct{ KeyID string }

func (e *MissingKeyError) Error() string {
	return fmt.Sprintf("sealed: value needs data key %s, which is not configured (add it to BRIDGE_DATA_KEYS_OLD)", e.KeyID)
}

// CorruptError is returned by Open for a value that is not a well-formed
// sealed value or fails authentication (altered, or truncated).
type CorruptError struct {
	KeyID  string // "" when the header itself is unreadable
	Reason string
}

func (e *CorruptError) Error() string {
	if e.KeyID == "" {
		return "sealed: corrupt value: " + e.Reason
	}
	return fmt.Sprintf("sealed: corrupt value under data key %s: %s", e.KeyID, e.Reason)
}

// ErrNoKey is returned by NewKeyring without a current key.
var ErrNoKey = errors.New("sealed: no current data key")

type key struct {
	id   [idLen]byte
	raw  []byte
	aead cipher.AEAD
}

// Keyring seals with its current key and opens with any of its keys. It is
// safe for concurrent use.
type Keyring struct {
	current *key
	byID    map[[idLen]byte]*key
}

// NewKeyring returns a ring sealing under current and opening values
// sealed under current or any of old. Every key must be KeySize bytes.
func NewKeyring(current []byte, old ...[]byte) (*Keyring, error) {
	if len(current) == 0 {
		return nil, ErrNoKey
	}
	r := &Keyring{byID: map[[idLen]byte]*key{}}
	for i, raw := range append([][]byte{current}, old...) {
		k, err := newKey(raw)
		if err != nil {
			if i == 0 {
				return nil, fmt.Errorf("sealed: current key: %w", err)
			}
			return nil, fmt.Errorf("sealed: retired key %d: %w", i, err)
		}
		if i == 0 {
			r.current = k
		}
		if _, dup := r.byID[k.id]; !dup {
			r.byID[k.id] = k
		}
	}
	return r, nil
}

func newKey(raw []byte) (*key, error) {
	if len(raw) != KeySize {
		return nil, fmt.Errorf("want %d bytes, got %d", KeySize, len(raw))
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return nil, fmt.Errorf("new cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("new GCM: %w", err)
	}
	sum := sha256.Sum256(raw)
	k := &key{raw: append([]byte(nil), raw...), aead: aead}
	copy(k.id[:], sum[:idLen])
	return k, nil
}

// KeyID names a raw key: 8 hex digits.
func KeyID(raw []byte) string {
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:idLen])
}

// CurrentID is the ID of the key new values are sealed under.
func (r *Keyring) CurrentID() string { return hex.EncodeToString(r.current.id[:]) }

// IDs lists the IDs of every key in the ring, current first.
func (r *Keyring) IDs() []string {
	out := []string{r.CurrentID()}
	for id := range r.byID {
		if id != r.current.id {
			out = append(out, hex.EncodeToString(id[:]))
		}
	}
	return out
}

// Seal encrypts plain under the current key with a fresh random nonce.
func (r *Keyring) Seal(plain []byte) []byte {
	out := make([]byte, headerLen, headerLen+len(plain)+tagLen)
	out[0] = Version
	copy(out[1:], r.current.id[:])
	// crypto/rand.Read never fails (it panics on a broken system RNG).
	_, _ = rand.Read(out[1+idLen : headerLen])
	return r.current.aead.Seal(out, out[1+idLen:headerLen], plain, out[:1+idLen])
}

// SealString is Seal for text, returning the value as a string for Redis.
func (r *Keyring) SealString(plain string) string { return string(r.Seal([]byte(plain))) }

// IsSealed reports whether v looks like a sealed value (its first byte is
// Version). Values stored before encryption was enabled do not.
func IsSealed(v []byte) bool { return len(v) > 0 && v[0] == Version }

// ValueKeyID returns the ID of the key a sealed value needs, "" if v is not
// sealed.
func ValueKeyID(v []byte) string {
	if !IsSealed(v) || len(v) < 1+idLen {
		return ""
	}
	return hex.EncodeToString(v[1 : 1+idLen])
}

// Open decrypts a sealed value. It returns a *MissingKeyError when the
// value's key is not in the ring and a *CorruptError when v is not a valid
// sealed value.
func (r *Keyring) Open(v []byte) ([]byte, error) {
	if !IsSealed(v) {
		return nil, &CorruptError{Reason: "not a sealed value"}
	}
	if len(v) < headerLen+tagLen {
		return nil, &CorruptError{KeyID: ValueKeyID(v), Reason: "too short"}
	}
	var id [idLen]byte
	copy(id[:], v[1:1+idLen])
	k := r.byID[id]
	if k == nil {
		return nil, &MissingKeyError{KeyID: hex.EncodeToString(id[:])}
	}
	plain, err := k.aead.Open(nil, v[1+idLen:headerLen], v[headerLen:], v[:1+idLen])
	if err != nil {
		return nil, &CorruptError{KeyID: hex.EncodeToString(id[:]), Reason: "authentication failed"}
	}
	return plain, nil
}

// OpenLegacy is Open, except that a value that is not sealed (stored
// before encryption was enabled) is returned as is.
func (r *Keyring) OpenLegacy(v []byte) ([]byte, error) {
	if !IsSealed(v) {
		return v, nil
	}
	return r.Open(v)
}

// OpenString is OpenLegacy for text; "" stays "".
func (r *Keyring) OpenString(v string) (string, error) {
	if v == "" {
		return "", nil
	}
	p, err := r.OpenLegacy([]byte(v))
	return string(p), err
}

// Current reports whether v is sealed under the current key (nothing for
// rekey to do).
func (r *Keyring) Current(v []byte) bool {
	return IsSealed(v) && len(v) >= 1+idLen && string(v[1:1+idLen]) == string(r.current.id[:])
}

// Reseal opens v (sealed under any key in the ring, or not sealed at all)
// and seals it under the current key. changed is false when v already was.
func (r *Keyring) Reseal(v []byte) (out []byte, changed bool, err error) {
	if r.Current(v) {
		if _, err := r.Open(v); err != nil {
			return nil, false, err
		}
		return v, false, nil
	}
	p, err := r.OpenLegacy(v)
	if err != nil {
		return nil, false, err
	}
	return r.Seal(p), true, nil
}

// MAC is HMAC-SHA-256 of msg under a key derived from the current key,
// hex-encoded: a stable pseudonym (a tombstone's name) that reveals
// nothing without the key. It changes when the current key changes.
func (r *Keyring) MAC(msg string) string {
	return macWith(r.current.raw, msg)
}

// MACs is MAC under every key in the ring, current first: what a value
// named under an earlier key may be called.
func (r *Keyring) MACs(msg string) []string {
	out := []string{r.MAC(msg)}
	for _, k := range r.byID {
		if k != r.current {
			out = append(out, macWith(k.raw, msg))
		}
	}
	return out
}

// ChatNames are the names a chat's value under base may have: base and
// the MAC of the chat ID, under every key in the ring, current first.
func (r *Keyring) ChatNames(base string, chat int64) []string {
	names := r.MACs(strconv.FormatInt(chat, 10))
	for i, m := range names {
		names[i] = base + m
	}
	return names
}

func macWith(raw []byte, msg string) string {
	d := hmac.New(sha256.New, raw)
	d.Write([]byte("bridgebot name\x00"))
	sub := d.Sum(nil)
	m := hmac.New(sha256.New, sub)
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// GenerateKey returns a new random key, base64-encoded (what
// BRIDGE_DATA_KEY holds).
func GenerateKey() string {
	b := make([]byte, KeySize)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// ParseKey decodes a base64 key (standard or URL alphabet, padding
// optional) and checks its length.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) != KeySize {
				return nil, fmt.Errorf("sealed: key is %d bytes, want %d (generate one with `bridgebot keygen`)", len(b), KeySize)
			}
			return b, nil
		}
	}
	return nil, errors.New("sealed: key is not base64 (generate one with `bridgebot keygen`)")
}

// ParseKeys decodes a comma-separated list of base64 keys; blanks are
// skipped.
func ParseKeys(s string) ([][]byte, error) {
	var out [][]byte
	for i, part := range strings.Split(s, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		k, err := ParseKey(part)
		if err != nil {
			return nil, fmt.Errorf("key %d: %w", i+1, err)
		}
		out = append(out, k)
	}
	return out, nil
}

// Throwaway returns a ring with a random key that exists only in this
// process: for the console on an embedded Redis and for tests.
func Throwaway() *Keyring {
	k, _ := ParseKey(GenerateKey())
	r, err := NewKeyring(k)
	if err != nil {
		panic(err) // a fresh 32-byte key cannot be refused
	}
	return r
}

var (
	processOnce sync.Once
	processRing *Keyring
)

// Process returns a throwaway ring shared by everything in this process
// that was given no ring: values it seals cannot be read by any other
// process, ever. Packages use it when their Keyring option is nil (tests,
// and the console on an embedded Redis); `bridgebot run` always passes the
// configured ring.
func Process() *Keyring {
	processOnce.Do(func() { processRing = Throwaway() })
	return processRing
}
