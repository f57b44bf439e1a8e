package bot

import "sync"

// langMemo remembers the language of the chats this process handled
// lately, for the one moment it cannot read a session: Redis is down, and
// the member must still be told so in the language they chose, not the one
// their app reports. It holds no more than 2×langMemoSize chats (two
// generations: a full one is dropped when the next fills), chat IDs and
// language codes only, in memory. An erasure handled here forgets the chat
// at once; one handled by another replica leaves it here until it ages
// out (never written anywhere, never logged).
type langMemo struct {
	mu        sync.Mutex
	cur, prev map[int64]string
}

const langMemoSize = 8192

func (m *langMemo) put(chatID int64, lang string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cur[chatID] == lang {
		return
	}
	if m.cur == nil || len(m.cur) >= langMemoSize {
		m.prev, m.cur = m.cur, make(map[int64]string, min(langMemoSize, 2*len(m.cur)+16))
	}
	m.cur[chatID] = lang
}

func (m *langMemo) get(chatID int64) (string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if l, ok := m.cur[chatID]; ok {
		return l, true
	}
	l, ok := m.prev[chatID]
	return l, ok
}

// forget drops an erased member's chat.
func (m *langMemo) forget(chatID int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.cur, chatID)
	delete(m.prev, chatID)
}
