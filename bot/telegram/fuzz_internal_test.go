package telegram

import (
	"encoding/json"
	"log/slog"
	"reflect"
	"strings"
	"testing"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
)

// FuzzDecode feeds raw updates, as getUpdates or a webhook delivers them,
// to the decoder: it never panics, and what it accepts is well formed (a
// command in lower case without "/" or "@", a chat to answer).
func FuzzDecode(f *testing.F) {
	b := &Bot{log: slog.New(slog.DiscardHandler), username: "bridge_test_bot"}
	for _, s := range []string{
		`{"update_id":1,"message":{"message_id":1,"date":1,"chat":{"id":5,"type":"private"},"from":{"id":5,"first_name":"Ana","language_code":"es"},"text":"/start radio_juarez","entities":[{"type":"bot_command","offset":0,"length":6}]}}`,
		`{"update_id":2,"callback_query":{"id":"q","from":{"id":5,"first_name":"Ana"},"message":{"message_id":3,"date":1,"chat":{"id":5,"type":"private"}},"data":"f|p|yes"}}`,
		`{"update_id":3,"callback_query":{"id":"q","from":{"id":5,"first_name":"Ana"},"inline_message_id":"x","data":"m|s"}}`,
		`{"update_id":4,"my_chat_member":{"chat":{"id":5,"type":"private"},"from":{"id":5,"first_name":"Ana"},"date":1,"old_chat_member":{"user":{"id":9,"first_name":"b"},"status":"member"},"new_chat_member":{"user":{"id":9,"first_name":"b"},"status":"kicked"}}}`,
		`{"update_id":5,"message":{"message_id":1,"date":1,"chat":{"id":5,"type":"private"},"document":{"file_id":"F","file_name":"a.pdf","file_size":1234},"caption":"mira"}}`,
		`{"update_id":6,"edited_message":{"message_id":1,"date":1,"chat":{"id":-100,"type":"supergroup"},"text":"/Start@Bridge_Test_Bot x"}}`,
		`{"update_id":7,"message":{"message_id":1,"date":1,"chat":{"id":5,"type":"private"},"text":"😀 /start"}}`,
		`{"update_id":"8"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		_, u, ok := b.decode(raw)
		if !ok {
			return
		}
		if u.Command != "" && (u.Command != strings.ToLower(u.Command) || strings.ContainsAny(u.Command, "/@ ")) {
			t.Fatalf("command %q not normalized", u.Command)
		}
		if u.Callback != nil && u.ChatID == 0 && u.Callback.MessageID != 0 {
			t.Fatalf("callback on a message without a chat: %+v", u)
		}
	})
}

// FuzzWireUpdate: an update the library's Update decodes is decoded, and
// converted, the same through wireUpdate.
func FuzzWireUpdate(f *testing.F) {
	for _, s := range wireSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) { checkWireUpdate(t, raw) })
}

func TestWireUpdateConvertsAsTheLibrarysUpdate(t *testing.T) {
	for _, s := range wireSeeds {
		checkWireUpdate(t, []byte(s))
	}
}

var wireSeeds = []string{
	`{"update_id":1,"message":{"message_id":1,"date":1,"chat":{"id":5,"type":"private"},"from":{"id":5,"first_name":"Ana","language_code":"es"},"text":"/start radio_juarez","entities":[{"type":"bot_command","offset":0,"length":6}]}}`,
	`{"update_id":2,"callback_query":{"id":"q","from":{"id":5,"first_name":"Ana","username":"ana"},"message":{"message_id":3,"date":1,"chat":{"id":5,"type":"private"},"text":"Which?","reply_markup":{"inline_keyboard":[[{"text":"A","callback_data":"f|p|a"}]]}},"chat_instance":"1","data":"f|p|yes"}}`,
	`{"update_id":3,"callback_query":{"id":"q","from":{"id":5,"first_name":"Ana"},"inline_message_id":"x","data":"m|s"}}`,
	`{"update_id":4,"my_chat_member":{"chat":{"id":5,"type":"private"},"from":{"id":5,"first_name":"Ana"},"date":1,"old_chat_member":{"user":{"id":9,"first_name":"b"},"status":"member"},"new_chat_member":{"user":{"id":9,"first_name":"b"},"status":"kicked"}}}`,
	`{"update_id":5,"message":{"message_id":1,"date":1,"chat":{"id":5,"type":"private"},"document":{"file_id":"F","file_name":"a.pdf","mime_type":"application/pdf","file_size":1234},"caption":"mira"}}`,
	`{"update_id":6,"edited_message":{"message_id":1,"date":1,"chat":{"id":-100,"type":"supergroup"},"text":"/Start@Bridge_Test_Bot x"}}`,
	`{"update_id":7,"message":{"message_id":1,"date":1,"chat":{"id":5,"type":"private"},"photo":[{"file_id":"s","file_unique_id":"u","width":90,"height":90},{"file_id":"l","file_unique_id":"v","width":800,"height":800,"file_size":5000}]}}`,
	`{"update_id":8,"message":{"message_id":1,"date":1,"chat":{"id":5,"type":"private"},"voice":{"file_id":"v","file_unique_id":"u","duration":3,"mime_type":"audio/ogg"}}}`,
	`{"update_id":9,"message":{"message_id":1,"date":1,"chat":{"id":5,"type":"private"},"location":{"latitude":1.5,"longitude":2}}}`,
	`{"update_id":10,"channel_post":{"message_id":1,"date":1,"chat":{"id":-5,"type":"channel"},"text":"x"}}`,
	`{"update_id":"8"}`,
	`{"update_id":11,"message":{"message_id":"not a number"}}`,
}

func checkWireUpdate(t *testing.T, raw []byte) {
	t.Helper()
	var lib tgbotapi.Update
	if json.Unmarshal(raw, &lib) != nil {
		return
	}
	var w wireUpdate
	if err := json.Unmarshal(raw, &w); err != nil {
		t.Fatalf("%s: the library's Update decodes it, wireUpdate: %v", raw, err)
	}
	want, wantOK := Convert(lib, "bridge_test_bot")
	got, gotOK := Convert(w.update(), "bridge_test_bot")
	if gotOK != wantOK || !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got %+v %v\nwant %+v %v", raw, got, gotOK, want, wantOK)
	}
}
