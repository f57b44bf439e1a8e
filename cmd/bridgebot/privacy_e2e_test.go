package main

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"bridgebot/bot/sealed"
	"bridgebot/bot/slack/slacktest"
	"bridgebot/internal/testkit"
)

// redisOf connects to the env's Redis and returns its key prefix.
func (e *env) redisOf() (*redis.Client, string) {
	e.t.Helper()
	opt, err := redis.ParseURL(e.vars["REDIS_URL"])
	if err != nil {
		e.t.Fatal(err)
	}
	c := redis.NewClient(opt)
	e.t.Cleanup(func() { c.Close() })
	return c, or(e.vars["REDIS_PREFIX"], "bridgebot:")
}

// snapshot reads every key under prefix and everything in it (strings,
// hashes, lists, sets, sorted sets, streams), as "key → content" lines:
// what anyone holding a copy of Redis without the data key can read.
func snapshot(t *testing.T, c *redis.Client, prefix string) []string {
	t.Helper()
	return snapshotOpened(t, c, prefix, nil)
}

// snapshotOpened is snapshot with every sealed value (string, hash value,
// list item, set member, stream field) opened with ring, so a test can
// look inside them too; nil leaves them sealed.
func snapshotOpened(t *testing.T, c *redis.Client, prefix string, ring *sealed.Keyring) []string {
	t.Helper()
	open := func(v string) string {
		if ring == nil || !sealed.IsSealed([]byte(v)) {
			return v
		}
		p, err := ring.Open([]byte(v))
		if err != nil {
			return "<" + err.Error() + ">"
		}
		return string(p)
	}
	ctx := context.Background()
	keys, err := c.Keys(ctx, prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(keys)
	var out []string
	for _, k := range keys {
		typ, err := c.Type(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		each := func(vs []string) []string {
			for i, v := range vs {
				vs[i] = open(v)
			}
			return vs
		}
		var content string
		switch typ {
		case "string":
			content = open(c.Get(ctx, k).Val())
		case "hash":
			h := c.HGetAll(ctx, k).Val()
			for f, v := range h {
				h[f] = open(v)
			}
			content = fmt.Sprint(h)
		case "list":
			content = fmt.Sprint(each(c.LRange(ctx, k, 0, -1).Val()))
		case "set":
			content = fmt.Sprint(each(c.SMembers(ctx, k).Val()))
		case "zset":
			content = fmt.Sprint(c.ZRangeWithScores(ctx, k, 0, -1).Val())
		case "stream":
			msgs := c.XRange(ctx, k, "-", "+").Val()
			for _, m := range msgs {
				for f, v := range m.Values {
					if s, ok := v.(string); ok {
						m.Values[f] = open(s)
					}
				}
			}
			content = fmt.Sprint(msgs)
		}
		out = append(out, k+" ("+typ+") → "+content)
	}
	return out
}

// assertNoneOf fails for every word found in plain text in the snapshot.
func assertNoneOf(t *testing.T, snap []string, words ...string) {
	t.Helper()
	for _, line := range snap {
		for _, w := range words {
			if strings.Contains(strings.ToLower(line), strings.ToLower(w)) {
				t.Errorf("%q is readable in Redis: %.300q", w, line)
			}
		}
	}
}

// A Redis snapshot after a sign-up and questions to the team (queued
// while Slack is down, one given up as a dead letter, one answered) holds
// none of the member's answers or words in plain text, while the bot still
// reads them all (export, the desk).
func TestPrivacyNothingMemberTypedIsReadableInRedis(t *testing.T) {
	e, sl := newDeskEnv(t)
	e.startDesk(sl)
	rdb, prefix := e.redisOf()
	m := e.member(7101, "Xiomara", "es")
	m.u.Username = "xio_quetzal"
	words := []string{"Xiomara", "xio_quetzal", "Quetzalcoatl Ramírez", "Colectivo Zacatecas", "Tlaxcalancingo",
		"xiomara@ejemplo.org", "Semillas de maíz nativo", "traducción al mixteco", "segundo-mensaje-oculto", "archivado-mensaje-perdido"}

	m.do(testkit.Signup{Lang: "es", Name: "Quetzalcoatl Ramírez", Role: "Organizador/a", Organization: "Colectivo Zacatecas",
		Region: "Tlaxcalancingo", Areas: []string{"Migración"}, Email: "xiomara@ejemplo.org", Hopes: "Semillas de maíz nativo",
		Announcements: true}.Steps()...)
	sl.WaitMessage(t, signupsChannel, wait, func(msg slacktest.Message) bool { return strings.Contains(msg.AllText(), "Quetzalcoatl") })
	// The subscription record (language, role, areas, border) is sealed too.
	words = append(words, `"organizer"`, `"migration"`, `"areas"`, `"role"`)
	if rec := rdb.HGet(context.Background(), prefix+"subs:data", "7101").Val(); !sealed.IsSealed([]byte(rec)) {
		t.Errorf("subscription record not sealed: %q", rec)
	}

	// The question waits in the session while the member reads the answer.
	m.say("¿Habrá traducción al mixteco en las sesiones?", "¿Esto respondió tu pregunta?")
	assertNoneOf(t, snapshot(t, rdb, prefix), words...)

	// Slack is down: the question and a follow-up wait in the outbox.
	sl.SetDown(true)
	m.press("No, preguntar al equipo", "Enviado al equipo")
	m.tg.SendText(m.u, "segundo-mensaje-oculto")
	sl.WaitFor(t, wait, func() bool { return sl.Calls("chat.postMessage") >= 2 })
	assertNoneOf(t, snapshot(t, rdb, prefix), words...)

	// Slack is back; a follow-up Slack refuses for good becomes a dead letter.
	sl.SetDown(false)
	r := root(t, sl, "traducción al mixteco")
	inThread(t, sl, r.TS, "segundo-mensaje-oculto")
	sl.ErrorNext("chat.postMessage", 1, "msg_too_long")
	m.tg.SendText(m.u, "archivado-mensaje-perdido")
	testkit.Eventually(t, wait, "the dead letter", func() bool {
		n, _ := rdb.XLen(context.Background(), prefix+"outbox:slack:dead").Result()
		return n == 1
	})

	// Staff answer; the member gets it.
	n := e.tg.MessageCount(m.u.ID)
	ev, _ := sl.StaffReply(questionsChannel, r.TS, staffUser, "Sí, habrá intérprete.")
	sl.WaitAck(t, sl.SocketEvent(ev), wait)
	m.expect(n, "habrá intérprete")

	snap := snapshot(t, rdb, prefix)
	assertNoneOf(t, snap, words...)
	if t.Failed() {
		t.Logf("snapshot:\n%s", strings.Join(snap, "\n"))
	}

	// Telegram holds the member's replies (flood control): the summary of
	// their sign-up, which lists every answer, waits in the turn log.
	e.tg.FailNext("sendMessage", 1, 429, "Too Many Requests: retry after 120", 120)
	m.tg.SendText(m.u, "/inscribirme")
	// (the log may still hold an earlier turn whose removal is batched:
	// wait for this one's entries, opened)
	held := func() (opened []string) {
		for _, entry := range rdb.LRange(context.Background(), prefix+"turns:7101", 0, -1).Val() {
			// owner|entry ID|sealed entry (bot/redisstore/turns.go)
			parts := strings.SplitN(entry, "|", 3)
			if len(parts) == 3 {
				if p, err := e.ring().Open([]byte(parts[2])); err == nil {
					opened = append(opened, string(p))
				}
			}
		}
		return opened
	}
	testkit.Eventually(t, wait, "the held summary in the turn log", func() bool {
		return strings.Contains(strings.Join(held(), "\n"), "Quetzalcoatl Ramírez")
	})
	assertNoneOf(t, snapshot(t, rdb, prefix), words...)

	// The bot still reads it all: export decrypts with the same key file.
	out, errOut, err := e.cli("export", "signups", "--format", "json")
	if err != nil || !strings.Contains(out, "Quetzalcoatl Ramírez") || !strings.Contains(out, "xiomara@ejemplo.org") {
		t.Fatalf("export: %v\n%s\n%s", err, out, errOut)
	}
	// The key file was created private to the bot's user.
	if st, err := os.Stat(e.vars["BRIDGE_KEY_FILE"]); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, mode %v; want 0600", err, st.Mode().Perm())
	}
}

// Rotation: after the key changes (the old one listed as retired) the bot
// and export still read everything; `rekey` re-encrypts it under the new
// key, after which the old key is no longer needed; a value under a key
// that is not configured is reported by its key ID.
func TestPrivacyKeyRotationAndRekey(t *testing.T) {
	e := newEnv(t)
	oldKey, newKey := sealed.GenerateKey(), sealed.GenerateKey()
	e.vars["BRIDGE_DATA_KEY"] = oldKey
	stop := e.startReady()
	m := e.member(7102, "Lupe", "en")
	signup := testkit.Signup{Lang: "en", Name: "Guadalupe Ixchel", Role: "Organizer", Organization: "Red Ixchel", Region: "Mérida",
		Areas: []string{"Workers"}}.Steps()
	m.do(signup[:3]...) // up to the name
	stop()

	// Rotate: new current key, the old one retired.
	e.vars["BRIDGE_DATA_KEY"], e.vars["BRIDGE_DATA_KEYS_OLD"] = newKey, oldKey
	e.startReady()
	m.do(signup[3:]...) // the half-filled form, sealed under the old key, still reads

	rdb, prefix := e.redisOf()
	ctx := context.Background()
	// A sign-up written before the rotation, still under the old key.
	oldRaw, _ := sealed.ParseKey(oldKey)
	oldRing, _ := sealed.NewKeyring(oldRaw)
	if err := rdb.Set(ctx, prefix+"signup:424242", oldRing.Seal([]byte(`{"chat_id":424242,"lang":"en","answers":{"name":["Old Timer"]}}`)), 0).Err(); err != nil {
		t.Fatal(err)
	}
	rdb.ZAdd(ctx, prefix+"signups", redis.Z{Score: 1, Member: "424242"})
	// Subscriptions: one sealed under the old key, one stored in clear
	// before subscription records were sealed.
	rdb.ZAdd(ctx, prefix+"subs", redis.Z{Score: 515151, Member: "515151"}, redis.Z{Score: 525252, Member: "525252"})
	rdb.HSet(ctx, prefix+"subs:data",
		"515151", oldRing.SealString(`{"lang":"es","role":"organizer","areas":["labor"]}`), "515151:since", "1",
		"525252", `{"lang":"en","areas":["climate"],"border":"yes"}`, "525252:since", "2")
	out, errOut, err := e.cli("export", "signups", "--format", "csv")
	if err != nil || !strings.Contains(out, "Old Timer") || !strings.Contains(out, "Guadalupe Ixchel") {
		t.Fatalf("export with a retired key: %v\n%s%s", err, out, errOut)
	}

	out, errOut, err = e.cli("rekey")
	if err != nil {
		t.Fatalf("rekey: %v\n%s%s", err, out, errOut)
	}
	if !strings.Contains(out, "re-encrypted: ") || strings.Contains(out, "re-encrypted: 0\n") ||
		!strings.Contains(out, "sealed (stored before encryption): 1\n") {
		t.Fatalf("rekey report: %s", out)
	}
	// Both subscription records now open under the new key alone, and
	// their since fields are left as they were.
	newRaw, _ := sealed.ParseKey(newKey)
	newRing, _ := sealed.NewKeyring(newRaw)
	subs := rdb.HGetAll(ctx, prefix+"subs:data").Val()
	for field, want := range map[string]string{"515151": `"labor"`, "525252": `"climate"`} {
		plain, err := newRing.Open([]byte(subs[field]))
		if err != nil || !strings.Contains(string(plain), want) {
			t.Errorf("subscription %s after rekey: %q, %v", field, plain, err)
		}
	}
	if subs["515151:since"] != "1" || subs["525252:since"] != "2" {
		t.Errorf("since fields changed by rekey: %v", subs)
	}
	// Everything now opens under the new key alone.
	delete(e.vars, "BRIDGE_DATA_KEYS_OLD")
	out, errOut, err = e.cli("export", "signups", "--format", "csv")
	if err != nil || !strings.Contains(out, "Old Timer") {
		t.Fatalf("export after rekey without the old key: %v\n%s%s", err, out, errOut)
	}
	out, _, err = e.cli("rekey")
	if err != nil || !strings.Contains(out, "re-encrypted: 0\n") {
		t.Fatalf("second rekey: %v\n%s", err, out)
	}

	// A value under a key nobody configured: reported with its key ID.
	stray := sealed.GenerateKey()
	strayRaw, _ := sealed.ParseKey(stray)
	strayRing, _ := sealed.NewKeyring(strayRaw)
	rdb.Set(ctx, prefix+"signup:434343", strayRing.Seal([]byte(`{"chat_id":434343}`)), 0)
	rdb.ZAdd(ctx, prefix+"signups", redis.Z{Score: 2, Member: "434343"})
	out, _, err = e.cli("rekey")
	if err == nil || !strings.Contains(out, "needing key "+sealed.KeyID(strayRaw)) {
		t.Fatalf("rekey with a value under an unknown key: %v\n%s", err, out)
	}
	_, errOut, err = e.cli("export", "signups", "--format", "csv")
	if err == nil || !strings.Contains(err.Error(), sealed.KeyID(strayRaw)) {
		t.Fatalf("export of a value under an unknown key: %v\n%s", err, errOut)
	}
}

func TestKeygenPrintsAUsableKey(t *testing.T) {
	e := newEnv(t)
	out, _, err := e.cli("keygen")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sealed.ParseKey(out); err != nil {
		t.Fatalf("keygen printed %q: %v", out, err)
	}
}

// /wipe deletes the staff's replies too (text and file), not only the
// bot's own messages: they are the bot's messages in the chat, and the
// ones most likely to say what the member asked about.
func TestWipeDeletesStaffReplies(t *testing.T) {
	const chat = 7103
	e, sl, m, r := askedInThread(t, chat, "Amaru", "¿Me pueden ayudar con mi caso-sensible?", "caso-sensible", "y otro detalle")
	rdb, prefix := e.redisOf()

	ev, replyTS := sl.StaffReply(questionsChannel, r.TS, staffUser, "Respuesta-sensible del equipo")
	sl.WaitAck(t, sl.SocketEvent(ev), wait)
	fileEv, fileTS := sl.StaffFileShare(questionsChannel, r.TS, staffUser, "", "guia.pdf", []byte("%PDF-1.4 guia"))
	sl.WaitAck(t, sl.SocketEvent(fileEv), wait)
	// Both marked 📨: delivered and recorded.
	for _, ts := range []string{replyTS, fileTS} {
		sl.WaitFor(t, wait, func() bool { msg, _ := sl.Message(questionsChannel, ts); return msg.HasReaction("incoming_envelope") })
	}
	before := e.tg.Messages(chat)
	var staff int
	for _, msg := range before {
		if strings.Contains(msg.PlainText, "Respuesta-sensible") || msg.FileName == "guia.pdf" {
			staff++
		}
	}
	if staff != 2 {
		t.Fatalf("the staff's reply and file did not both reach the member: %d", staff)
	}
	// The record of sent IDs is written in batches: wait until it holds
	// every message so far.
	testkit.Eventually(t, wait, "every sent ID recorded", func() bool {
		n := 0
		for _, k := range rdb.Keys(context.Background(), prefix+"sent:*").Val() {
			n += int(rdb.ZCard(context.Background(), k).Val())
		}
		return n == len(before)
	})

	m.say("/limpiar", "Vaciar historial")
	for _, msg := range before {
		e.tg.WaitFor(t, wait, func() bool { got, _ := e.tg.Message(chat, msg.MessageID); return got.Deleted })
	}
}

// Consent sticks, end to end on the real subscription store: after /baja,
// confirming an unchanged review of the sign-up leaves the member
// unsubscribed, and the sign-up says "no" to announcements.
func TestConsentSticksAfterBaja(t *testing.T) {
	const chat = 7104
	e, m := readyMember(t, chat, "Tonatiuh")
	rdb, prefix := e.redisOf()
	signUp(m, "Tonatiuh Consentido", "Red Consentida", "Nogales", "tona@consentida.org", "Aprender")
	m.press("Confirmar", "Recibimos tu interés")
	subscribed := func() bool {
		return rdb.ZScore(context.Background(), prefix+"subs", "7104").Err() == nil
	}
	if !subscribed() {
		t.Fatal("the form's yes to announcements did not subscribe")
	}
	m.say("/baja", "ya no recibirás anuncios")
	m.say("/inscribirme", "Ya nos dijiste")
	m.press("Cambiar algo", "¿Qué respuesta quieres cambiar?")
	m.press("Atrás", "revisa tus respuestas")
	m.press("Confirmar", "no se cambió nada")
	if subscribed() {
		t.Fatal("confirming an unchanged review re-subscribed the member after /baja")
	}
	out, errOut, err := e.cli("export", "signups", "--format", "json")
	if err != nil {
		t.Fatalf("export: %v\n%s%s", err, out, errOut)
	}
	if !strings.Contains(out, `"announcements": "no"`) {
		t.Errorf("the sign-up does not say no to announcements after /baja:\n%s", out)
	}
}
