package sim

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aquascene/aquahub/connectors/simkit"
)

// Defaults of the simulator, as `aquahub sim instagram` and `aquahub dev` use them.
const (
	// DefaultKey is the access token the simulator accepts unless WithKey says otherwise.
	DefaultKey = "IGQAquahubDevSimulatorToken"
	// DefaultAddr is where `aquahub sim instagram` listens unless --addr says otherwise.
	DefaultAddr = "127.0.0.1:8784"
	// DefaultUser is the Instagram professional account (IG user id) the token belongs to.
	DefaultUser = "17841400000000001"
	// DefaultUsername is DefaultUser's handle.
	DefaultUsername = "aquascene"
	// APIVersion is the Graph API version the simulator reports in facebook-api-version.
	APIVersion = "v25.0"
	// QuotaTotal is the number of posts an account may publish through the API in
	// QuotaDuration.
	QuotaTotal = 50
	// QuotaDuration is the rolling window of the publishing limit.
	QuotaDuration = 24 * time.Hour
	// ContainerTTL is how long an unpublished container stays usable before it is EXPIRED.
	ContainerTTL = 24 * time.Hour
	// MaxCaption, MaxHashtags and MaxMentions are Instagram's caption limits.
	MaxCaption, MaxHashtags, MaxMentions = 2200, 30, 20
	// MaxCarouselItems is the largest number of children a carousel container takes.
	MaxCarouselItems = 10
)

// Option configures a Server.
type Option func(*Server)

// WithKey sets the one access token accepted (default DefaultKey), which belongs to
// DefaultUser.
func WithKey(key string) Option { return func(s *Server) { s.key = key } }

// WithClock sets the clock (default time.Now).
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// WithFaults sets the injected faults (default none).
func WithFaults(f simkit.Faults) Option { return func(s *Server) { s.inj.Set(f) } }

// WithProcessingPolls sets how many status reads a new container answers IN_PROGRESS before
// it is FINISHED (default 1; 0 makes containers FINISHED at once).
func WithProcessingPolls(n int) Option { return func(s *Server) { s.polls = n } }

// WithCallLimit limits API calls per Instagram user to n per hour (default 0, off); over it
// the simulator answers Graph's business-use-case throttling error (code 80002) with
// X-Business-Use-Case-Usage saying when access returns.
func WithCallLimit(n int) Option { return func(s *Server) { s.callLimit = n } }

// Server simulates the Instagram Graph API for one access token and its account. It is an
// http.Handler, safe for concurrent use; all state is in memory.
type Server struct {
	key       string
	user      string
	now       func() time.Time
	inj       *simkit.Injector
	rec       *simkit.Recorder
	polls     int
	callLimit int
	handler   http.Handler

	mu         sync.Mutex
	seq        int64
	containers map[string]*Container
	media      map[string]*Media
	order      []string // media ids, oldest first
	publishes  map[string][]time.Time
	calls      map[string][]time.Time
}

// New returns a simulator configured by opts.
func New(opts ...Option) *Server {
	s := &Server{
		key: DefaultKey, user: DefaultUser, now: time.Now, polls: 1,
		inj: simkit.NewInjector(simkit.Faults{}), rec: simkit.NewRecorder(0),
		containers: map[string]*Container{}, media: map[string]*Media{},
		publishes: map[string][]time.Time{}, calls: map[string][]time.Time{},
	}
	for _, o := range opts {
		o(s)
	}
	s.handler = simkit.Wrap(http.HandlerFunc(s.serveAPI), s, s.inj, s.rec, 8<<20)
	return s
}

// ServeHTTP serves the Graph API and the /_sim/ control endpoints.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Injector returns the fault injector.
func (s *Server) Injector() *simkit.Injector { return s.inj }

// Requests returns the API requests served so far, oldest first.
func (s *Server) Requests() []simkit.Request { return s.rec.Requests() }

// token returns the access token of r: the access_token parameter (query or form body, as
// Meta's SDKs send it) or an "Authorization: Bearer|OAuth" header.
func token(r *http.Request) string {
	if t := r.URL.Query().Get("access_token"); t != "" {
		return t
	}
	if r.Method == http.MethodPost {
		if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "application/x-www-form-urlencoded" || ct == "multipart/form-data" {
			_ = r.ParseMultipartForm(1 << 20)
			if t := r.PostForm.Get("access_token"); t != "" {
				return t
			}
		}
	}
	if t := simkit.BearerToken(r); t != "" {
		return t
	}
	if h := r.Header.Get("Authorization"); len(h) > 6 && strings.EqualFold(h[:6], "oauth ") {
		return strings.TrimSpace(h[6:])
	}
	return ""
}

// Authorized reports whether r carries the access token.
func (s *Server) Authorized(r *http.Request) bool { return token(r) == s.key }

// GraphError is the "error" object of a Graph API error body.
type GraphError struct {
	Message      string `json:"message"`
	Type         string `json:"type"`
	Code         int    `json:"code"`
	Subcode      int    `json:"error_subcode,omitempty"`
	IsTransient  bool   `json:"is_transient"`
	UserTitle    string `json:"error_user_title,omitempty"`
	UserMsg      string `json:"error_user_msg,omitempty"`
	FBTraceID    string `json:"fbtrace_id"`
	httpStatus   int
	regainAccess int // minutes, for throttling errors
}

func (s *Server) traceID() string {
	s.mu.Lock()
	s.seq++
	n := s.seq
	s.mu.Unlock()
	return fmt.Sprintf("A%010dSimTrace", n)
}

// writeError writes Graph's error body; the status defaults to 400, as Graph answers most
// errors.
func (s *Server) writeError(w http.ResponseWriter, e GraphError) {
	if e.Type == "" {
		e.Type = "OAuthException"
	}
	e.FBTraceID = s.traceID()
	status := e.httpStatus
	if status == 0 {
		status = http.StatusBadRequest
	}
	w.Header().Set("WWW-Authenticate", `OAuth "Facebook Platform" "`+wwwAuthError(e.Code)+`" "`+e.Message+`"`)
	simkit.WriteJSONType(w, status, "application/json; charset=UTF-8", map[string]any{"error": e})
}

func wwwAuthError(code int) string {
	if code == 190 || code == 104 {
		return "invalid_token"
	}
	return "invalid_request"
}

func invalidParam(msg string) GraphError {
	return GraphError{Message: "(#100) " + msg, Code: 100}
}

func unsupported(id string) GraphError {
	return GraphError{Code: 100, Subcode: 33, Message: fmt.Sprintf("Unsupported get request. Object with ID '%s' does not exist, cannot be loaded due to missing permissions, or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api", id)}
}

// WriteFault writes Graph's answer for an injected status: a 429 becomes the application
// throttling error (code 4, HTTP 400 as Graph sends it, X-App-Usage at 100%), a 401 the
// invalid-token error, a 5xx Graph's transient unknown error.
func (s *Server) WriteFault(w http.ResponseWriter, r *http.Request, status int) {
	switch {
	case status == http.StatusTooManyRequests:
		w.Header().Set("X-App-Usage", `{"call_count":100,"total_cputime":34,"total_time":41}`)
		s.writeError(w, GraphError{Code: 4, IsTransient: true, Message: "(#4) Application request limit reached"})
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		if token(r) == "" {
			s.writeError(w, GraphError{Code: 104, Message: "An access token is required to request this resource."})
			return
		}
		s.writeError(w, GraphError{Code: 190, Message: "Invalid OAuth access token - Cannot parse access token"})
	case status >= 500:
		s.writeError(w, GraphError{Code: 2, IsTransient: true, httpStatus: status, Message: "An unexpected error has occurred. Please retry your request later."})
	default:
		s.writeError(w, GraphError{Code: 1, httpStatus: status, Message: "An unknown error has occurred."})
	}
}

// usage records a call by user and sets the usage headers; it reports false (having
// written the throttling error) when the call limit is exhausted.
func (s *Server) usage(w http.ResponseWriter, user string) bool {
	now := s.now()
	s.mu.Lock()
	calls := s.calls[user][:0]
	for _, t := range s.calls[user] {
		if now.Sub(t) < time.Hour {
			calls = append(calls, t)
		}
	}
	limit := s.callLimit
	over := limit > 0 && len(calls) >= limit
	if !over {
		calls = append(calls, now)
	}
	s.calls[user] = calls
	pct, regain := 0, 0
	if limit > 0 {
		pct = min(100, len(calls)*100/limit)
		if over && len(calls) > 0 {
			regain = int(calls[0].Add(time.Hour).Sub(now).Minutes()) + 1
		}
	} else {
		pct = min(100, len(calls)/48) // 4,800 calls an hour, Meta's lower bound per account
	}
	s.mu.Unlock()
	w.Header().Set("X-App-Usage", fmt.Sprintf(`{"call_count":%d,"total_cputime":%d,"total_time":%d}`, pct, pct/2, pct/2))
	buc, _ := json.Marshal(map[string]any{user: []map[string]any{{
		"type": "instagram", "call_count": pct, "total_cputime": pct / 2, "total_time": pct / 2,
		"estimated_time_to_regain_access": regain,
	}}})
	w.Header().Set("X-Business-Use-Case-Usage", string(buc))
	if over {
		s.writeError(w, GraphError{Code: 80002, IsTransient: true, regainAccess: regain,
			Message: "There have been too many calls to this Instagram account. Wait a bit and try again. For more info, please refer to https://developers.facebook.com/docs/graph-api/overview/rate-limiting."})
		return false
	}
	return true
}

var versionPrefix = regexp.MustCompile(`^v[0-9]+\.[0-9]+$`)

// params returns the request's parameters: query, then form or JSON body, as Graph merges
// them.
func params(r *http.Request) (url.Values, error) {
	v := url.Values{}
	for k, vs := range r.URL.Query() {
		v[k] = vs
	}
	if r.Method != http.MethodPost {
		return v, nil
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/x-www-form-urlencoded", "multipart/form-data":
		if err := r.ParseMultipartForm(1 << 20); err != nil && err != http.ErrNotMultipart {
			return nil, err
		}
		for k, vs := range r.PostForm {
			v[k] = vs
		}
	case "application/json":
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			return nil, err
		}
		for k, x := range body {
			switch t := x.(type) {
			case string:
				v.Set(k, t)
			case bool:
				v.Set(k, strconv.FormatBool(t))
			case float64:
				v.Set(k, strconv.FormatFloat(t, 'f', -1, 64))
			default:
				b, _ := json.Marshal(t)
				v.Set(k, string(b))
			}
		}
	}
	return v, nil
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, simkit.ControlPrefix) {
		s.serveControl(w, r)
		return
	}
	w.Header().Set("Facebook-Api-Version", APIVersion)
	w.Header().Set("X-Fb-Rev", "1029384756")
	w.Header().Set("Cache-Control", "private, no-cache, no-store, must-revalidate")
	if !s.Authorized(r) {
		s.WriteFault(w, r, http.StatusUnauthorized)
		return
	}
	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(segs) > 0 && versionPrefix.MatchString(segs[0]) {
		segs = segs[1:]
	}
	if len(segs) == 0 || segs[0] == "" || len(segs) > 2 {
		s.writeError(w, GraphError{Code: 2500, Message: "Unknown path components: " + r.URL.Path})
		return
	}
	if !s.usage(w, s.user) {
		return
	}
	p, err := params(r)
	if err != nil {
		s.writeError(w, invalidParam("Invalid request body: "+err.Error()))
		return
	}
	id, edge := segs[0], ""
	if len(segs) == 2 {
		edge = segs[1]
	}
	s.route(w, r, id, edge, p)
}

func (s *Server) route(w http.ResponseWriter, r *http.Request, id, edge string, p url.Values) {
	method := r.Method
	isUser := id == s.user || id == "me"
	switch {
	case isUser && edge == "" && method == http.MethodGet:
		s.getUser(w, p)
	case isUser && edge == "media" && method == http.MethodPost:
		s.createContainer(w, p)
	case isUser && edge == "media" && method == http.MethodGet:
		s.listMedia(w, r, p)
	case isUser && edge == "media_publish" && method == http.MethodPost:
		s.publish(w, p)
	case isUser && edge == "content_publishing_limit" && method == http.MethodGet:
		s.publishingLimit(w, p)
	case isUser && edge == "insights" && method == http.MethodGet:
		s.userInsights(w, p)
	case edge == "" && method == http.MethodGet:
		s.getObject(w, id, p)
	case edge == "insights" && method == http.MethodGet:
		s.mediaInsights(w, id, p)
	case edge == "children" && method == http.MethodGet:
		s.children(w, id, p)
	default:
		s.writeError(w, unsupported(id))
	}
}

func (s *Server) getUser(w http.ResponseWriter, p url.Values) {
	s.mu.Lock()
	count := len(s.order)
	s.mu.Unlock()
	all := map[string]any{
		"id": s.user, "username": DefaultUsername, "name": "AquaScene", "followers_count": 12840,
		"follows_count": 311, "media_count": count, "biography": "Aquascaping, one tank at a time.",
		"website": "https://aquascene.bg",
	}
	simkit.WriteJSON(w, http.StatusOK, pick(all, p.Get("fields"), "id", "username"))
}

// pick returns the requested comma-separated fields of all (def when none are asked for);
// id is always included, as Graph does.
func pick(all map[string]any, fields string, def ...string) map[string]any {
	names := def
	if fields != "" {
		names = strings.Split(fields, ",")
	}
	out := map[string]any{"id": all["id"]}
	for _, f := range names {
		f = strings.TrimSpace(f)
		if v, ok := all[f]; ok && v != nil {
			out[f] = v
		}
	}
	return out
}

// serveControl serves the Instagram-specific control endpoints:
//
//	GET /_sim/containers   every container with its state
//	GET /_sim/media        published media, oldest first
//	PUT /_sim/quota        {"used":N} records N publishes now against the 24-hour limit
func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, simkit.ControlPrefix)
	if rest != "containers" && rest != "media" && rest != "quota" {
		s.writeError(w, GraphError{Code: 2500, httpStatus: http.StatusNotFound, Message: "Unknown path components: " + r.URL.Path})
		return
	}
	if !s.Authorized(r) {
		s.WriteFault(w, r, http.StatusUnauthorized)
		return
	}
	switch {
	case rest == "containers" && r.Method == http.MethodGet:
		simkit.WriteJSON(w, http.StatusOK, s.Containers())
	case rest == "media" && r.Method == http.MethodGet:
		simkit.WriteJSON(w, http.StatusOK, s.Media())
	case rest == "quota" && r.Method == http.MethodPut:
		var q struct {
			Used int `json:"used"`
		}
		if err := json.NewDecoder(r.Body).Decode(&q); err != nil || q.Used < 0 || q.Used > 1000 {
			s.writeError(w, invalidParam(`want {"used":0..1000}`))
			return
		}
		s.UsePublishingQuota(q.Used)
		s.publishingLimit(w, url.Values{})
	default:
		w.Header().Set("Allow", "GET, PUT")
		s.writeError(w, GraphError{Code: 100, httpStatus: http.StatusMethodNotAllowed, Message: "method not allowed"})
	}
}
