package simtest

import (
	"net/http"
	"strings"
	"sync"
)

// FailNth returns a handler in front of next that answers the nth request whose path ends
// with path with status, once: a vendor that fails in the middle of a multi-request action,
// which the injector (it fails the next requests, whatever they are) cannot aim at.
func FailNth(next http.Handler, path string, nth, status int) http.Handler {
	return &failNth{next: next, path: path, nth: nth, status: status}
}

type failNth struct {
	next   http.Handler
	path   string
	nth    int
	status int

	mu   sync.Mutex
	seen int
}

func (f *failNth) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	if strings.HasSuffix(r.URL.Path, f.path) {
		f.seen++
		if f.seen == f.nth {
			f.mu.Unlock()
			w.WriteHeader(f.status)
			return
		}
	}
	f.mu.Unlock()
	f.next.ServeHTTP(w, r)
}
