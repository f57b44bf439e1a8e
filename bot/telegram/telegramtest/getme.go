package telegramtest

// handleGetMe answers with the bot's user, including the bot-only fields
// Telegram adds for getMe.
func (s *Server) handleGetMe(*call) (any, *apiError) {
	w := s.botWire()
	yes, no := true, false
	w.CanJoinGroups, w.CanReadAllGroupMessages, w.SupportsInlineQueries = &yes, &no, &no
	return w, nil
}
