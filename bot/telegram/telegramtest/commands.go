package telegramtest

import (
	"encoding/json"
	"regexp"
	"strconv"

	"bridgebot/bot/internal/fakeserver"
)

// BotCommand is one entry of the bot's command menu.
type BotCommand struct {
	Command     string `json:"command"`
	Description string `json:"description"`
}

var commandName = regexp.MustCompile(`^[a-z0-9_]{1,32}$`)

// scopeKey turns the scope parameter (a BotCommandScope JSON object) into
// the key Commands takes: "default", "all_private_chats", "all_group_chats",
// "all_chat_administrators", "chat:<id>", "chat_administrators:<id>" or
// "chat_member:<chat id>:<user id>". Chat scopes need a known chat.
func (s *Server) scopeKey(p *params) (string, *apiError) {
	raw, ok := p.get("scope")
	if !ok || raw == "" {
		return "default", nil
	}
	var scope struct {
		Type   string          `json:"type"`
		ChatID json.RawMessage `json:"chat_id"`
		UserID int64           `json:"user_id"`
	}
	if json.Unmarshal([]byte(raw), &scope) != nil {
		return "", badRequest("can't parse BotCommandScope JSON object")
	}
	switch scope.Type {
	case "default", "all_private_chats", "all_group_chats", "all_chat_administrators":
		return scope.Type, nil
	case "chat", "chat_administrators", "chat_member":
	default:
		return "", badRequest("unsupported bot command scope type")
	}
	var chatID int64
	if json.Unmarshal(scope.ChatID, &chatID) != nil || s.chats[chatID] == nil {
		return "", badRequest("chat not found")
	}
	key := scope.Type + ":" + strconv.FormatInt(chatID, 10)
	if scope.Type == "chat_member" {
		if scope.UserID <= 0 {
			return "", badRequest("invalid user_id specified")
		}
		key += ":" + strconv.FormatInt(scope.UserID, 10)
	}
	return key, nil
}

func commandKey(scope, lang string) string { return scope + "|" + lang }

func (s *Server) handleSetMyCommands(c *call) (any, *apiError) {
	raw, ok := c.p.get("commands")
	if !ok {
		return nil, badRequest(`parameter "commands" is required`)
	}
	var cmds []BotCommand
	if json.Unmarshal([]byte(raw), &cmds) != nil {
		return nil, badRequest("can't parse commands JSON object")
	}
	if len(cmds) > 100 {
		return nil, badRequest("BOT_COMMANDS_TOO_MUCH")
	}
	for _, cmd := range cmds {
		if !commandName.MatchString(cmd.Command) {
			return nil, badRequest("BOT_COMMAND_INVALID")
		}
		if n := utf16Len(cmd.Description); n < 1 || n > 256 {
			return nil, badRequest("BOT_COMMAND_DESCRIPTION_INVALID")
		}
	}
	scope, err := s.scopeKey(c.p)
	if err != nil {
		return nil, err
	}
	key := commandKey(scope, c.p.str("language_code"))
	if len(cmds) == 0 {
		delete(s.commands, key)
	} else {
		s.commands[key] = cmds
	}
	return true, nil
}

func (s *Server) handleGetMyCommands(c *call) (any, *apiError) {
	scope, err := s.scopeKey(c.p)
	if err != nil {
		return nil, err
	}
	cmds := s.commands[commandKey(scope, c.p.str("language_code"))]
	if cmds == nil {
		cmds = []BotCommand{}
	}
	return cmds, nil
}

func (s *Server) handleDeleteMyCommands(c *call) (any, *apiError) {
	scope, err := s.scopeKey(c.p)
	if err != nil {
		return nil, err
	}
	delete(s.commands, commandKey(scope, c.p.str("language_code")))
	return true, nil
}

// Commands returns the commands set for a scope key (see scopeKey: e.g.
// "default" or "chat:123") and language code ("" for all languages), nil if
// none. Like getMyCommands there is no fallback to broader scopes.
func (s *Server) Commands(scope, lang string) []BotCommand {
	return fakeserver.Locked(&s.mu, func() []BotCommand { return append([]BotCommand(nil), s.commands[commandKey(scope, lang)]...) })
}
