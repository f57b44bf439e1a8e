package telegramtest

import (
	"fmt"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
)

// Media kinds, named after the Bot API's fields and send methods.
const (
	kindPhoto    = "photo"
	kindDocument = "document"
	kindVoice    = "voice"
	kindAudio    = "audio"
	kindVideo    = "video"
	kindSticker  = "sticker"
)

// kindDefaults gives each kind Telegram's storage folder, extension and MIME
// type for files that come without a name.
var kindDefaults = map[string]struct{ dir, ext, mime string }{
	kindPhoto:    {"photos", ".jpg", "image/jpeg"},
	kindDocument: {"documents", ".bin", "application/octet-stream"},
	kindVoice:    {"voice", ".oga", "audio/ogg"},
	kindAudio:    {"music", ".mp3", "audio/mpeg"},
	kindVideo:    {"videos", ".mp4", "video/mp4"},
	kindSticker:  {"stickers", ".webp", "image/webp"},
}

// maxDownload is the Bot API's getFile size limit.
const maxDownload = 20 << 20

// storedFile is a file the server can serve through getFile and downloads.
type storedFile struct {
	id, uniqueID string
	kind         string
	name         string
	mime         string
	path         string
	data         []byte
	fromBot      bool
	downloads    int
}

// File describes a stored file, for assertions.
type File struct {
	FileID       string
	FileUniqueID string
	Kind         string // media kind it was sent as
	Name         string
	MimeType     string
	Path         string // file_path served by getFile
	Data         []byte // shared; do not modify
	FromBot      bool   // uploaded by the bot rather than sent by a member
	Downloads    int    // times fetched from the download route
}

// addFileLocked stores a new file and gives it ids and a path.
func (s *Server) addFileLocked(kind, name, mimeType string, data []byte, fromBot bool) *storedFile {
	n := len(s.fileList) + 1
	def := kindDefaults[kind]
	ext := path.Ext(name)
	if ext == "" {
		ext = def.ext
	}
	if mimeType == "" || mimeType == "application/octet-stream" {
		if t := mime.TypeByExtension(ext); t != "" {
			mimeType = t
		} else if mimeType == "" {
			mimeType = def.mime
		}
	}
	f := &storedFile{
		id:       fmt.Sprintf("%s-file-%d", kind, n),
		uniqueID: "uniq" + strconv.Itoa(n),
		kind:     kind,
		name:     name,
		mime:     mimeType,
		path:     fmt.Sprintf("%s/file_%d%s", def.dir, n, ext),
		data:     data,
		fromBot:  fromBot,
	}
	s.files[f.id] = f
	s.filePaths[f.path] = f
	s.fileList = append(s.fileList, f)
	return f
}

// inputFile resolves the file of a send method: an uploaded part, an
// attach://name reference, a file_id the server knows, or an HTTP URL.
// created reports whether a new file was stored.
func (s *Server) inputFile(p *params, kind string) (f *storedFile, created bool, err *apiError) {
	if up := p.files[kind]; up != nil {
		return s.addFileLocked(kind, up.filename, up.contentType, up.data, true), true, nil
	}
	v, ok := p.get(kind)
	if !ok || v == "" {
		return nil, false, badRequest("there is no " + kind + " in the request")
	}
	if name, ok := strings.CutPrefix(v, "attach://"); ok {
		up := p.files[name]
		if up == nil {
			return nil, false, badRequest("wrong file identifier/HTTP URL specified")
		}
		return s.addFileLocked(kind, up.filename, up.contentType, up.data, true), true, nil
	}
	if strings.HasPrefix(v, "http://") || strings.HasPrefix(v, "https://") {
		return s.addFileLocked(kind, path.Base(v), "", nil, true), true, nil
	}
	if f := s.files[v]; f != nil {
		return f, false, nil
	}
	return nil, false, badRequest("wrong file identifier/HTTP URL specified")
}

// mediaHandler implements sendPhoto, sendDocument and the like.
func mediaHandler(kind string) handler {
	return func(s *Server, c *call) (any, *apiError) {
		ch, cont, mk, err := s.outgoing(c.p, captionContent)
		if err != nil {
			return nil, err
		}
		if err := reachable(ch); err != nil {
			return nil, err // before storing an upload nobody will see
		}
		f, created, err := s.inputFile(c.p, kind)
		if err != nil {
			return nil, err
		}
		md := &media{kind: kind, file: f, performer: c.p.str("performer"), title: c.p.str("title")}
		d, _, _ := c.p.int("duration")
		md.duration = int(d)
		switch kind {
		case kindPhoto:
			md.width, md.height = 1280, 720
		case kindVideo:
			md.width, md.height = 1280, 720
		case kindSticker:
			md.width, md.height, md.emoji = 512, 512, c.p.str("emoji")
		}
		cont.media = md
		m, err := s.sendLocked(ch, c.p, cont, mk)
		if err != nil {
			if created {
				s.removeFileLocked(f) // a refused upload leaves nothing behind
			}
			return nil, err
		}
		return s.wireMessage(m), nil
	}
}

func (s *Server) removeFileLocked(f *storedFile) {
	delete(s.files, f.id)
	delete(s.filePaths, f.path)
	if n := len(s.fileList); n > 0 && s.fileList[n-1] == f {
		s.fileList = s.fileList[:n-1]
	}
}

func (s *Server) handleGetFile(c *call) (any, *apiError) {
	f := s.files[c.p.str("file_id")]
	if f == nil {
		return nil, badRequest("invalid file_id")
	}
	if len(f.data) > maxDownload {
		return nil, badRequest("file is too big")
	}
	return wireFileInfo{FileID: f.id, FileUniqueID: f.uniqueID, FileSize: len(f.data), FilePath: f.path}, nil
}

// serveFile is the download route GET /file/bot<token>/<file_path>.
func (s *Server) serveFile(w http.ResponseWriter, _ *http.Request, rest string) {
	token, filePath, _ := strings.Cut(rest, "/")
	s.mu.Lock()
	down := s.outage.Down()
	var data []byte
	f := s.filePaths[filePath]
	found := f != nil && token == s.cfg.token
	if found && !down {
		f.downloads++
		data = f.data
		s.changes.Notify()
	}
	s.mu.Unlock()

	switch {
	case down:
		s.outage.WritePage(w)
	case !found:
		writeError(w, &apiError{code: 404, desc: "Not Found"})
	default:
		w.Header().Set("Content-Type", f.mime)
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		_, _ = w.Write(data)
	}
}

// Files lists every stored file in creation order: member sends and bot
// uploads.
func (s *Server) Files() []File {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]File, 0, len(s.fileList))
	for _, f := range s.fileList {
		out = append(out, f.public())
	}
	return out
}

// FileByID returns a stored file by file_id.
func (s *Server) FileByID(fileID string) (File, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.files[fileID]
	if !ok {
		return File{}, false
	}
	return f.public(), true
}

func (f *storedFile) public() File {
	return File{
		FileID: f.id, FileUniqueID: f.uniqueID, Kind: f.kind, Name: f.name, MimeType: f.mime,
		Path: f.path, Data: f.data, FromBot: f.fromBot, Downloads: f.downloads,
	}
}
