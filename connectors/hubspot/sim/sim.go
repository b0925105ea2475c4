package sim

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aquascene/aquahub/connectors/simkit"
)

// Defaults of the simulator, as `aquahub sim hubspot` and `aquahub dev` use them.
const (
	// DefaultKey is the private-app access token the simulator accepts unless WithKey says
	// otherwise.
	DefaultKey = "pat-na1-aquahub-dev-simulator"
	// DefaultAddr is where `aquahub sim hubspot` listens unless --addr says otherwise.
	DefaultAddr = "127.0.0.1:8792"
	// DefaultHubID is the account (portal) id; custom event names are pe{HubID}_{name}.
	DefaultHubID = 24681357
	// DefaultTenSecondly is the private-app burst limit of Free and Starter accounts:
	// requests per rolling ten seconds.
	DefaultTenSecondly = 100
	// DefaultDaily is the private-app daily limit of Free and Starter accounts.
	DefaultDaily = 250000
	// DefaultSearchPerSecond is the CRM search limit per account.
	DefaultSearchPerSecond = 5
	// MaxBatchInputs is the largest batch a batch endpoint accepts.
	MaxBatchInputs = 100
	// MaxSearchLimit is the largest page a search returns.
	MaxSearchLimit = 200
	// MaxSearchResults is how far search paging reaches (after + limit).
	MaxSearchResults = 10000
	maxBody          = 4 << 20
)

// Option configures a Server.
type Option func(*Server)

// WithKey sets the access token accepted as "Authorization: Bearer <token>" (default
// DefaultKey).
func WithKey(key string) Option { return func(s *Server) { s.key = key } }

// WithClock sets the clock (default time.Now).
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// WithFaults sets the injected faults (default none).
func WithFaults(f simkit.Faults) Option { return func(s *Server) { s.Injector().Set(f) } }

// WithHubID sets the account id (default DefaultHubID).
func WithHubID(id int) Option { return func(s *Server) { s.hubID = id } }

// WithTimeZone sets the account's time zone, where the daily limit resets at midnight
// (default UTC).
func WithTimeZone(loc *time.Location) Option { return func(s *Server) { s.loc = loc } }

// WithRateLimits sets the requests allowed per rolling ten seconds (policy
// TEN_SECONDLY_ROLLING), per account day (DAILY) and search requests per second
// (SECONDLY). Zero turns that policy off. Defaults: DefaultTenSecondly, DefaultDaily,
// DefaultSearchPerSecond.
func WithRateLimits(tenSecondly, daily, searchPerSecond int) Option {
	return func(s *Server) { s.tenSecondly, s.daily, s.searchPerSecond = tenSecondly, daily, searchPerSecond }
}

// WithoutSeed starts with no contacts, companies or deals (default: three AquaScene
// subscribers and the Green Aqua company).
func WithoutSeed() Option { return func(s *Server) { s.seed = false } }

// WithProperty adds a property definition to an object type ("contacts", "companies",
// "deals"), as a portal admin creates custom properties.
func WithProperty(objectType string, p Property) Option {
	return func(s *Server) { s.extraProps = append(s.extraProps, typedProperty{objectType, p}) }
}

// WithEventDefinition adds a custom behavioral event definition.
func WithEventDefinition(d EventDefinition) Option {
	return func(s *Server) { s.extraEvents = append(s.extraEvents, d) }
}

type typedProperty struct {
	objectType string
	p          Property
}

// Server simulates the parts of HubSpot's API that aquahub uses, for one private app in one
// account. It is an http.Handler, safe for concurrent use; all state is in memory.
type Server struct {
	simkit.Frame

	key             string
	now             func() time.Time
	hubID           int
	loc             *time.Location
	tenSecondly     int
	daily           int
	searchPerSecond int
	seed            bool
	extraProps      []typedProperty
	extraEvents     []EventDefinition

	mu           sync.Mutex
	types        map[string]*objectType
	nextID       int64
	events       map[string]*eventDefinition // by fully qualified name
	occurrences  []Occurrence
	assocs       map[assocKey][]AssociationType
	recent       []time.Time // requests in the ten-second window
	searchRecent []time.Time
	dayStart     time.Time
	dayCount     int
}

// New returns a simulator configured by opts.
func New(opts ...Option) *Server {
	s := &Server{
		key: DefaultKey, now: time.Now, hubID: DefaultHubID, loc: time.UTC,
		tenSecondly: DefaultTenSecondly, daily: DefaultDaily, searchPerSecond: DefaultSearchPerSecond, seed: true,
		Frame:  simkit.NewFrame(),
		nextID: 1001, events: map[string]*eventDefinition{}, assocs: map[assocKey][]AssociationType{},
	}
	for _, o := range opts {
		o(s)
	}
	s.types = defaultTypes()
	for _, tp := range s.extraProps {
		if t := s.types[tp.objectType]; t != nil {
			t.defs[tp.p.Name] = tp.p
		}
	}
	for _, d := range append(DefaultEventDefinitions(), s.extraEvents...) {
		s.defineEvent(d)
	}
	if s.seed {
		s.seedSamples()
	}
	s.Mount(s.Wrap(http.HandlerFunc(s.serveAPI), s, maxBody))
	return s
}

// HubID returns the account id.
func (s *Server) HubID() int { return s.hubID }

// Authorized reports whether r carries the access token as a Bearer credential.
func (s *Server) Authorized(r *http.Request) bool { return simkit.BearerToken(r) == s.key }

// apiError is HubSpot's error body. Rate-limit answers add errorType, policyName and
// requestId.
type apiError struct {
	Status        string              `json:"status"`
	Message       string              `json:"message"`
	CorrelationID string              `json:"correlationId"`
	Category      string              `json:"category"`
	SubCategory   string              `json:"subCategory,omitempty"`
	Errors        []errorDetail       `json:"errors,omitempty"`
	Context       map[string][]string `json:"context,omitempty"`
	Links         map[string]string   `json:"links,omitempty"`
	ErrorType     string              `json:"errorType,omitempty"`
	PolicyName    string              `json:"policyName,omitempty"`
	RequestID     string              `json:"requestId,omitempty"`
}

// errorDetail is one entry of an error's errors array.
type errorDetail struct {
	Message     string              `json:"message"`
	Code        string              `json:"code,omitempty"`
	In          string              `json:"in,omitempty"`
	SubCategory string              `json:"subCategory,omitempty"`
	Context     map[string][]string `json:"context,omitempty"`
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func writeError(w http.ResponseWriter, status int, e apiError) {
	e.Status = "error"
	if e.CorrelationID == "" {
		e.CorrelationID = newUUID()
	}
	simkit.WriteJSON(w, status, e)
}

func validationError(w http.ResponseWriter, msg string, details ...errorDetail) {
	writeError(w, http.StatusBadRequest, apiError{Message: msg, Category: "VALIDATION_ERROR", Errors: details})
}

func notFound(w http.ResponseWriter, id string) {
	writeError(w, http.StatusNotFound, apiError{Message: "Object not found.  objectId are usually numeric.",
		Category: "OBJECT_NOT_FOUND", Context: map[string][]string{"id": {id}}})
}

func noRoute(w http.ResponseWriter, r *http.Request) {
	writeError(w, http.StatusNotFound, apiError{Message: fmt.Sprintf("Unable to route %s %s", r.Method, r.URL.Path),
		Category: "OBJECT_NOT_FOUND"})
}

// WriteFault writes HubSpot's body for an injected status. An injected 429 is the
// ten-secondly policy, the one clients see most.
func (s *Server) WriteFault(w http.ResponseWriter, r *http.Request, status int) {
	switch {
	case status == http.StatusUnauthorized:
		msg := "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
		if r.Header.Get("Authorization") != "" {
			msg = "The access token provided is invalid or expired. Check that the private app's access token is current."
		}
		writeError(w, status, apiError{Message: msg, Category: "INVALID_AUTHENTICATION"})
	case status == http.StatusTooManyRequests:
		s.writeRateLimited(w, policyTenSecondly)
	case status >= 500:
		writeError(w, status, apiError{Message: "internal error", Category: "INTERNAL_ERROR"})
	default:
		writeError(w, status, apiError{Message: http.StatusText(status), Category: "VALIDATION_ERROR"})
	}
}

// Rate-limit policies, as HubSpot names them in 429 bodies.
const (
	policyTenSecondly = "TEN_SECONDLY_ROLLING"
	policySecondly    = "SECONDLY"
	policyDaily       = "DAILY"
)

func (s *Server) writeRateLimited(w http.ResponseWriter, policy string) {
	msg := "You have reached your ten_secondly_rolling limit."
	switch policy {
	case policySecondly:
		msg = "You have reached your secondly limit."
	case policyDaily:
		msg = "You have reached your daily limit."
	}
	if policy != policySecondly {
		s.limitHeaders(w)
		if policy == policyTenSecondly {
			w.Header().Set("X-HubSpot-RateLimit-Remaining", "0")
		}
	}
	writeError(w, http.StatusTooManyRequests, apiError{Message: msg, Category: "RATE_LIMITS", ErrorType: "RATE_LIMIT",
		PolicyName: policy, RequestID: newUUID()})
}

// limitHeaders writes the X-HubSpot-RateLimit-* headers of private-app calls.
func (s *Server) limitHeaders(w http.ResponseWriter) {
	s.mu.Lock()
	tenLeft := s.tenSecondly - len(s.recent)
	dayLeft := s.daily - s.dayCount
	s.mu.Unlock()
	h := w.Header()
	if s.daily > 0 {
		h.Set("X-HubSpot-RateLimit-Daily", strconv.Itoa(s.daily))
		h.Set("X-HubSpot-RateLimit-Daily-Remaining", strconv.Itoa(max(dayLeft, 0)))
	}
	if s.tenSecondly > 0 {
		h.Set("X-HubSpot-RateLimit-Interval-Milliseconds", "10000")
		h.Set("X-HubSpot-RateLimit-Max", strconv.Itoa(s.tenSecondly))
		h.Set("X-HubSpot-RateLimit-Remaining", strconv.Itoa(max(tenLeft, 0)))
	}
}

// admit applies the rate-limit policies to one request and returns the policy it broke,
// or "". Custom event sends are exempt from the daily and ten-secondly limits; search has
// its own per-second limit instead of the ten-secondly one.
func (s *Server) admit(search, exempt bool) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if exempt {
		return ""
	}
	if s.daily > 0 {
		y, m, d := now.In(s.loc).Date()
		start := time.Date(y, m, d, 0, 0, 0, 0, s.loc)
		if !start.Equal(s.dayStart) {
			s.dayStart, s.dayCount = start, 0
		}
		if s.dayCount >= s.daily {
			return policyDaily
		}
	}
	if search {
		if s.searchPerSecond > 0 {
			s.searchRecent = window(s.searchRecent, now, time.Second)
			if len(s.searchRecent) >= s.searchPerSecond {
				return policySecondly
			}
			s.searchRecent = append(s.searchRecent, now)
		}
	} else if s.tenSecondly > 0 {
		s.recent = window(s.recent, now, 10*time.Second)
		if len(s.recent) >= s.tenSecondly {
			return policyTenSecondly
		}
		s.recent = append(s.recent, now)
	}
	s.dayCount++
	return ""
}

// window drops the times older than d before now.
func window(ts []time.Time, now time.Time, d time.Duration) []time.Time {
	cut := now.Add(-d)
	keep := ts[:0]
	for _, t := range ts {
		if t.After(cut) {
			keep = append(keep, t)
		}
	}
	return keep
}

// DailyReset returns when the daily limit resets: the next midnight in the account's time
// zone after now.
func (s *Server) DailyReset(now time.Time) time.Time {
	y, m, d := now.In(s.loc).Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, s.loc)
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, simkit.ControlPrefix) {
		s.serveControl(w, r)
		return
	}
	if !s.Authorized(r) {
		s.WriteFault(w, r, http.StatusUnauthorized)
		return
	}
	path := strings.TrimSuffix(r.URL.Path, "/")
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
	search := len(segs) == 5 && segs[0] == "crm" && segs[4] == "search"
	exempt := len(segs) >= 3 && segs[0] == "events" && segs[2] == "send"
	if policy := s.admit(search, exempt); policy != "" {
		s.writeRateLimited(w, policy)
		return
	}
	if !search && !exempt {
		s.limitHeaders(w)
	}
	if r.ContentLength != 0 && (r.Method == http.MethodPost || r.Method == http.MethodPatch || r.Method == http.MethodPut) {
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			writeError(w, http.StatusUnsupportedMediaType, apiError{
				Message: fmt.Sprintf("Content type '%s' not supported", ct), Category: "VALIDATION_ERROR"})
			return
		}
	}
	switch {
	case len(segs) >= 4 && segs[0] == "crm" && segs[1] == "v3" && segs[2] == "objects":
		s.serveObjects(w, r, segs[3:])
	case len(segs) >= 4 && segs[0] == "crm" && segs[1] == "v4" && segs[2] == "objects":
		s.serveAssociations(w, r, segs[3:])
	case len(segs) >= 3 && segs[0] == "events" && segs[1] == "v3":
		s.serveEvents(w, r, segs[2:])
	default:
		noRoute(w, r)
	}
}

// decodeBody decodes a JSON body into v, answering HubSpot's 400 when it is not JSON of
// the right shape.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		validationError(w, "Invalid input JSON on line 1, column 1: "+err.Error())
		return false
	}
	return true
}

// serveControl serves the HubSpot-specific control endpoints:
//
//	GET /_sim/objects/{type}   every record of contacts, companies or deals, archived included
//	GET /_sim/events           custom event occurrences received
func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, simkit.ControlPrefix)
	if !s.Authorized(r) {
		s.WriteFault(w, r, http.StatusUnauthorized)
		return
	}
	if r.Method != http.MethodGet {
		writeError(w, http.StatusMethodNotAllowed, apiError{Message: "method not allowed", Category: "VALIDATION_ERROR"})
		return
	}
	switch {
	case rest == "events":
		simkit.WriteJSON(w, http.StatusOK, s.Occurrences())
	case strings.HasPrefix(rest, "objects/"):
		objs, ok := s.Objects(strings.TrimPrefix(rest, "objects/"))
		if !ok {
			noRoute(w, r)
			return
		}
		simkit.WriteJSON(w, http.StatusOK, objs)
	default:
		noRoute(w, r)
	}
}
