package slacktest

import "strings"

// User is a workspace member known to the fake (users.info answers for it).
type User struct {
	ID          string
	Name        string // the legacy username, e.g. "ada"
	FirstName   string
	LastName    string
	RealName    string
	DisplayName string
	Email       string
	TZ          string // IANA zone, e.g. "Europe/Berlin" (default "Europe/London")
	TZOffset    int    // seconds east of UTC
	IsBot       bool
	IsAdmin     bool
	Deleted     bool
}

// AddUser adds a member. The username is the email's local part (or the
// lower-cased first name) and the display name the first name.
func (s *Server) AddUser(id, firstName, realName, email string) {
	name, _, _ := strings.Cut(email, "@")
	if name == "" {
		name = strings.ToLower(firstName)
	}
	last := strings.TrimSpace(strings.TrimPrefix(realName, firstName))
	s.PutUser(User{ID: id, Name: name, FirstName: firstName, LastName: last, RealName: realName, DisplayName: firstName, Email: email})
}

// PutUser adds or replaces a member with every field given.
func (s *Server) PutUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u.TZ == "" {
		u.TZ = "Europe/London"
	}
	s.users[u.ID] = &u
	s.changes.Notify()
}

func (s *Server) userName(id string) string {
	if u := s.users[id]; u != nil {
		return u.Name
	}
	return strings.ToLower(id)
}

func (s *Server) userJSON(u *User) obj {
	profile := obj{
		"first_name": u.FirstName, "last_name": u.LastName,
		"real_name": u.RealName, "real_name_normalized": u.RealName,
		"display_name": u.DisplayName, "display_name_normalized": u.DisplayName,
		"email": u.Email, "team": s.cfg.teamID, "status_text": "", "status_emoji": "",
		"image_72": "https://" + s.cfg.teamDomain + ".slack.com/avatars/" + u.ID + "_72.png",
	}
	if u.IsBot && u.ID == s.cfg.botUserID {
		profile["bot_id"] = s.cfg.botID
		profile["api_app_id"] = s.cfg.appID
	}
	return obj{
		"id": u.ID, "team_id": s.cfg.teamID, "name": u.Name, "deleted": u.Deleted,
		"color": "9f69e7", "real_name": u.RealName, "tz": u.TZ, "tz_label": u.TZ, "tz_offset": u.TZOffset,
		"profile": profile, "is_admin": u.IsAdmin, "is_owner": false, "is_primary_owner": false,
		"is_restricted": false, "is_ultra_restricted": false, "is_bot": u.IsBot, "is_app_user": false,
		"updated": 1700000000, "is_email_confirmed": u.Email != "",
	}
}

func (s *Server) apiUsersInfo(c *call) (obj, *apiError) {
	u := s.users[c.get("user")]
	if u == nil {
		return nil, slackErr("user_not_found")
	}
	return obj{"user": s.userJSON(u)}, nil
}

func (s *Server) apiUsersLookupByEmail(c *call) (obj, *apiError) {
	email := c.get("email")
	for _, u := range s.users {
		if email != "" && strings.EqualFold(u.Email, email) {
			return obj{"user": s.userJSON(u)}, nil
		}
	}
	return nil, slackErr("users_not_found")
}
