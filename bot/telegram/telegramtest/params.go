package telegramtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// maxUpload bounds multipart bodies kept in memory; larger parts spill to
// temporary files, removed by cleanup.
const maxUpload = 64 << 20

// params are a request's parameters, merged from the query string and the
// body in any of the encodings Telegram accepts.
type params struct {
	values url.Values
	files  map[string]*upload
	form   *multipart.Form
}

// upload is one file part of a multipart request.
type upload struct {
	filename    string
	contentType string
	data        []byte
}

// parseParams reads the query string and a form-urlencoded, multipart or
// JSON body. The literal value "null" means absent: tgbotapi sends nil
// slices that way (entities=null).
func parseParams(r *http.Request) (*params, error) {
	p := &params{values: url.Values{}, files: map[string]*upload{}}
	merge := func(vs url.Values) {
		for k, v := range vs {
			p.values[k] = v
		}
	}
	merge(r.URL.Query())

	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var err error
	switch ct {
	case "application/x-www-form-urlencoded":
		var body []byte
		if body, err = io.ReadAll(r.Body); err == nil {
			var vs url.Values
			if vs, err = url.ParseQuery(string(body)); err == nil {
				merge(vs)
			}
		}
	case "multipart/form-data":
		if err = r.ParseMultipartForm(maxUpload); err == nil {
			p.form = r.MultipartForm
			merge(r.MultipartForm.Value)
			err = p.readFiles()
		}
	case "application/json":
		err = p.readJSON(r.Body)
	}
	for k, v := range p.values {
		if len(v) > 0 && v[len(v)-1] == "null" {
			delete(p.values, k)
		}
	}
	if err != nil {
		return p, errors.New("can't parse request: " + err.Error())
	}
	return p, nil
}

func (p *params) readFiles() error {
	for field, fhs := range p.form.File {
		if len(fhs) == 0 {
			continue
		}
		fh := fhs[0]
		f, err := fh.Open()
		if err != nil {
			return err
		}
		data, err := io.ReadAll(f)
		_ = f.Close()
		if err != nil {
			return err
		}
		p.files[field] = &upload{filename: fh.Filename, contentType: fh.Header.Get("Content-Type"), data: data}
	}
	return nil
}

// readJSON flattens a JSON object body the way Telegram does: strings are
// taken as is, everything else (numbers, booleans, objects) as JSON text.
func (p *params) readJSON(body io.Reader) error {
	var obj map[string]json.RawMessage
	if err := json.NewDecoder(body).Decode(&obj); err != nil {
		return err
	}
	for k, raw := range obj {
		raw = bytes.TrimSpace(raw)
		var s string
		if len(raw) > 0 && raw[0] == '"' && json.Unmarshal(raw, &s) == nil {
			p.values.Set(k, s)
			continue
		}
		p.values.Set(k, string(raw))
	}
	return nil
}

// cleanup removes temporary files of a multipart body.
func (p *params) cleanup() {
	if p.form != nil {
		_ = p.form.RemoveAll()
	}
}

// fileNames reports the uploaded files by field, for Request records.
func (p *params) fileNames() map[string]string {
	if len(p.files) == 0 {
		return nil
	}
	out := make(map[string]string, len(p.files))
	for field, u := range p.files {
		out[field] = u.filename
	}
	return out
}

// get returns a parameter; the last value wins, as in Telegram's parser.
func (p *params) get(key string) (string, bool) {
	v, ok := p.values[key]
	if !ok || len(v) == 0 {
		return "", false
	}
	return v[len(v)-1], true
}

func (p *params) str(key string) string {
	v, _ := p.get(key)
	return v
}

// bool reads a flag; tgbotapi only sends flags that are true.
func (p *params) bool(key string) bool {
	v, _ := p.get(key)
	return strings.EqualFold(v, "true") || v == "1"
}

// int reads an integer parameter; absent or empty gives ok == false.
func (p *params) int(key string) (n int64, ok bool, err error) {
	v, present := p.get(key)
	if !present || v == "" {
		return 0, false, nil
	}
	n, err = strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	return n, true, err
}

// clone copies the values for storing with a message.
func (p *params) clone() url.Values {
	out := make(url.Values, len(p.values))
	for k, v := range p.values {
		out[k] = append([]string(nil), v...)
	}
	return out
}
