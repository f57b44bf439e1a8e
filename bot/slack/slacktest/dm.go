package slacktest

import "strings"

// conversations.open: direct messages. (Registered here, in a file of its
// own, after api.go's init has built the method table: files' init
// functions run in file-name order.)
func init() { methods["conversations.open"] = method{fn: (*Server).apiConversationsOpen} }

// DMChannel is the ID of the direct-message channel between the bot and
// user, as conversations.open returns it.
func DMChannel(user string) string { return "D" + user }

// apiConversationsOpen opens (or finds) the bot's direct-message channel
// with one user; several users (a group DM) are refused, as the bot never
// needs one.
func (s *Server) apiConversationsOpen(c *call) (obj, *apiError) {
	users := c.get("users")
	if users == "" || strings.Contains(users, ",") {
		return nil, slackErr("invalid_users")
	}
	ch := s.channelLocked(DMChannel(users))
	ch.name = "dm-" + strings.ToLower(users)
	return obj{"channel": obj{"id": ch.id, "is_im": true, "user": users}}, nil
}
