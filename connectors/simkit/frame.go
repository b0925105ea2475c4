package simkit

import "net/http"

// Frame is the plumbing a simulator's Server embeds: its fault injector, its request
// recorder and the handler that puts both in front of the vendor's API. Its methods
// become the simulator's, so every simulator offers tests the same Injector, Requests and
// ResetRequests.
type Frame struct {
	inj     *Injector
	rec     *Recorder
	handler http.Handler
}

// NewFrame returns a frame with no faults set and a recorder of the default size; the
// simulator's New sets it first (options may set faults) and calls Mount last.
func NewFrame() Frame {
	return Frame{inj: NewInjector(Faults{}), rec: NewRecorder(0)}
}

// Wrap returns api behind the frame's injector and recorder and the control endpoints
// (see the package function Wrap).
func (f *Frame) Wrap(api http.Handler, v Vendor, maxBody int64) http.Handler {
	return Wrap(api, v, f.inj, f.rec, maxBody)
}

// Mount sets the handler ServeHTTP serves: Wrap's answer, or a handler around it.
func (f *Frame) Mount(h http.Handler) { f.handler = h }

// ServeHTTP serves the vendor's API and the control endpoints, as mounted.
func (f *Frame) ServeHTTP(w http.ResponseWriter, r *http.Request) { f.handler.ServeHTTP(w, r) }

// Injector returns the fault injector.
func (f *Frame) Injector() *Injector { return f.inj }

// Requests returns the API requests served so far, oldest first.
func (f *Frame) Requests() []Request { return f.rec.Requests() }

// ResetRequests forgets the recorded requests.
func (f *Frame) ResetRequests() { f.rec.Reset() }
