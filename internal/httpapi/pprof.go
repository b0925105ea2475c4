package httpapi

import (
	"net"
	"net/http"
	"net/http/pprof"
)

// profilerRoutes serves net/http/pprof under /debug/pprof/ (server.pprof). The routes need
// no credential, so they answer only requests from loopback addresses.
func profilerRoutes(m *Mux) {
	loopbackOnly := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !fromLoopback(r.RemoteAddr) {
				http.Error(w, "the profiler answers loopback addresses only", http.StatusForbidden)
				return
			}
			h.ServeHTTP(w, r)
		})
	}
	op := func(path, summary string) Op {
		return Op{Method: "GET", Path: path, Summary: summary, Tag: "system", Public: true,
			Responses: []Response{{Status: 200, Description: "The profile", Body: "", ContentType: "application/octet-stream"},
				{Status: 403, Description: "Not from a loopback address"}}}
	}
	m.HandleHTTP(op("/debug/pprof/", "Index of Go profiles (server.pprof; loopback only)"), loopbackOnly(http.HandlerFunc(pprof.Index)))
	m.HandleHTTP(op("/debug/pprof/profile", "CPU profile for ?seconds= (default 30)"), loopbackOnly(http.HandlerFunc(pprof.Profile)))
	m.HandleHTTP(op("/debug/pprof/trace", "Execution trace for ?seconds="), loopbackOnly(http.HandlerFunc(pprof.Trace)))
	m.HandleHTTP(op("/debug/pprof/cmdline", "The command line"), loopbackOnly(http.HandlerFunc(pprof.Cmdline)))
	m.HandleHTTP(op("/debug/pprof/symbol", "Symbol lookup"), loopbackOnly(http.HandlerFunc(pprof.Symbol)))
	for _, name := range []string{"heap", "goroutine", "allocs", "block", "mutex", "threadcreate"} {
		m.HandleHTTP(op("/debug/pprof/"+name, "The "+name+" profile"), loopbackOnly(pprof.Handler(name)))
	}
}

// fromLoopback reports whether a request's remote address is a loopback address.
func fromLoopback(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	ip := net.ParseIP(host)
	return err == nil && ip != nil && ip.IsLoopback()
}
