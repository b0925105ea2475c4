package sim

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aquascene/aquahub/connectors/simkit"
	"github.com/aquascene/aquahub/sdk/signature"
)

// Defaults of the simulator, as `aquahub sim airtable` and `aquahub dev` use them.
const (
	// DefaultKey is the personal access token the simulator accepts unless WithKey says
	// otherwise.
	DefaultKey = "patAquahubDev00.simulator"
	// DefaultAddr is where `aquahub sim airtable` listens unless --addr says otherwise.
	DefaultAddr = "127.0.0.1:8781"
	// DefaultBase is the id of the base New creates when no WithBase option is given.
	DefaultBase = "appAquaSceneDev01"
	// MaxRecordsPerRequest is Airtable's limit of records in one create, update or delete.
	MaxRecordsPerRequest = 10
	// MaxPageSize is the largest pageSize a list request may ask for.
	MaxPageSize = 100
	maxBody     = 2 << 20
)

// Table declares a table of a simulated base.
type Table struct {
	// Name is the table name used in URLs.
	Name string
	// ID is the table id ("tbl" + 14 characters); derived from Name when empty.
	ID string
	// Fields lists the field names. When nil the table accepts any field name (schemaless);
	// when set, unknown names are rejected with 422 UNKNOWN_FIELD_NAME as Airtable does.
	Fields []string
	// Views are the named views besides "Grid view", which every table has.
	Views []View
}

// View is a named view: a filter formula and a sort applied before the request's own.
type View struct {
	Name   string
	Filter string
	Sort   []Sort
}

// Sort is one sort key of a view or a list request.
type Sort struct {
	Field     string `json:"field"`
	Direction string `json:"direction,omitempty"`
}

// Record is a record as the API returns it.
type Record struct {
	ID          string         `json:"id"`
	CreatedTime string         `json:"createdTime"`
	Fields      map[string]any `json:"fields"`
}

// DefaultTables returns the AquaScene content base of the seed guide: Content_Master,
// Content_Templates and Publishing_Calendar with their fields, and a Scheduled view.
func DefaultTables() []Table {
	return []Table{
		{Name: "Content_Master", Fields: []string{
			"Content_ID", "Title", "Content_Type", "Status", "Quality_Score", "SEO_Keywords",
			"Target_Audience", "Generated_Date", "Published_Date", "Performance_Metrics", "Last_Updated",
			"Topic", "Template_ID", "Publish_Date", "Channels", "Newsletter_Message_IDs", "Campaign_ID",
		}},
		{Name: "Content_Templates", Fields: []string{
			"Template_ID", "Template_Name", "Content_Type", "Structure", "Brand_Guidelines", "Optimization_Settings",
		}},
		{Name: "Publishing_Calendar", Fields: []string{
			"Schedule_ID", "Content_ID", "Publish_Date", "Channels", "Status", "Performance_Tracking",
			"Topic", "Content_Type", "Target_Audience", "Template_ID",
		}, Views: []View{{Name: "Scheduled", Filter: "AND({Status}='Scheduled', {Publish_Date}>=TODAY())", Sort: []Sort{{Field: "Publish_Date"}}}}},
		{Name: "Email_Events", Fields: []string{
			"Event_ID", "Email", "Event", "Timestamp", "Message_ID", "Content_ID", "Campaign_Type", "URL", "Reason",
		}},
	}
}

// Option configures a Server.
type Option func(*Server)

// WithKey sets the personal access token the simulator accepts (default DefaultKey).
func WithKey(key string) Option { return func(s *Server) { s.key = key } }

// WithBase adds a base with the given tables. Without any WithBase, New creates DefaultBase
// with DefaultTables.
func WithBase(id string, tables ...Table) Option {
	return func(s *Server) { s.addBase(id, tables) }
}

// WithClock sets the clock used for createdTime, TODAY(), rate limiting and webhooks
// (default time.Now).
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// WithRateLimit sets the per-base limit (default 5 requests per second) and how long a base
// that went over it keeps answering 429 (default 30 s, as Airtable). perSecond <= 0 turns the
// limit off.
func WithRateLimit(perSecond int, penalty time.Duration) Option {
	return func(s *Server) { s.perSecond, s.penalty = perSecond, penalty }
}

// WithFaults sets the injected faults (default none).
func WithFaults(f simkit.Faults) Option { return func(s *Server) { s.Injector().Set(f) } }

// WithWebhookClient sets the HTTP client used to POST webhook notification pings when records
// change (default a client with a 5 s timeout). nil turns automatic pings off; Ping still works
// with the default client.
func WithWebhookClient(c *http.Client) Option {
	return func(s *Server) { s.notify, s.autoPing = c, c != nil }
}

// Server simulates the Airtable Web API v0 for one token: records (list, get, create, update,
// upsert, delete), the metadata tables endpoint and webhooks with payloads and signed pings.
// It is an http.Handler, safe for concurrent use; all state is in memory.
type Server struct {
	simkit.Frame

	key       string
	now       func() time.Time
	perSecond int
	penalty   time.Duration
	notify    *http.Client
	autoPing  bool
	pings     sync.WaitGroup

	mu        sync.Mutex
	bases     map[string]*base
	iterators map[string]*iterator
	itOrder   []string
	limits    map[string]*limitState
	pingErrs  []error
}

type base struct {
	id       string
	tables   []*table
	webhooks map[string]*hook
	txn      int
}

type table struct {
	id, name   string
	schemaless bool
	fieldIDs   map[string]string // name → id
	fieldName  map[string]string // id → name
	order      []string          // field names in declaration order
	views      map[string]View
	records    []*record
	byID       map[string]*record
}

type record struct {
	id      string
	created time.Time
	fields  map[string]any
}

type iterator struct {
	ids     []string
	base    string
	table   string
	fields  []string
	byID    bool
	expires time.Time
}

type limitState struct {
	recent       []time.Time
	blockedUntil time.Time
}

// New returns a simulator configured by opts.
func New(opts ...Option) *Server {
	s := &Server{
		key: DefaultKey, now: time.Now, perSecond: 5, penalty: 30 * time.Second,
		Frame:  simkit.NewFrame(),
		notify: &http.Client{Timeout: 5 * time.Second}, autoPing: true,
		bases: map[string]*base{}, iterators: map[string]*iterator{}, limits: map[string]*limitState{},
	}
	for _, o := range opts {
		o(s)
	}
	if len(s.bases) == 0 {
		s.addBase(DefaultBase, DefaultTables())
	}
	if s.notify == nil {
		s.notify = &http.Client{Timeout: 5 * time.Second}
	}
	s.Mount(s.Wrap(http.HandlerFunc(s.serveAPI), s, maxBody))
	return s
}

func (s *Server) addBase(id string, tables []Table) {
	b := &base{id: id, webhooks: map[string]*hook{}}
	for _, t := range tables {
		tb := &table{
			id: t.ID, name: t.Name, schemaless: t.Fields == nil,
			fieldIDs: map[string]string{}, fieldName: map[string]string{},
			views: map[string]View{"Grid view": {Name: "Grid view"}}, byID: map[string]*record{},
		}
		if tb.id == "" {
			tb.id = "tbl" + derivedID(id+"/"+t.Name)
		}
		for _, f := range t.Fields {
			tb.addField(f)
		}
		for _, v := range t.Views {
			tb.views[v.Name] = v
		}
		b.tables = append(b.tables, tb)
	}
	s.bases[id] = b
}

func (t *table) addField(name string) string {
	if id, ok := t.fieldIDs[name]; ok {
		return id
	}
	id := "fld" + derivedID(t.id+"/"+name)
	t.fieldIDs[name], t.fieldName[id] = id, name
	t.order = append(t.order, name)
	return id
}

func (t *table) known(name string) bool {
	if t.schemaless {
		return true
	}
	_, ok := t.fieldIDs[name]
	return ok
}

// Authorized reports whether r carries the simulator's token as a Bearer credential.
func (s *Server) Authorized(r *http.Request) bool { return simkit.BearerToken(r) == s.key }

// WriteFault writes Airtable's body for an injected or rate-limit status.
func (s *Server) WriteFault(w http.ResponseWriter, _ *http.Request, status int) {
	switch {
	case status == http.StatusUnauthorized:
		apiError(w, status, "AUTHENTICATION_REQUIRED", "Authentication required")
	case status == http.StatusTooManyRequests:
		apiError(w, status, "RATE_LIMIT_REACHED", "Rate limit exceeded. Please try again later")
	case status == http.StatusServiceUnavailable:
		apiError(w, status, "SERVICE_UNAVAILABLE", "The service is temporarily unavailable. Please retry shortly.")
	case status >= 500:
		apiError(w, status, "SERVER_ERROR", "Try again. If the problem persists, contact support.")
	default:
		apiError(w, status, "INVALID_REQUEST_UNKNOWN", http.StatusText(status))
	}
}

// Seed adds records to a table without going through the API (no rate limit, no webhook
// payloads) and returns them.
func (s *Server) Seed(baseID, tableName string, fields ...map[string]any) ([]Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.table(baseID, tableName)
	if err != nil {
		return nil, err
	}
	out := make([]Record, 0, len(fields))
	for _, f := range fields {
		if name := t.unknownField(f); name != "" {
			return nil, fmt.Errorf("unknown field name %q", name)
		}
		rec := t.insert(s.now(), f)
		out = append(out, t.view(rec, nil, false))
	}
	return out, nil
}

// Records returns every record of a table in creation order.
func (s *Server) Records(baseID, tableName string) ([]Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.table(baseID, tableName)
	if err != nil {
		return nil, err
	}
	out := make([]Record, 0, len(t.records))
	for _, r := range t.records {
		out = append(out, t.view(r, nil, false))
	}
	return out, nil
}

// WaitPings waits for the webhook pings in flight to finish.
func (s *Server) WaitPings() { s.pings.Wait() }

// PingErrors returns the errors of automatic webhook pings so far.
func (s *Server) PingErrors() []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]error(nil), s.pingErrs...)
}

var errNoTable = errors.New("table not found")

func (s *Server) table(baseID, name string) (*table, error) {
	b, ok := s.bases[baseID]
	if !ok {
		return nil, fmt.Errorf("base %q: %w", baseID, errNoTable)
	}
	for _, t := range b.tables {
		if t.name == name || t.id == name {
			return t, nil
		}
	}
	return nil, fmt.Errorf("table %q in base %q: %w", name, baseID, errNoTable)
}

func (t *table) unknownField(fields map[string]any) string {
	if t.schemaless {
		return ""
	}
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		if _, ok := t.fieldIDs[k]; !ok {
			if _, ok := t.fieldName[k]; !ok {
				return k
			}
		}
	}
	return ""
}

// normalizeFields resolves field ids to names and registers new names of schemaless tables.
func (t *table) normalizeFields(in map[string]any) map[string]any {
	out := make(map[string]any, len(in))
	for k, v := range in {
		if name, ok := t.fieldName[k]; ok {
			k = name
		}
		t.addField(k)
		out[k] = v
	}
	return out
}

func (t *table) insert(now time.Time, fields map[string]any) *record {
	r := &record{id: "rec" + randomID(), created: now.UTC(), fields: map[string]any{}}
	for k, v := range t.normalizeFields(fields) {
		if !isEmpty(v) {
			r.fields[k] = v
		}
	}
	t.records = append(t.records, r)
	t.byID[r.id] = r
	return r
}

// view renders a record, keeping only the named fields when only is non-nil.
func (t *table) view(r *record, only []string, byFieldID bool) Record {
	f := make(map[string]any, len(r.fields))
	for k, v := range r.fields {
		if only != nil && !slices.Contains(only, k) {
			continue
		}
		if byFieldID {
			k = t.fieldIDs[k]
		}
		f[k] = v
	}
	return Record{ID: r.id, CreatedTime: r.created.Format("2006-01-02T15:04:05.000Z"), Fields: f}
}

func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case bool:
		return !x
	case []any:
		return len(x) == 0
	}
	return false
}

// apiError writes Airtable's {"error":{"type","message"}} body.
func apiError(w http.ResponseWriter, status int, typ, msg string) {
	simkit.WriteJSON(w, status, map[string]any{"error": map[string]string{"type": typ, "message": msg}})
}

// notFound writes the bare-string 404 Airtable answers for unknown routes.
func notFound(w http.ResponseWriter) {
	simkit.WriteJSON(w, http.StatusNotFound, map[string]string{"error": "NOT_FOUND"})
}

func modelNotFound(w http.ResponseWriter) {
	apiError(w, http.StatusForbidden, "INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND",
		"Invalid permissions, or the requested model was not found. Check that both your user and your token have the required permissions, and that the model names and/or ids are correct.")
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, simkit.ControlPrefix) {
		s.serveControl(w, r)
		return
	}
	segs, ok := splitPath(r.URL.EscapedPath())
	if !ok || len(segs) < 2 {
		notFound(w)
		return
	}
	if !s.Authorized(r) {
		s.WriteFault(w, r, http.StatusUnauthorized)
		return
	}
	var baseID string
	switch {
	case segs[0] == "meta" && len(segs) == 4 && segs[1] == "bases" && segs[3] == "tables":
		baseID = segs[2]
	case segs[0] == "bases":
		baseID = segs[1]
	default:
		baseID = segs[0]
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.bases[baseID]; !ok {
		modelNotFound(w)
		return
	}
	if !s.allow(baseID) {
		s.WriteFault(w, r, http.StatusTooManyRequests)
		return
	}
	switch {
	case segs[0] == "meta":
		if r.Method != http.MethodGet {
			notFound(w)
			return
		}
		s.serveMeta(w, s.bases[baseID])
	case segs[0] == "bases":
		s.serveWebhooks(w, r, s.bases[baseID], segs[2:])
	default:
		s.serveTable(w, r, baseID, segs[1:])
	}
}

// splitPath returns the unescaped segments after /v0/.
func splitPath(escaped string) ([]string, bool) {
	rest, ok := strings.CutPrefix(escaped, "/v0/")
	if !ok {
		return nil, false
	}
	rest = strings.TrimSuffix(rest, "/")
	parts := strings.Split(rest, "/")
	for i, p := range parts {
		u, err := url.PathUnescape(p)
		if err != nil || u == "" {
			return nil, false
		}
		parts[i] = u
	}
	return parts, true
}

// allow applies the per-base rate limit; the caller holds s.mu.
func (s *Server) allow(baseID string) bool {
	if s.perSecond <= 0 {
		return true
	}
	now := s.now()
	st := s.limits[baseID]
	if st == nil {
		st = &limitState{}
		s.limits[baseID] = st
	}
	if now.Before(st.blockedUntil) {
		return false
	}
	cut := now.Add(-time.Second)
	keep := st.recent[:0]
	for _, t := range st.recent {
		if t.After(cut) {
			keep = append(keep, t)
		}
	}
	st.recent = keep
	if len(st.recent) >= s.perSecond {
		st.blockedUntil = now.Add(s.penalty)
		return false
	}
	st.recent = append(st.recent, now)
	return true
}

func (s *Server) serveTable(w http.ResponseWriter, r *http.Request, baseID string, segs []string) {
	t, err := s.table(baseID, segs[0])
	if err != nil {
		modelNotFound(w)
		return
	}
	switch {
	case len(segs) == 1 && r.Method == http.MethodGet:
		params, perr := listParamsFromQuery(r.URL.Query())
		if perr != nil {
			apiError(w, http.StatusUnprocessableEntity, "INVALID_REQUEST_UNKNOWN", perr.Error())
			return
		}
		s.list(w, baseID, t, params)
	case len(segs) == 2 && segs[1] == "listRecords" && r.Method == http.MethodPost:
		var params listParams
		if !decodeStrict(w, r, &params) {
			return
		}
		s.list(w, baseID, t, params)
	case len(segs) == 1 && r.Method == http.MethodPost:
		s.create(w, r, baseID, t)
	case len(segs) == 1 && (r.Method == http.MethodPatch || r.Method == http.MethodPut):
		s.updateMany(w, r, baseID, t)
	case len(segs) == 1 && r.Method == http.MethodDelete:
		s.deleteMany(w, r, baseID, t)
	case len(segs) == 2 && r.Method == http.MethodGet:
		rec := t.byID[segs[1]]
		if rec == nil {
			apiError(w, http.StatusNotFound, "MODEL_ID_NOT_FOUND", "Record not found")
			return
		}
		simkit.WriteJSON(w, http.StatusOK, t.view(rec, nil, r.URL.Query().Get("returnFieldsByFieldId") == "true"))
	case len(segs) == 2 && (r.Method == http.MethodPatch || r.Method == http.MethodPut):
		s.updateOne(w, r, baseID, t, segs[1])
	case len(segs) == 2 && r.Method == http.MethodDelete:
		rec := t.byID[segs[1]]
		if rec == nil {
			apiError(w, http.StatusNotFound, "MODEL_ID_NOT_FOUND", "Record not found")
			return
		}
		s.remove(baseID, t, []string{rec.id})
		simkit.WriteJSON(w, http.StatusOK, map[string]any{"id": rec.id, "deleted": true})
	default:
		notFound(w)
	}
}

// decodeStrict decodes a JSON body, answering 400 for unparsable JSON and 422 for unknown keys.
func decodeStrict(w http.ResponseWriter, r *http.Request, v any) bool {
	body, _ := io.ReadAll(r.Body)
	if !json.Valid(body) {
		apiError(w, http.StatusBadRequest, "INVALID_REQUEST_BODY", "Could not parse request body")
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		apiError(w, http.StatusUnprocessableEntity, "INVALID_REQUEST_UNKNOWN",
			"Invalid request: parameter validation failed. Check your request data. ("+err.Error()+")")
		return false
	}
	return true
}

func randomID() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	var b [14]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b[:])
}

func derivedID(seed string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	sum := sha256.Sum256([]byte(seed))
	var b [14]byte
	for i := range b {
		b[i] = alphabet[int(sum[i])%len(alphabet)]
	}
	return string(b[:])
}

func randomSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.StdEncoding.EncodeToString(b[:])
}

// Ping POSTs a signed notification ping for a webhook to its notificationUrl, as Airtable does
// when the webhook has new payloads.
func (s *Server) Ping(ctx context.Context, baseID, webhookID string) error {
	s.mu.Lock()
	b := s.bases[baseID]
	var h *hook
	if b != nil {
		h = b.webhooks[webhookID]
	}
	s.mu.Unlock()
	if h == nil {
		return fmt.Errorf("webhook %q in base %q not found", webhookID, baseID)
	}
	return s.sendPing(ctx, baseID, h)
}

func (s *Server) sendPing(ctx context.Context, baseID string, h *hook) error {
	if h.notificationURL == "" {
		return fmt.Errorf("webhook %q has no notificationUrl", h.id)
	}
	body, _ := json.Marshal(map[string]any{
		"base":      map[string]string{"id": baseID},
		"webhook":   map[string]string{"id": h.id},
		"timestamp": s.now().UTC().Format("2006-01-02T15:04:05.000Z"),
	})
	key, err := signature.ParseAirtableSecret(h.secret)
	if err != nil {
		return err
	}
	mac := signature.SignAirtable(key, body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.notificationURL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(signature.AirtableHeader, mac)
	resp, err := s.notify.Do(req)
	if err != nil {
		return fmt.Errorf("pinging %s: %w", h.notificationURL, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	_ = resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("pinging %s: status %d", h.notificationURL, resp.StatusCode)
	}
	return nil
}
