package sim

import (
	"bytes"
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aquascene/aquahub/connectors/simkit"
)

// Defaults of the simulator, as `aquahub sim mailchimp` and `aquahub dev` use them.
const (
	// DefaultKey is the API key the simulator accepts unless WithKey says otherwise. Its
	// suffix after the last "-" is the data center, as in real keys.
	DefaultKey = "aquahubdev0000000000000000000000-us21"
	// DefaultAddr is where `aquahub sim mailchimp` listens unless --addr says otherwise.
	DefaultAddr = "127.0.0.1:8783"
	// DefaultList is the id of the audience New creates when no WithList option is given.
	DefaultList = "aqua000001"
	// MaxConnections is how many requests may be in flight at once before 429, as Mailchimp's
	// limit of 10 simultaneous connections.
	MaxConnections = 10
	errorsDoc      = "https://mailchimp.com/developer/marketing/docs/errors/"
)

// Campaign is a campaign as the API returns it (the fields the simulator models).
type Campaign struct {
	ID          string         `json:"id"`
	WebID       int            `json:"web_id"`
	Type        string         `json:"type"`
	CreateTime  string         `json:"create_time"`
	ArchiveURL  string         `json:"archive_url"`
	Status      string         `json:"status"`
	EmailsSent  int            `json:"emails_sent"`
	SendTime    string         `json:"send_time"`
	ContentType string         `json:"content_type"`
	Recipients  map[string]any `json:"recipients"`
	Settings    map[string]any `json:"settings"`
	Tracking    map[string]any `json:"tracking"`
	Links       []link         `json:"_links"`
	html        string
	plainText   string
}

// Member is an audience member as the API returns it.
type Member struct {
	ID            string         `json:"id"`
	EmailAddress  string         `json:"email_address"`
	UniqueEmailID string         `json:"unique_email_id"`
	ContactID     string         `json:"contact_id"`
	FullName      string         `json:"full_name"`
	WebID         int            `json:"web_id"`
	EmailType     string         `json:"email_type"`
	Status        string         `json:"status"`
	MergeFields   map[string]any `json:"merge_fields"`
	Tags          []any          `json:"tags"`
	TagsCount     int            `json:"tags_count"`
	TimestampOpt  string         `json:"timestamp_opt"`
	LastChanged   string         `json:"last_changed"`
	ListID        string         `json:"list_id"`
	Links         []link         `json:"_links"`
}

type link struct {
	Rel    string `json:"rel"`
	Href   string `json:"href"`
	Method string `json:"method"`
}

type list struct {
	id      string
	name    string
	members map[string]*Member // by subscriber hash
}

// Option configures a Server.
type Option func(*Server)

// WithKey sets the API key accepted as the Basic password (default DefaultKey).
func WithKey(key string) Option { return func(s *Server) { s.key = key } }

// WithList adds an audience. Without any WithList, New creates DefaultList.
func WithList(id, name string) Option {
	return func(s *Server) { s.lists[id] = &list{id: id, name: name, members: map[string]*Member{}} }
}

// WithClock sets the clock (default time.Now).
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// WithFaults sets the injected faults (default none).
func WithFaults(f simkit.Faults) Option { return func(s *Server) { s.Injector().Set(f) } }

// Server simulates the Mailchimp Marketing API 3.0 for one API key: campaigns (create, get,
// list, content, send, send checklist), audience members (upsert, get, add) and ping. It is an
// http.Handler, safe for concurrent use; all state is in memory.
type Server struct {
	simkit.Frame

	key string
	now func() time.Time

	mu        sync.Mutex
	inFlight  int
	lists     map[string]*list
	campaigns map[string]*Campaign
	order     []string
	nextWebID int
}

// New returns a simulator configured by opts.
func New(opts ...Option) *Server {
	s := &Server{
		key: DefaultKey, now: time.Now, Frame: simkit.NewFrame(),
		lists: map[string]*list{}, campaigns: map[string]*Campaign{}, nextWebID: 1000,
	}
	for _, o := range opts {
		o(s)
	}
	if len(s.lists) == 0 {
		WithList(DefaultList, "AquaScene Newsletter")(s)
	}
	// The connection limit wraps the injected latency so that slow requests hold their slot.
	s.Mount(s.limitConnections(s.Wrap(http.HandlerFunc(s.serveAPI), s, 10<<20)))
	return s
}

// Campaigns returns every campaign in creation order.
func (s *Server) Campaigns() []Campaign {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Campaign, 0, len(s.order))
	for _, id := range s.order {
		out = append(out, *s.campaigns[id])
	}
	return out
}

// Members returns the members of an audience, sorted by email address.
func (s *Server) Members(listID string) []Member {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.lists[listID]
	if l == nil {
		return nil
	}
	out := make([]Member, 0, len(l.members))
	for _, m := range l.members {
		out = append(out, *m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].EmailAddress < out[j].EmailAddress })
	return out
}

// SubscriberHash is the member id Mailchimp uses: the MD5 of the lowercased address.
func SubscriberHash(email string) string {
	sum := md5.Sum([]byte(strings.ToLower(strings.TrimSpace(email))))
	return hex.EncodeToString(sum[:])
}

// DataCenter returns the data center of an API key: the suffix after its last "-".
func DataCenter(key string) string {
	if i := strings.LastIndexByte(key, '-'); i >= 0 && i < len(key)-1 {
		return key[i+1:]
	}
	return ""
}

// Authorized reports whether r carries the key as HTTP Basic password (any user name) or as
// an OAuth Bearer token.
func (s *Server) Authorized(r *http.Request) bool {
	if _, pass, ok := r.BasicAuth(); ok {
		return pass == s.key
	}
	return simkit.BearerToken(r) == s.key
}

// problem writes an application/problem+json error in Mailchimp's shape.
func problem(w http.ResponseWriter, status int, title, detail string, errs ...map[string]string) {
	body := map[string]any{
		"type": errorsDoc, "title": title, "status": status, "detail": detail, "instance": instanceID(),
	}
	if len(errs) > 0 {
		body["errors"] = errs
	}
	simkit.WriteJSONType(w, status, "application/problem+json; charset=utf-8", body)
}

func instanceID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// WriteFault writes Mailchimp's problem for an injected status.
func (s *Server) WriteFault(w http.ResponseWriter, _ *http.Request, status int) {
	switch {
	case status == http.StatusUnauthorized:
		problem(w, status, "API Key Invalid", "Your API key may be invalid, or you've attempted to access the wrong datacenter.")
	case status == http.StatusTooManyRequests:
		problem(w, status, "Too Many Requests", "You have exceeded the limit of 10 simultaneous connections.")
	case status >= 500:
		problem(w, status, "Internal Server Error", "An unexpected internal error has occurred. Please contact Support for more information.")
	default:
		problem(w, status, http.StatusText(status), http.StatusText(status))
	}
}

func (s *Server) limitConnections(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		if s.inFlight >= MaxConnections {
			s.mu.Unlock()
			s.WriteFault(w, r, http.StatusTooManyRequests)
			return
		}
		s.inFlight++
		s.mu.Unlock()
		defer func() {
			s.mu.Lock()
			s.inFlight--
			s.mu.Unlock()
		}()
		next.ServeHTTP(w, r)
	})
}

func notFound(w http.ResponseWriter) {
	problem(w, http.StatusNotFound, "Resource Not Found", "The requested resource could not be found.")
}

func methodNotAllowed(w http.ResponseWriter) {
	problem(w, http.StatusMethodNotAllowed, "Method Not Allowed", "The requested method and resource are not compatible. See the Allow header for this resource's available methods.")
}

var hostDC = regexp.MustCompile(`^([a-z]+[0-9]+)\.api\.mailchimp\.com(:\d+)?$`)

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, simkit.ControlPrefix) {
		notFound(w)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/3.0/")
	if !ok {
		notFound(w)
		return
	}
	if !s.Authorized(r) {
		s.WriteFault(w, r, http.StatusUnauthorized)
		return
	}
	// Behind a real host name, the key's data center must match it.
	if m := hostDC.FindStringSubmatch(r.Host); m != nil && m[1] != DataCenter(s.key) {
		s.WriteFault(w, r, http.StatusUnauthorized)
		return
	}
	segs := strings.Split(strings.Trim(rest, "/"), "/")
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case len(segs) == 1 && segs[0] == "ping" && r.Method == http.MethodGet:
		simkit.WriteJSON(w, http.StatusOK, map[string]string{"health_status": "Everything's Chimpy!"})
	case segs[0] == "campaigns":
		s.serveCampaigns(w, r, segs[1:])
	case segs[0] == "lists" && len(segs) >= 2:
		l := s.lists[segs[1]]
		if l == nil {
			notFound(w)
			return
		}
		s.serveList(w, r, l, segs[2:])
	default:
		notFound(w)
	}
}

// decode reads a JSON object body, writing Mailchimp's parse error on failure.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	b, err := io.ReadAll(r.Body)
	if err != nil || len(bytes.TrimSpace(b)) == 0 || json.Unmarshal(b, v) != nil {
		problem(w, http.StatusBadRequest, "JSON Parse Exception", "We encountered an unspecified JSON parsing error.")
		return false
	}
	return true
}

func invalid(w http.ResponseWriter, errs ...map[string]string) {
	problem(w, http.StatusBadRequest, "Invalid Resource",
		"The resource submitted could not be validated. For field-specific details, see the 'errors' array.", errs...)
}

func (s *Server) stamp() string { return s.now().UTC().Format("2006-01-02T15:04:05+00:00") }

func (s *Server) serveCampaigns(w http.ResponseWriter, r *http.Request, segs []string) {
	if len(segs) == 0 {
		switch r.Method {
		case http.MethodPost:
			s.createCampaign(w, r)
		case http.MethodGet:
			s.listCampaigns(w, r)
		default:
			methodNotAllowed(w)
		}
		return
	}
	c := s.campaigns[segs[0]]
	if c == nil {
		notFound(w)
		return
	}
	switch {
	case len(segs) == 1 && r.Method == http.MethodGet:
		simkit.WriteJSON(w, http.StatusOK, c)
	case len(segs) == 1 && r.Method == http.MethodDelete:
		if c.Status == "sent" || c.Status == "sending" {
			problem(w, http.StatusBadRequest, "Bad Request", "This campaign cannot be deleted because it has already been sent.")
			return
		}
		delete(s.campaigns, c.ID)
		for i, id := range s.order {
			if id == c.ID {
				s.order = append(s.order[:i], s.order[i+1:]...)
				break
			}
		}
		w.WriteHeader(http.StatusNoContent)
	case len(segs) == 2 && segs[1] == "content" && r.Method == http.MethodPut:
		s.setContent(w, r, c)
	case len(segs) == 2 && segs[1] == "content" && r.Method == http.MethodGet:
		simkit.WriteJSON(w, http.StatusOK, contentBody(c))
	case len(segs) == 2 && segs[1] == "send-checklist" && r.Method == http.MethodGet:
		items := s.checklist(c)
		simkit.WriteJSON(w, http.StatusOK, map[string]any{"is_ready": len(items) == 0, "items": items})
	case len(segs) == 3 && segs[1] == "actions" && segs[2] == "send" && r.Method == http.MethodPost:
		s.send(w, c)
	case len(segs) == 1 || len(segs) == 2 && segs[1] == "content" || len(segs) == 3 && segs[1] == "actions" && segs[2] == "send":
		methodNotAllowed(w)
	default:
		notFound(w)
	}
}

var campaignTypes = map[string]bool{"regular": true, "plaintext": true, "absplit": true, "rss": true, "variate": true}

func (s *Server) createCampaign(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Type       string         `json:"type"`
		Recipients map[string]any `json:"recipients"`
		Settings   map[string]any `json:"settings"`
		Tracking   map[string]any `json:"tracking"`
	}
	if !decode(w, r, &body) {
		return
	}
	var errs []map[string]string
	if !campaignTypes[body.Type] {
		errs = append(errs, map[string]string{"field": "type", "message": "Data presented is not one of the accepted values: regular, plaintext, absplit, rss, variate."})
	}
	listID, _ := body.Recipients["list_id"].(string)
	if body.Recipients != nil && listID != "" && s.lists[listID] == nil {
		errs = append(errs, map[string]string{"field": "recipients.list_id", "message": "The list_id " + listID + " does not exist."})
	}
	if replyTo, ok := body.Settings["reply_to"].(string); ok && replyTo != "" && !validEmail(replyTo) {
		errs = append(errs, map[string]string{"field": "settings.reply_to", "message": "This value should be a valid email address."})
	}
	if len(errs) > 0 {
		invalid(w, errs...)
		return
	}
	id := randomHex(10)
	s.nextWebID++
	if body.Settings == nil {
		body.Settings = map[string]any{}
	}
	if body.Tracking == nil {
		body.Tracking = map[string]any{"opens": true, "html_clicks": true, "text_clicks": false}
	}
	recipients := map[string]any{"list_id": listID, "list_is_active": listID != "", "recipient_count": 0}
	for k, v := range body.Recipients {
		recipients[k] = v
	}
	if l := s.lists[listID]; l != nil {
		recipients["list_name"] = l.name
		recipients["recipient_count"] = subscribed(l)
	}
	c := &Campaign{
		ID: id, WebID: s.nextWebID, Type: body.Type, CreateTime: s.stamp(),
		ArchiveURL: "http://eepurl.com/sim" + id[:6], Status: "save", ContentType: "template",
		Recipients: recipients, Settings: body.Settings, Tracking: body.Tracking,
		Links: []link{{Rel: "self", Href: "https://us21.api.mailchimp.com/3.0/campaigns/" + id, Method: "GET"}},
	}
	s.campaigns[id] = c
	s.order = append(s.order, id)
	simkit.WriteJSON(w, http.StatusOK, c)
}

func (s *Server) listCampaigns(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	count, offset := 10, 0
	if v := q.Get("count"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			invalid(w, map[string]string{"field": "count", "message": "count must be between 1 and 1000"})
			return
		}
		count = n
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			invalid(w, map[string]string{"field": "offset", "message": "offset must be a non-negative integer"})
			return
		}
		offset = n
	}
	status := q.Get("status")
	var all []*Campaign
	for _, id := range s.order {
		if c := s.campaigns[id]; status == "" || c.Status == status {
			all = append(all, c)
		}
	}
	page := []*Campaign{}
	for i := offset; i < len(all) && len(page) < count; i++ {
		page = append(page, all[i])
	}
	simkit.WriteJSON(w, http.StatusOK, map[string]any{"campaigns": page, "total_items": len(all)})
}

func contentBody(c *Campaign) map[string]any {
	return map[string]any{
		"plain_text": c.plainText, "html": c.html, "archive_html": c.html,
		"_links": []link{{Rel: "self", Href: "https://us21.api.mailchimp.com/3.0/campaigns/" + c.ID + "/content", Method: "GET"}},
	}
}

var tags = regexp.MustCompile(`(?s)<[^>]*>`)

func (s *Server) setContent(w http.ResponseWriter, r *http.Request, c *Campaign) {
	if c.Status == "sent" || c.Status == "sending" {
		problem(w, http.StatusBadRequest, "Bad Request", "Cannot update the content of a campaign that has been sent.")
		return
	}
	var body struct {
		HTML      *string         `json:"html"`
		PlainText *string         `json:"plain_text"`
		Template  json.RawMessage `json:"template"`
		URL       *string         `json:"url"`
		Archive   json.RawMessage `json:"archive"`
	}
	if !decode(w, r, &body) {
		return
	}
	switch {
	case body.HTML != nil:
		c.html, c.ContentType = *body.HTML, "html"
		c.plainText = strings.TrimSpace(tags.ReplaceAllString(*body.HTML, ""))
		if body.PlainText != nil {
			c.plainText = *body.PlainText
		}
	case body.PlainText != nil:
		c.plainText, c.html, c.ContentType = *body.PlainText, "", "html"
	case body.Template != nil, body.URL != nil, body.Archive != nil:
		problem(w, http.StatusBadRequest, "Bad Request", "The simulator models html and plain_text content only.")
		return
	default:
		invalid(w, map[string]string{"field": "", "message": "Provide one of html, plain_text, template, url or archive."})
		return
	}
	simkit.WriteJSON(w, http.StatusOK, contentBody(c))
}

func subscribed(l *list) int {
	n := 0
	for _, m := range l.members {
		if m.Status == "subscribed" {
			n++
		}
	}
	return n
}

// checklist returns the reasons a campaign cannot be sent, as send-checklist items.
func (s *Server) checklist(c *Campaign) []map[string]any {
	var items []map[string]any
	add := func(heading, details string) {
		items = append(items, map[string]any{"type": "error", "id": len(items), "heading": heading, "details": details})
	}
	listID, _ := c.Recipients["list_id"].(string)
	l := s.lists[listID]
	if l == nil {
		add("Audience", "You need to select an audience to send to.")
	} else if subscribed(l) == 0 {
		add("Audience", "Your audience has no subscribed contacts.")
	}
	for _, f := range []struct{ key, heading string }{{"subject_line", "Subject Line"}, {"from_name", "From Name"}, {"reply_to", "From Email"}} {
		if v, _ := c.Settings[f.key].(string); v == "" {
			add(f.heading, "You need to add a "+strings.ToLower(f.heading)+".")
		}
	}
	if c.html == "" && c.plainText == "" {
		add("Content", "You need to add content to your campaign.")
	}
	return items
}

func (s *Server) send(w http.ResponseWriter, c *Campaign) {
	if c.Status == "sent" || c.Status == "sending" {
		problem(w, http.StatusBadRequest, "Bad Request", "This campaign has already been sent.")
		return
	}
	if items := s.checklist(c); len(items) > 0 {
		problem(w, http.StatusBadRequest, "Bad Request", "Your Campaign is not ready to send.")
		return
	}
	listID, _ := c.Recipients["list_id"].(string)
	c.Status, c.EmailsSent, c.SendTime = "sent", subscribed(s.lists[listID]), s.stamp()
	w.WriteHeader(http.StatusNoContent)
}

var memberStatuses = map[string]bool{"subscribed": true, "unsubscribed": true, "cleaned": true, "pending": true, "transactional": true}

func validEmail(s string) bool {
	at := strings.LastIndexByte(s, '@')
	return at > 0 && at < len(s)-1 && strings.Contains(s[at+1:], ".") && !strings.ContainsAny(s, " \t\r\n<>,;")
}

func (s *Server) serveList(w http.ResponseWriter, r *http.Request, l *list, segs []string) {
	switch {
	case len(segs) == 0 && r.Method == http.MethodGet:
		simkit.WriteJSON(w, http.StatusOK, map[string]any{"id": l.id, "name": l.name, "stats": map[string]any{"member_count": subscribed(l)}})
	case len(segs) == 1 && segs[0] == "members" && r.Method == http.MethodPost:
		s.upsertMember(w, r, l, "", true)
	case len(segs) == 2 && segs[0] == "members" && r.Method == http.MethodPut:
		s.upsertMember(w, r, l, segs[1], false)
	case len(segs) == 2 && segs[0] == "members" && r.Method == http.MethodGet:
		m := l.members[strings.ToLower(segs[1])]
		if m == nil {
			m = l.members[SubscriberHash(segs[1])]
		}
		if m == nil {
			notFound(w)
			return
		}
		simkit.WriteJSON(w, http.StatusOK, m)
	case len(segs) == 2 && segs[0] == "members":
		methodNotAllowed(w)
	default:
		notFound(w)
	}
}

// upsertMember serves PUT /lists/{id}/members/{hash} (add or update) and POST
// /lists/{id}/members (add only).
func (s *Server) upsertMember(w http.ResponseWriter, r *http.Request, l *list, hash string, addOnly bool) {
	var body struct {
		EmailAddress string         `json:"email_address"`
		StatusIfNew  string         `json:"status_if_new"`
		Status       string         `json:"status"`
		EmailType    string         `json:"email_type"`
		MergeFields  map[string]any `json:"merge_fields"`
		Tags         []string       `json:"tags"`
	}
	if !decode(w, r, &body) {
		return
	}
	var errs []map[string]string
	if !validEmail(body.EmailAddress) {
		errs = append(errs, map[string]string{"field": "email_address", "message": "This value should be a valid email address."})
	}
	if body.Status != "" && !memberStatuses[body.Status] {
		errs = append(errs, map[string]string{"field": "status", "message": "Data presented is not one of the accepted values: subscribed, unsubscribed, cleaned, pending, transactional."})
	}
	if body.StatusIfNew != "" && !memberStatuses[body.StatusIfNew] {
		errs = append(errs, map[string]string{"field": "status_if_new", "message": "Data presented is not one of the accepted values: subscribed, unsubscribed, cleaned, pending, transactional."})
	}
	if len(errs) > 0 {
		invalid(w, errs...)
		return
	}
	want := SubscriberHash(body.EmailAddress)
	if hash != "" && strings.ToLower(hash) != want && !strings.EqualFold(hash, body.EmailAddress) {
		problem(w, http.StatusBadRequest, "Invalid Resource", "The email address does not match the subscriber hash in the URL.")
		return
	}
	m := l.members[want]
	if m != nil && addOnly {
		problem(w, http.StatusBadRequest, "Member Exists", body.EmailAddress+" is already a list member. Use PUT to insert or update list members.")
		return
	}
	now := s.stamp()
	if m == nil {
		status := body.Status
		if status == "" && !addOnly {
			status = body.StatusIfNew
		}
		if status == "" {
			field := "status_if_new"
			if addOnly {
				field = "status"
			}
			invalid(w, map[string]string{"field": field, "message": "This value should not be blank."})
			return
		}
		s.nextWebID++
		m = &Member{
			ID: want, UniqueEmailID: randomHex(10), ContactID: randomHex(32), WebID: s.nextWebID,
			EmailType: "html", Status: status, MergeFields: map[string]any{}, Tags: []any{},
			TimestampOpt: now, ListID: l.id,
			Links: []link{{Rel: "self", Href: "https://us21.api.mailchimp.com/3.0/lists/" + l.id + "/members/" + want, Method: "GET"}},
		}
		l.members[want] = m
	} else if body.Status != "" {
		m.Status = body.Status
	}
	m.EmailAddress = body.EmailAddress
	if body.EmailType != "" {
		m.EmailType = body.EmailType
	}
	for k, v := range body.MergeFields {
		m.MergeFields[k] = v
	}
	for _, t := range body.Tags {
		m.Tags = append(m.Tags, map[string]any{"id": len(m.Tags) + 1, "name": t})
	}
	m.TagsCount = len(m.Tags)
	first, _ := m.MergeFields["FNAME"].(string)
	last, _ := m.MergeFields["LNAME"].(string)
	m.FullName = strings.TrimSpace(first + " " + last)
	m.LastChanged = now
	simkit.WriteJSON(w, http.StatusOK, m)
}

func randomHex(n int) string {
	b := make([]byte, (n+1)/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)[:n]
}

// BasicAuth returns the Authorization header value the Mailchimp SDKs send for key.
func BasicAuth(key string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte("anystring:"+key))
}
