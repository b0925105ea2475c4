package sim

import (
	"crypto"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aquascene/aquahub/connectors/simkit"
)

// Defaults of the simulator, as `aquahub sim partner` and `aquahub dev` use them.
const (
	// DefaultKey is the API key the simulator accepts unless WithKey says otherwise.
	DefaultKey = "ga_live_aquahub_dev_simulator"
	// DefaultAddr is where `aquahub sim partner` listens unless --addr says otherwise.
	DefaultAddr = "127.0.0.1:8786"
	// ProductsPath is the catalog's list endpoint; a product is ProductsPath/{sku}.
	ProductsPath = "/api/v2/products"
	// NotificationsPath is where the partner receives content notifications.
	NotificationsPath = "/api/v2/content-notifications"
	// DefaultPerPage and MaxPerPage bound list pages.
	DefaultPerPage, MaxPerPage = 20, 100
	// SignatureHeader carries an ES256 or RS256 notification's signature (see the
	// connector README).
	SignatureHeader = "Aquahub-Signature"
	// HMACHeader carries an hmac-sha256 notification's signature: "sha256=" and the hex
	// HMAC-SHA256 of the body under the shared notification secret.
	HMACHeader = "X-Signature-256"
	// DevNotificationSecret is the shared secret the simulator verifies HMAC-signed
	// notifications with unless WithNotificationSecret says otherwise. Like DefaultKey it
	// is a published development credential: the connector's notification_secret in
	// `aquahub dev`, and nowhere else.
	DevNotificationSecret = "whsec_greenaqua_dev_notifications"
	// MaxSkew is how far a notification's timestamp may be from the simulator's clock.
	MaxSkew = 5 * time.Minute
)

// DevSigningKeyPEM is the P-256 private key, PKCS#8 PEM, whose public half the simulator
// verifies notifications with unless WithNotificationKey says otherwise. It is a published
// development credential, like DefaultKey: give it to the hub as the connector's
// notification_key secret in `aquahub dev`, and never use it elsewhere.
//
//go:embed devkey.pem
var DevSigningKeyPEM string

// Option configures a Server.
type Option func(*Server)

// WithKey sets the API key accepted as X-Api-Key or Bearer (default DefaultKey).
func WithKey(key string) Option { return func(s *Server) { s.key = key } }

// WithClock sets the clock (default time.Now).
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// WithFaults sets the injected faults (default none).
func WithFaults(f simkit.Faults) Option { return func(s *Server) { s.inj.Set(f) } }

// WithCatalog replaces the Green Aqua catalog.
func WithCatalog(p []Product) Option { return func(s *Server) { s.catalog = p } }

// WithNotificationKey sets the public key (*ecdsa.PublicKey or *rsa.PublicKey) that
// notifications must be signed for (default the public half of DevSigningKeyPEM).
func WithNotificationKey(k crypto.PublicKey) Option { return func(s *Server) { s.verifyKey = k } }

// WithNotificationSecret sets the shared secret HMAC-signed notifications must be signed
// with (default DevNotificationSecret).
func WithNotificationSecret(secret string) Option { return func(s *Server) { s.secret = secret } }

// Notification is one content notification the receiver got.
type Notification struct {
	ID         string          `json:"id"`
	ReceivedAt time.Time       `json:"received_at"`
	Body       json.RawMessage `json:"body"`
	// Verified is false for notifications refused for their signature; Error says why.
	Verified  bool   `json:"verified"`
	Error     string `json:"error,omitempty"`
	Duplicate bool   `json:"duplicate,omitempty"`
}

// Server simulates a partner's catalog API and notification receiver. It is an
// http.Handler, safe for concurrent use; all state is in memory.
type Server struct {
	key       string
	now       func() time.Time
	inj       *simkit.Injector
	rec       *simkit.Recorder
	catalog   []Product
	verifyKey crypto.PublicKey
	secret    string
	handler   http.Handler

	mu            sync.Mutex
	notifications []Notification
}

// New returns a simulator configured by opts.
func New(opts ...Option) *Server {
	s := &Server{key: DefaultKey, secret: DevNotificationSecret, now: time.Now, inj: simkit.NewInjector(simkit.Faults{}), rec: simkit.NewRecorder(0), catalog: Catalog()}
	for _, o := range opts {
		o(s)
	}
	if s.verifyKey == nil {
		k, err := ParsePrivateKey([]byte(DevSigningKeyPEM))
		if err != nil {
			panic("partner sim: the embedded development key does not parse: " + err.Error())
		}
		s.verifyKey = k.Public()
	}
	s.handler = simkit.Wrap(http.HandlerFunc(s.serveAPI), s, s.inj, s.rec, 1<<20)
	return s
}

// ServeHTTP serves the partner API and the /_sim/ control endpoints.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Injector returns the fault injector.
func (s *Server) Injector() *simkit.Injector { return s.inj }

// Requests returns the API requests served so far, oldest first.
func (s *Server) Requests() []simkit.Request { return s.rec.Requests() }

// Notifications returns the notifications received, oldest first, refused ones included.
func (s *Server) Notifications() []Notification {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Notification(nil), s.notifications...)
}

// Authorized reports whether r carries the API key as X-Api-Key or a Bearer token.
func (s *Server) Authorized(r *http.Request) bool {
	return r.Header.Get("X-Api-Key") == s.key || simkit.BearerToken(r) == s.key
}

func writeError(w http.ResponseWriter, status int, code, msg, param string) {
	e := map[string]any{"code": code, "message": msg}
	if param != "" {
		e["param"] = param
	}
	simkit.WriteJSON(w, status, map[string]any{"error": e})
}

// WriteFault writes the partner's answer for an injected status; a 429 says when to come
// back in Retry-After.
func (s *Server) WriteFault(w http.ResponseWriter, _ *http.Request, status int) {
	switch {
	case status == http.StatusTooManyRequests:
		w.Header().Set("Retry-After", "2")
		writeError(w, status, "rate_limited", "too many requests, retry in 2 seconds", "")
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		writeError(w, status, "unauthorized", "missing or invalid API key", "")
	case status >= 500:
		writeError(w, status, "server_error", "the catalog is temporarily unavailable", "")
	default:
		writeError(w, status, "error", strings.ToLower(http.StatusText(status)), "")
	}
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	p := strings.TrimSuffix(r.URL.Path, "/")
	switch {
	case strings.HasPrefix(p, simkit.ControlPrefix):
		s.serveControl(w, r)
	case p == NotificationsPath:
		if r.Method != http.MethodPost {
			writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "use POST", "")
			return
		}
		s.receive(w, r)
	case !s.Authorized(r):
		s.WriteFault(w, r, http.StatusUnauthorized)
	case r.Method != http.MethodGet:
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "the catalog is read-only", "")
	case p == ProductsPath:
		s.list(w, r)
	case strings.HasPrefix(p, ProductsPath+"/"):
		s.get(w, strings.TrimPrefix(p, ProductsPath+"/"))
	default:
		writeError(w, http.StatusNotFound, "not_found", "no route "+r.URL.Path, "")
	}
}

func (s *Server) get(w http.ResponseWriter, sku string) {
	sku, _ = url.PathUnescape(sku)
	for _, p := range s.catalog {
		if strings.EqualFold(p.SKU, sku) {
			simkit.WriteJSON(w, http.StatusOK, map[string]any{"data": p})
			return
		}
	}
	writeError(w, http.StatusNotFound, "not_found", "no product "+sku, "")
}

func encodeCursor(offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("o:" + strconv.Itoa(offset)))
}

func decodeCursor(c string) (int, bool) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || !strings.HasPrefix(string(b), "o:") {
		return 0, false
	}
	n, err := strconv.Atoi(string(b[2:]))
	return n, err == nil && n >= 0
}

// list serves the catalog with either page/per_page or cursor paging; every answer carries
// meta (page, per_page, total, total_pages, next_cursor), links.next and a Link header.
func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	perPage := DefaultPerPage
	if v := q.Get("per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxPerPage {
			writeError(w, http.StatusBadRequest, "invalid_parameter", fmt.Sprintf("per_page must be between 1 and %d", MaxPerPage), "per_page")
			return
		}
		perPage = n
	}
	offset := 0
	switch {
	case q.Get("cursor") != "":
		n, ok := decodeCursor(q.Get("cursor"))
		if !ok {
			writeError(w, http.StatusBadRequest, "invalid_parameter", "cursor is not valid", "cursor")
			return
		}
		offset = n
	case q.Get("page") != "":
		n, err := strconv.Atoi(q.Get("page"))
		if err != nil || n < 1 {
			writeError(w, http.StatusBadRequest, "invalid_parameter", "page must be a positive integer", "page")
			return
		}
		offset = (n - 1) * perPage
	}
	var match []Product
	category, search := q.Get("category"), strings.ToLower(q.Get("q"))
	for _, p := range s.catalog {
		if category != "" && !strings.EqualFold(p.Category.Slug, category) && !strings.EqualFold(p.Category.Name, category) {
			continue
		}
		if search != "" && !strings.Contains(strings.ToLower(p.Title+" "+p.Summary), search) {
			continue
		}
		if v := q.Get("in_stock"); v != "" && strconv.FormatBool(p.Availability.InStock) != v {
			continue
		}
		match = append(match, p)
	}
	page := []Product{}
	if offset < len(match) {
		page = match[offset:min(offset+perPage, len(match))]
	}
	totalPages := (len(match) + perPage - 1) / perPage
	meta := map[string]any{"page": offset/perPage + 1, "per_page": perPage, "total": len(match), "total_pages": totalPages, "next_cursor": nil}
	links := map[string]any{"self": absolute(r, q), "next": nil}
	if next := offset + len(page); next < len(match) {
		meta["next_cursor"] = encodeCursor(next)
		nq := url.Values{}
		for k, v := range q {
			nq[k] = v
		}
		if q.Get("cursor") != "" {
			nq.Set("cursor", encodeCursor(next))
		} else {
			nq.Set("page", strconv.Itoa(offset/perPage+2))
		}
		nq.Set("per_page", strconv.Itoa(perPage))
		links["next"] = absolute(r, nq)
		w.Header().Set("Link", "<"+absolute(r, nq)+`>; rel="next"`)
	}
	w.Header().Set("X-Total-Count", strconv.Itoa(len(match)))
	simkit.WriteJSON(w, http.StatusOK, map[string]any{"data": page, "meta": meta, "links": links})
}

func absolute(r *http.Request, q url.Values) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	u := scheme + "://" + r.Host + r.URL.Path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// serveControl serves the partner-specific control endpoint:
//
//	GET /_sim/notifications   notifications received, refused ones included
func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, simkit.ControlPrefix)
	if rest != "notifications" {
		writeError(w, http.StatusNotFound, "not_found", "no route "+r.URL.Path, "")
		return
	}
	if !s.Authorized(r) {
		s.WriteFault(w, r, http.StatusUnauthorized)
		return
	}
	if r.Method != http.MethodGet {
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "use GET", "")
		return
	}
	simkit.WriteJSON(w, http.StatusOK, s.Notifications())
}

// ConnectorConfig is the partner connector's configuration for this simulator at origin
// (http://host:port): paths, X-Api-Key auth, page paging with the page count, and the
// mapping of Green Aqua's fields onto the hub's product shape.
func ConnectorConfig(origin string) map[string]any {
	return map[string]any{
		"base_url": strings.TrimRight(origin, "/") + "/api/v2", "partner": "Green Aqua",
		"auth": "header", "auth_header": "X-Api-Key",
		"list_path": "/products", "get_path": "/products/{id}", "items_path": "data", "item_path": "data",
		"notify_url": "/content-notifications",
		"paging":     map[string]any{"style": "page", "page_param": "page", "size_param": "per_page", "page_size": 50, "total_pages_path": "meta.total_pages"},
		"mapping": map[string]any{
			"id": "sku", "name": "title", "category": "category.name", "description": "summary", "price_range": "price.label",
			"key_benefits": "highlights.*.text", "url": "links.product", "in_stock": "availability.in_stock",
			"seo_keywords": "seo.keywords", "affiliate_url": "links.affiliate",
		},
	}
}
