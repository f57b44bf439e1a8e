package slacktest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
)

// Upload is a file the bot uploaded with the files.getUploadURLExternal →
// upload → files.completeUploadExternal flow.
type Upload struct {
	ID             string
	Name           string // filename given to files.getUploadURLExternal
	Title          string // title given to files.completeUploadExternal
	Length         int    // length declared to files.getUploadURLExternal
	Data           []byte // bytes posted to the upload URL
	Uploaded       bool   // bytes received
	Completed      bool   // files.completeUploadExternal done
	Channel        string // where it was shared ("" if not shared)
	ThreadTS       string // thread it was shared into
	InitialComment string
	MessageTS      string // ts of the message that shares it
}

type storedFile struct {
	id, name, title, mimetype, filetype string
	data                                []byte
	length                              int
	uploaded, completed, byBot          bool
	user                                string
	created                             int64
	channel, threadTS, comment, msgTS   string
}

func (f *storedFile) public() Upload {
	return Upload{
		ID: f.id, Name: f.name, Title: f.title, Length: f.length, Data: bytes.Clone(f.data),
		Uploaded: f.uploaded, Completed: f.completed, Channel: f.channel, ThreadTS: f.threadTS,
		InitialComment: f.comment, MessageTS: f.msgTS,
	}
}

// Uploads returns the bot's uploads, in the order they were started.
func (s *Server) Uploads() []Upload {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Upload
	for _, id := range s.fileOrder {
		if f := s.files[id]; f != nil && f.byBot {
			out = append(out, f.public())
		}
	}
	return out
}

// DeleteFile deletes a file, as staff can in Slack: its links answer 404
// and files.info file_not_found from now on.
func (s *Server) DeleteFile(fileID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.files, fileID)
	s.changes.Notify()
}

// FileData returns the bytes of any file the fake knows (the bot's uploads
// and staff file shares).
func (s *Server) FileData(fileID string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f := s.files[fileID]; f != nil {
		return bytes.Clone(f.data), true
	}
	return nil, false
}

func (s *Server) newFileLocked(name string, user string, byBot bool) *storedFile {
	f := &storedFile{
		id: s.nextIDLocked("F"), name: name, title: name, user: user, byBot: byBot, created: s.now().Unix(),
	}
	f.filetype = strings.TrimPrefix(strings.ToLower(path.Ext(name)), ".")
	f.mimetype = mime.TypeByExtension(path.Ext(name))
	if i := strings.IndexByte(f.mimetype, ';'); i >= 0 {
		f.mimetype = f.mimetype[:i]
	}
	if f.mimetype == "" {
		f.mimetype = "application/octet-stream"
	}
	if f.filetype == "" {
		f.filetype = "binary"
	}
	s.files[f.id] = f
	s.fileOrder = append(s.fileOrder, f.id)
	return f
}

func (s *Server) fileURL(f *storedFile, download bool) string {
	u := s.srv.URL + "/files-pri/" + s.cfg.teamID + "-" + f.id + "/"
	if download {
		u += "download/"
	}
	return u + url.PathEscape(f.name)
}

func (s *Server) fileJSON(f *storedFile) obj {
	o := obj{
		"id": f.id, "created": f.created, "timestamp": f.created, "name": f.name, "title": f.title,
		"mimetype": f.mimetype, "filetype": f.filetype, "pretty_type": strings.ToUpper(f.filetype),
		"user": f.user, "user_team": s.cfg.teamID, "editable": false, "size": len(f.data), "mode": "hosted",
		"is_external": false, "external_type": "", "is_public": true, "public_url_shared": false,
		"display_as_bot": false, "username": "", "file_access": "visible",
		"url_private": s.fileURL(f, false), "url_private_download": s.fileURL(f, true),
		"permalink":        "https://" + s.cfg.teamDomain + ".slack.com/files/" + f.user + "/" + f.id + "/" + url.PathEscape(f.name),
		"permalink_public": "https://slack-files.com/" + s.cfg.teamID + "-" + f.id,
	}
	if f.channel != "" {
		o["channels"] = []string{f.channel}
	}
	return o
}

func (s *Server) apiGetUploadURL(c *call) (obj, *apiError) {
	name := c.get("filename")
	length, err := strconv.Atoi(c.get("length"))
	if name == "" || err != nil || length <= 0 {
		return nil, slackErr("invalid_arguments")
	}
	f := s.newFileLocked(name, s.cfg.botUserID, true)
	f.length = length
	return obj{"upload_url": s.srv.URL + "/upload/" + f.id, "file_id": f.id}, nil
}

// serveUpload receives the bytes of an upload. slack-go posts them as a
// multipart form (field "file"); a raw body is accepted too.
func (s *Server) serveUpload(w http.ResponseWriter, r *http.Request, id string) {
	if r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	data, err := readUploadBody(r)
	if err != nil {
		http.Error(w, "bad upload: "+err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	f := s.files[id]
	down := s.outage.Down()
	ok := f != nil && f.byBot && !f.completed && !down
	if ok {
		f.data, f.uploaded = data, true
	}
	s.changes.Notify()
	s.mu.Unlock()
	switch {
	case down:
		s.outage.WritePage(w)
	case !ok:
		http.NotFound(w, r)
	default:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = fmt.Fprintf(w, "OK - %d", len(data))
	}
}

func readUploadBody(r *http.Request) ([]byte, error) {
	ctype, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ctype != "multipart/form-data" {
		return io.ReadAll(r.Body)
	}
	mr := multipart.NewReader(r.Body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return nil, fmt.Errorf("no file part")
		}
		if err != nil {
			return nil, err
		}
		if part.FileName() != "" || part.FormName() == "file" {
			return io.ReadAll(part)
		}
	}
}

func (s *Server) apiCompleteUpload(c *call) (obj, *apiError) {
	var refs []struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	}
	raw, _ := c.raw("files")
	if json.Unmarshal(raw, &refs) != nil || len(refs) == 0 {
		return nil, slackErr("invalid_arguments")
	}
	var files []*storedFile
	for _, ref := range refs {
		f := s.files[ref.ID]
		if f == nil || !f.byBot || !f.uploaded || f.completed {
			return nil, slackErr("file_not_found")
		}
		files = append(files, f)
	}
	chID := c.get("channel_id")
	if chID == "" {
		chID, _, _ = strings.Cut(c.get("channels"), ",")
	}
	var ch *channel
	if chID != "" {
		if ch = s.findChannelLocked(chID); ch == nil {
			return nil, slackErr("channel_not_found")
		}
	}
	var m *Message
	if ch != nil {
		m = &Message{User: s.cfg.botUserID, BotID: s.cfg.botID, FromBot: true, Text: c.get("initial_comment")}
		if m.Text == "" {
			if raw, ok := c.raw("blocks"); ok {
				if aerr := validateBlocks(extractBlocks(raw), 50); aerr != nil {
					return nil, aerr
				}
				m.Blocks = extractBlocks(raw)
				m.BlockSet = parseBlocks(m.Blocks)
			}
		}
		m.ThreadTS = s.threadRootLocked(ch, c.get("thread_ts"))
		m.Params = cleanParams(c.p)
	}
	out := make([]obj, 0, len(files))
	for i, f := range files {
		f.completed = true
		if refs[i].Title != "" {
			f.title = refs[i].Title
		}
		if ch != nil {
			f.channel, f.threadTS, f.comment = ch.id, m.ThreadTS, m.Text
			m.Files = append(m.Files, FileRef{ID: f.id, Name: f.name, Title: f.title})
		}
		out = append(out, obj{"id": f.id, "title": f.title})
	}
	if m != nil {
		s.addMessageLocked(ch, m)
		for _, f := range files {
			f.msgTS = m.TS
		}
	}
	return obj{"files": out}, nil
}

// extractBlocks accepts a blocks array, and also a {"blocks":[...]} object
// in case a client marshals a wrapper struct.
func extractBlocks(raw json.RawMessage) json.RawMessage {
	if inner := extractField(raw, "blocks"); inner != nil {
		return inner
	}
	return raw
}

func (s *Server) apiFilesInfo(c *call) (obj, *apiError) {
	f := s.files[c.get("file")]
	if f == nil || (f.byBot && !f.completed) {
		return nil, slackErr("file_not_found")
	}
	return obj{
		"file": s.fileJSON(f), "comments": []any{},
		"paging": obj{"count": 100, "total": 0, "page": 1, "pages": 0},
	}, nil
}

// serveFileDownload serves url_private(_download) links. Like files.slack.com
// it wants the bot token as a Bearer header; without it the request is
// redirected to the sign-in page (an HTML page answered with 200), which
// slack-go's GetFile recognises.
func (s *Server) serveFileDownload(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, "/files-pri/")
	teamFile, _, _ := strings.Cut(rest, "/")
	_, id, _ := strings.Cut(teamFile, "-")
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")

	s.mu.Lock()
	f := s.files[id]
	down := s.outage.Down()
	var data []byte
	var ctype string
	if f != nil {
		data, ctype = bytes.Clone(f.data), f.mimetype
	}
	authed := tok == s.cfg.botToken
	s.mu.Unlock()

	switch {
	case down:
		s.outage.WritePage(w)
	case !authed:
		http.Redirect(w, r, "/signin?redir="+url.QueryEscape(r.URL.Path), http.StatusFound)
	case f == nil:
		http.NotFound(w, r)
	default:
		w.Header().Set("Content-Type", ctype)
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		_, _ = w.Write(data)
	}
}
