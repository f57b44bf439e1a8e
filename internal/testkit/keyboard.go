package testkit

import (
	"fmt"
	"strings"

	"bridgebot/bot/telegram/telegramtest"
)

// Button finds the button whose label contains label on the newest of
// msgs that has a keyboard (what a member would tap), and returns that
// message's ID and the button's callback data.
func Button(msgs []telegramtest.Message, label string) (msgID int, data string, err error) {
	for i := len(msgs) - 1; i >= 0; i-- {
		if len(msgs[i].Buttons) == 0 {
			continue
		}
		for _, row := range msgs[i].Buttons {
			for _, b := range row {
				if strings.Contains(b.Text, label) {
					return msgs[i].MessageID, b.CallbackData, nil
				}
			}
		}
		return 0, "", fmt.Errorf("no button %q on the newest keyboard: %s", label, msgs[i].String())
	}
	return 0, "", fmt.Errorf("no button %q: no keyboard at all", label)
}

// Toggled reports whether msg shows the multi-select button labelled
// label as chosen (✅).
func Toggled(msg telegramtest.Message, label string) bool {
	for _, row := range msg.Buttons {
		for _, b := range row {
			if strings.Contains(b.Text, "✅ "+label) {
				return true
			}
		}
	}
	return false
}
