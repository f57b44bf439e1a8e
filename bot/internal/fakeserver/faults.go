package fakeserver

import "net/http"

// Faults queues injected failures of type F per method. It has no lock:
// the server guards it with its own.
type Faults[F any] struct {
	queues map[string][]F
}

// Add queues n failures f for method.
func (fs *Faults[F]) Add(method string, n int, f F) {
	if fs.queues == nil {
		fs.queues = map[string][]F{}
	}
	for range n {
		fs.queues[method] = append(fs.queues[method], f)
	}
}

// Take pops the next failure of the first of methods that has one.
func (fs *Faults[F]) Take(methods ...string) (F, bool) {
	for _, m := range methods {
		if q := fs.queues[m]; len(q) > 0 {
			fs.queues[m] = q[1:]
			return q[0], true
		}
	}
	var none F
	return none, false
}

// Clear drops every queued failure.
func (fs *Faults[F]) Clear() { fs.queues = nil }

// Outage is a service down behind its proxy: while down, requests get an
// HTML error page the client cannot decode. It has no lock: the server
// guards it with its own.
type Outage struct {
	Status int    // e.g. http.StatusBadGateway
	Page   []byte // the proxy's HTML page
	down   bool
}

// SetDown starts (true) or ends (false) the outage.
func (o *Outage) SetDown(down bool) { o.down = down }

// Down reports whether the service is down.
func (o *Outage) Down() bool { return o.down }

// WritePage answers with the outage's status and page.
func (o *Outage) WritePage(w http.ResponseWriter) {
	Write(w, o.Status, "text/html; charset=utf-8", o.Page)
}
