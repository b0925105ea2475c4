package sim

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aquascene/aquahub/connectors/simkit"
)

// Defaults of the simulator, as `aquahub sim woocommerce` and `aquahub dev` use them.
const (
	// DefaultKey is the consumer key the simulator accepts unless WithKey says otherwise.
	DefaultKey = "ck_aquahubdev0000000000000000000000000000"
	// DefaultSecret is the consumer secret paired with DefaultKey.
	DefaultSecret = "cs_aquahubdev0000000000000000000000000000"
	// DefaultWebhookSecret signs the webhooks `aquahub sim woocommerce --event-webhook` and
	// `aquahub dev` register.
	DefaultWebhookSecret = "wc-webhook-aquahub-dev"
	// DefaultAddr is where `aquahub sim woocommerce` listens unless --addr says otherwise.
	DefaultAddr = "127.0.0.1:8793"
	// APIPath is the REST API root under the store's URL.
	APIPath = "/wp-json/wc/v3"
	// MaxPerPage is the largest per_page a list accepts.
	MaxPerPage = 100
	// MaxBatch is the most create, update and delete items one batch request may hold.
	MaxBatch = 100
	// MaxDeliveryFailures is how many failed deliveries in a row disable a webhook.
	MaxDeliveryFailures = 5
	maxBody             = 8 << 20
)

// Permission of an API key, as WooCommerce's key settings name them.
const (
	Read      = "read"
	Write     = "write"
	ReadWrite = "read_write"
)

// Option configures a Server.
type Option func(*Server)

// WithKey sets the API key (consumer key, consumer secret, permission) the simulator
// accepts (default DefaultKey, DefaultSecret, ReadWrite). Repeat it for several keys.
func WithKey(key, secret, permission string) Option {
	return func(s *Server) {
		if !s.customKeys {
			s.keys, s.customKeys = map[string]apiKey{}, true
		}
		s.keys[key] = apiKey{secret: secret, permission: permission}
	}
}

// WithClock sets the clock (default time.Now).
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// WithFaults sets the injected faults (default none).
func WithFaults(f simkit.Faults) Option { return func(s *Server) { s.Injector().Set(f) } }

// WithoutSeed starts with no products and orders (default: the AquaScene catalogue of
// SeedProducts and a few orders).
func WithoutSeed() Option { return func(s *Server) { s.seed = false } }

// WithRateLimit answers 429 with Retry-After once more than perSecond requests arrive in
// a second, as the limiters in front of many stores do (WooCommerce itself has none).
// Default off.
func WithRateLimit(perSecond int) Option { return func(s *Server) { s.perSecond = perSecond } }

// WithWebhooks registers active webhooks for product.created, product.updated and
// order.created that deliver to url signed with secret, as a store admin would.
func WithWebhooks(url, secret string) Option {
	return func(s *Server) {
		for _, topic := range []string{"product.created", "product.updated", "order.created"} {
			s.pending = append(s.pending, Webhook{Name: "aquahub " + topic, Topic: topic, DeliveryURL: url, Secret: secret, Status: "active"})
		}
	}
}

// WithWebhookClient sets the client that delivers webhooks (default a client with a 5 s
// timeout).
func WithWebhookClient(c *http.Client) Option { return func(s *Server) { s.hookClient = c } }

// WithSiteURL sets the store's home URL used in permalinks, links and webhook deliveries
// (default: the scheme and host each request arrived on, and for deliveries the request
// that caused them).
func WithSiteURL(u string) Option { return func(s *Server) { s.siteURL = strings.TrimRight(u, "/") } }

type apiKey struct {
	secret, permission string
}

// Server simulates the WooCommerce REST API v3 (products, product categories, orders,
// webhooks) of one store. It is an http.Handler, safe for concurrent use; all state is in
// memory.
type Server struct {
	simkit.Frame

	keys       map[string]apiKey
	customKeys bool
	now        func() time.Time
	seed       bool
	perSecond  int
	siteURL    string
	hookClient *http.Client
	pending    []Webhook
	deliveries sync.WaitGroup

	mu         sync.Mutex
	products   map[int]*product
	categories []Term
	tags       []Term
	orders     map[int]*order
	webhooks   map[int]*storeHook
	nextID     int
	nextHook   int
	nextMeta   int
	nextDeliv  int
	nonces     map[string]time.Time
	recent     []time.Time
	delivered  []Delivery
}

// New returns a simulator configured by opts.
func New(opts ...Option) *Server {
	s := &Server{
		keys: map[string]apiKey{DefaultKey: {secret: DefaultSecret, permission: ReadWrite}},
		now:  time.Now, seed: true, hookClient: &http.Client{Timeout: 5 * time.Second},
		Frame:    simkit.NewFrame(),
		products: map[int]*product{}, orders: map[int]*order{}, webhooks: map[int]*storeHook{},
		nextID: 700, nextHook: 1, nextMeta: 5000, nonces: map[string]time.Time{},
	}
	for _, o := range opts {
		o(s)
	}
	s.categories, s.tags = DefaultCategories(), DefaultTags()
	if s.seed {
		s.seedStore()
	}
	for _, w := range s.pending {
		s.addWebhook(w)
	}
	s.Mount(s.Wrap(http.HandlerFunc(s.serveAPI), s, maxBody))
	return s
}

// WaitWebhooks waits for webhook deliveries in flight.
func (s *Server) WaitWebhooks() { s.deliveries.Wait() }

// Authorized reports whether r carries a valid credential in any scheme the store accepts.
func (s *Server) Authorized(r *http.Request) bool {
	perm, err := s.authenticate(r)
	return err == nil && perm != ""
}

// wcError is WooCommerce's (WordPress's) error body.
type wcError struct {
	Code    string         `json:"code"`
	Message string         `json:"message"`
	Data    map[string]any `json:"data"`
}

func writeError(w http.ResponseWriter, status int, code, msg string, data ...map[string]any) {
	d := map[string]any{"status": status}
	for _, extra := range data {
		for k, v := range extra {
			d[k] = v
		}
	}
	simkit.WriteJSON(w, status, wcError{Code: code, Message: msg, Data: d})
}

func noRoute(w http.ResponseWriter) {
	writeError(w, http.StatusNotFound, "rest_no_route", "No route was found matching the URL and request method.")
}

// invalidParams writes WordPress's 400 for parameters that fail their schema.
func invalidParams(w http.ResponseWriter, params map[string]string, codes map[string]string) {
	names := make([]string, 0, len(params))
	for k := range params {
		names = append(names, k)
	}
	sort.Strings(names)
	details := map[string]any{}
	for _, k := range names {
		details[k] = map[string]any{"code": codes[k], "message": params[k], "data": nil}
	}
	writeError(w, http.StatusBadRequest, "rest_invalid_param", "Invalid parameter(s): "+strings.Join(names, ", "),
		map[string]any{"params": params, "details": details})
}

// WriteFault writes the store's answer for an injected status: WordPress's JSON for 401
// and 500, a JSON 429 with Retry-After, and the HTML page a gateway in front of the store
// sends for 502, 503 and 504.
func (s *Server) WriteFault(w http.ResponseWriter, _ *http.Request, status int) {
	switch {
	case status == http.StatusUnauthorized:
		writeError(w, status, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources.")
	case status == http.StatusTooManyRequests:
		w.Header().Set("Retry-After", "5")
		writeError(w, status, "too_many_requests", "Too many requests. Please try again later.")
	case status == http.StatusInternalServerError:
		writeError(w, status, "internal_server_error", "<p>There has been a critical error on this website.</p><p><a href=\"https://wordpress.org/documentation/article/faq-troubleshooting/\">Learn more about troubleshooting WordPress.</a></p>")
	case status >= 500:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(status)
		fmt.Fprintf(w, "<html>\r\n<head><title>%d %s</title></head>\r\n<body>\r\n<center><h1>%d %s</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n",
			status, http.StatusText(status), status, http.StatusText(status))
	default:
		writeError(w, status, "rest_error", http.StatusText(status))
	}
}

// base is the store's home URL as seen by r.
func (s *Server) base(r *http.Request) string {
	if s.siteURL != "" {
		return s.siteURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// allow applies the optional per-second limit; the caller holds s.mu.
func (s *Server) allow() bool {
	if s.perSecond <= 0 {
		return true
	}
	now := s.now()
	cut := now.Add(-time.Second)
	keep := s.recent[:0]
	for _, t := range s.recent {
		if t.After(cut) {
			keep = append(keep, t)
		}
	}
	s.recent = keep
	if len(s.recent) >= s.perSecond {
		return false
	}
	s.recent = append(s.recent, now)
	return true
}

// route is one request with its authenticated permission and where it is served.
type route struct {
	w    http.ResponseWriter
	r    *http.Request
	perm string
	base string
	segs []string
}

// withID serves the item the second path segment names with serve; a segment that is not a
// number names no route, as in WooCommerce.
func (rt *route) withID(serve func(rt *route, id int)) {
	id, err := strconv.Atoi(rt.segs[1])
	if err != nil {
		noRoute(rt.w)
		return
	}
	serve(rt, id)
}

// change answers a create or an update: it decodes the request's body and hands it to
// apply under s.mu, which returns the resource rendered, or nil with the status and error
// item WooCommerce answers with. On success it fires topic and answers status with the
// resource.
func (s *Server) change(rt *route, status int, topic string, apply func(body map[string]json.RawMessage) (out map[string]any, errStatus int, item map[string]any)) {
	body, ok := decodeJSON(rt.w, rt.r)
	if !ok {
		return
	}
	s.mu.Lock()
	out, errStatus, item := apply(body)
	s.mu.Unlock()
	if out == nil {
		writeItemError(rt.w, errStatus, item)
		return
	}
	s.fire(topic, out, rt.base)
	simkit.WriteJSON(rt.w, status, out)
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, simkit.ControlPrefix) {
		s.serveControl(w, r)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, APIPath+"/")
	if !ok {
		noRoute(w)
		return
	}
	segs := strings.Split(strings.Trim(rest, "/"), "/")
	perm, authErr := s.authenticate(r)
	s.mu.Lock()
	limited := !s.allow()
	s.mu.Unlock()
	if limited {
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusTooManyRequests, "too_many_requests", "Too many requests. Please try again later.")
		return
	}
	if authErr != nil {
		writeError(w, http.StatusUnauthorized, authErr.code, authErr.msg)
		return
	}
	if r.ContentLength != 0 && (r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodPatch) &&
		!strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		// WordPress reads form bodies too, but every client of this API sends JSON.
		writeError(w, http.StatusBadRequest, "rest_invalid_json", "Invalid JSON body passed.")
		return
	}
	rt := &route{w: w, r: r, perm: perm, base: s.base(r), segs: segs}
	switch segs[0] {
	case "products":
		s.serveProducts(rt)
	case "orders":
		s.serveOrders(rt)
	case "webhooks":
		s.serveWebhooks(rt)
	default:
		noRoute(w)
	}
}

// can reports whether the route's key may perform the request's method, writing
// WooCommerce's 401 when it may not. verb is the resource message's verb ("list", "view",
// "edit", "create", "delete", "batch").
func (rt *route) can(verb string) bool {
	write := rt.r.Method != http.MethodGet && rt.r.Method != http.MethodHead
	if rt.perm == ReadWrite || (write && rt.perm == Write) || (!write && rt.perm == Read) {
		return true
	}
	codes := map[string][2]string{
		"list":   {"woocommerce_rest_cannot_view", "Sorry, you cannot list resources."},
		"view":   {"woocommerce_rest_cannot_view", "Sorry, you cannot view this resource."},
		"edit":   {"woocommerce_rest_cannot_edit", "Sorry, you are not allowed to edit this resource."},
		"create": {"woocommerce_rest_cannot_create", "Sorry, you are not allowed to create resources."},
		"delete": {"woocommerce_rest_cannot_delete", "Sorry, you are not allowed to delete this resource."},
		"batch":  {"woocommerce_rest_cannot_batch", "Sorry, you are not allowed to batch manipulate this resource."},
	}[verb]
	writeError(rt.w, http.StatusUnauthorized, codes[0], codes[1])
	return false
}

// decodeJSON reads a JSON object body; WordPress answers 400 rest_invalid_json otherwise.
func decodeJSON(w http.ResponseWriter, r *http.Request) (map[string]json.RawMessage, bool) {
	var m map[string]json.RawMessage
	if r.ContentLength == 0 {
		return map[string]json.RawMessage{}, true
	}
	dec := json.NewDecoder(r.Body)
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		writeError(w, http.StatusBadRequest, "rest_invalid_json", "Invalid JSON body passed.")
		return nil, false
	}
	if m == nil {
		m = map[string]json.RawMessage{}
	}
	return m, true
}

// wpTime is how WordPress writes dates: local time without a zone (the simulated store's
// time zone is UTC, so the local and _gmt forms agree).
func wpTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05") }

func itoa(n int) string { return strconv.Itoa(n) }

// serveControl serves the WooCommerce-specific control endpoints:
//
//	GET /_sim/products     every product, trashed ones included
//	GET /_sim/orders       every order
//	GET /_sim/deliveries   webhook deliveries so far
func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	if !s.Authorized(r) {
		s.WriteFault(w, r, http.StatusUnauthorized)
		return
	}
	if r.Method != http.MethodGet {
		noRoute(w)
		return
	}
	base := s.base(r)
	switch strings.TrimPrefix(r.URL.Path, simkit.ControlPrefix) {
	case "products":
		simkit.WriteJSON(w, http.StatusOK, s.Products(base))
	case "orders":
		simkit.WriteJSON(w, http.StatusOK, s.Orders(base))
	case "deliveries":
		simkit.WriteJSON(w, http.StatusOK, s.Deliveries())
	default:
		noRoute(w)
	}
}

// deliverCtx bounds one webhook delivery.
func deliverCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 10*time.Second)
}
