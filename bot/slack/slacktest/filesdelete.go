package slacktest

// apiFilesDelete is files.delete: the bot may delete the files it
// uploaded. As in Slack, the message that shared the file (with its
// initial comment) goes with it; its links answer 404 and files.info
// file_not_found from then on.
func (s *Server) apiFilesDelete(c *call) (obj, *apiError) {
	f := s.files[c.get("file")]
	if f == nil {
		return nil, slackErr("file_not_found")
	}
	if !f.byBot {
		return nil, slackErr("cant_delete_file")
	}
	if ch := s.channel[f.channel]; ch != nil && f.msgTS != "" {
		if m := ch.byTS[f.msgTS]; m != nil {
			m.Deleted = true
		}
	}
	delete(s.files, f.id)
	s.deletedFiles = append(s.deletedFiles, f.id)
	return obj{}, nil
}

// DeletedFiles lists the files the bot deleted with files.delete, in order.
func (s *Server) DeletedFiles() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.deletedFiles...)
}
