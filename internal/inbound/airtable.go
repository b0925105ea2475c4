package inbound

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/sdk/netguard"
	bbolt "go.etcd.io/bbolt"
)

// AirtableDefaultBaseURL is Airtable's API origin.
const AirtableDefaultBaseURL = "https://api.airtable.com"

// Airtable record event types.
const (
	AirtableRecordCreated = "airtable.record.created"
	AirtableRecordUpdated = "airtable.record.updated"
	AirtableRecordDeleted = "airtable.record.deleted"
)

// AirtableFetch configures what an airtable source does after a verified notification ping:
// the ping carries no change data, so the hub fetches the webhook's payloads through its
// cursor and publishes one event per changed record.
type AirtableFetch struct {
	// BaseURL is the API origin (default AirtableDefaultBaseURL).
	BaseURL string
	// Token is the personal access token (data.records:read and schema.bases:read).
	Token string
	// BaseID and WebhookID name the webhook; a ping for another webhook is refused.
	BaseID, WebhookID string
	// Policy decides which addresses the fetch may reach (SSRF guard); the zero value
	// allows public https origins only.
	Policy netguard.Policy
	// Timeout bounds one HTTP request (default 15s).
	Timeout time.Duration
}

// airtableFetcher fetches and converts payloads for one source; mu serialises pings so one
// cursor is never read by two fetches at once.
type airtableFetcher struct {
	cfg    AirtableFetch
	base   *url.URL
	client *http.Client

	mu     sync.Mutex
	schema *airtableSchema
}

// maxAirtablePages bounds the payload pages one ping fetches; the cursor is kept, so the
// next ping continues where this one stopped.
const maxAirtablePages = 50

var (
	bucketAirtableCursor = []byte("webhooks.inbound.airtable")
	airtableWebhookID    = regexp.MustCompile(`^ach[A-Za-z0-9]{14}$`)
	airtableBaseID       = regexp.MustCompile(`^app[A-Za-z0-9]{14}$`)
)

func newAirtableFetcher(cfg AirtableFetch) (*airtableFetcher, error) {
	if !airtableWebhookID.MatchString(cfg.WebhookID) {
		return nil, fmt.Errorf("webhook_id: must be ach followed by 14 letters or digits (got %q)", cfg.WebhookID)
	}
	if !airtableBaseID.MatchString(cfg.BaseID) {
		return nil, fmt.Errorf("base_id: must be app followed by 14 letters or digits (got %q)", cfg.BaseID)
	}
	if cfg.Token == "" {
		return nil, errors.New("token: required to fetch the webhook's payloads")
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = AirtableDefaultBaseURL
	}
	u, err := cfg.Policy.CheckURL(strings.TrimRight(cfg.BaseURL, "/"))
	if err != nil {
		return nil, fmt.Errorf("base_url: %w", err)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 15 * time.Second
	}
	client := &http.Client{
		Timeout: cfg.Timeout,
		Transport: &http.Transport{
			Proxy:               nil, // a proxy would connect on our behalf, past the policy
			DialContext:         cfg.Policy.DialContext,
			TLSHandshakeTimeout: 10 * time.Second,
			MaxIdleConnsPerHost: 2,
			IdleConnTimeout:     90 * time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return &airtableFetcher{cfg: cfg, base: u, client: client}, nil
}

// airtablePing is the notification body: it names the base and webhook, nothing else.
type airtablePing struct {
	Base struct {
		ID string `json:"id"`
	} `json:"base"`
	Webhook struct {
		ID string `json:"id"`
	} `json:"webhook"`
	Timestamp string `json:"timestamp"`
}

type airtablePayloads struct {
	Payloads      []airtablePayload `json:"payloads"`
	Cursor        uint64            `json:"cursor"`
	MightHaveMore bool              `json:"mightHaveMore"`
}

type airtablePayload struct {
	Timestamp             string                         `json:"timestamp"`
	BaseTransactionNumber uint64                         `json:"baseTransactionNumber"`
	ChangedTablesByID     map[string]airtableTableChange `json:"changedTablesById"`
	// Error marks a payload Airtable could not build (error: true, code).
	Error bool   `json:"error"`
	Code  string `json:"code"`
}

type airtableCells struct {
	CellValuesByFieldID map[string]any `json:"cellValuesByFieldId"`
}

type airtableTableChange struct {
	CreatedRecordsByID map[string]struct {
		CreatedTime string `json:"createdTime"`
		airtableCells
	} `json:"createdRecordsById"`
	ChangedRecordsByID map[string]struct {
		Current   *airtableCells `json:"current"`
		Previous  *airtableCells `json:"previous"`
		Unchanged *airtableCells `json:"unchanged"`
	} `json:"changedRecordsById"`
	DestroyedRecordIDs []string `json:"destroyedRecordIds"`
}

// airtableSchema names tables and fields by id.
type airtableSchema struct {
	tables map[string]string // table id → name
	fields map[string]string // field id → name
}

func (s *airtableSchema) knows(p airtablePayload) bool {
	if s == nil {
		return false
	}
	for tid, tc := range p.ChangedTablesByID {
		if _, ok := s.tables[tid]; !ok {
			return false
		}
		check := func(c map[string]any) bool {
			for fid := range c {
				if _, ok := s.fields[fid]; !ok {
					return false
				}
			}
			return true
		}
		for _, r := range tc.CreatedRecordsByID {
			if !check(r.CellValuesByFieldID) {
				return false
			}
		}
		for _, r := range tc.ChangedRecordsByID {
			for _, c := range []*airtableCells{r.Current, r.Previous, r.Unchanged} {
				if c != nil && !check(c.CellValuesByFieldID) {
					return false
				}
			}
		}
	}
	return true
}

// get calls the Airtable API and decodes a 200 answer into v; other answers become
// classified errors (auth, not found, rate limited with Airtable's 30 s, transient).
func (f *airtableFetcher) get(ctx context.Context, path string, query url.Values, v any) error {
	u := *f.base
	u.Path = strings.TrimRight(u.Path, "/") + path
	u.RawQuery = query.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return core.Permanent(err)
	}
	req.Header.Set("Authorization", "Bearer "+f.cfg.Token)
	req.Header.Set("Accept", "application/json")
	resp, err := f.client.Do(req)
	if err != nil {
		if errors.Is(err, netguard.ErrBlocked) {
			return core.Permanent(fmt.Errorf("airtable: %w", err))
		}
		return core.Transient(fmt.Errorf("airtable: GET %s: %w", path, err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return core.Transient(fmt.Errorf("airtable: reading GET %s: %w", path, err))
	}
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(body, v); err != nil {
			return core.Transient(fmt.Errorf("airtable: GET %s: undecodable answer: %w", path, err))
		}
		return nil
	}
	msg := fmt.Errorf("airtable: GET %s: %s: %s", path, resp.Status, airtableErrorText(body))
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		return core.RateLimited(30*time.Second, msg)
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return &core.StepError{Class: core.ClassAuth, Err: msg}
	case resp.StatusCode == http.StatusNotFound:
		return &core.StepError{Class: core.ClassNotFound, Err: msg}
	case resp.StatusCode >= 500:
		return core.Transient(msg)
	default:
		return core.Permanent(msg)
	}
}

// airtableErrorText reads Airtable's {"error":{"type","message"}} or {"error":"NOT_FOUND"}.
func airtableErrorText(body []byte) string {
	var e struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && len(e.Error) > 0 {
		var typed struct{ Type, Message string }
		if json.Unmarshal(e.Error, &typed) == nil && typed.Type != "" {
			return typed.Type + ": " + typed.Message
		}
		var s string
		if json.Unmarshal(e.Error, &s) == nil {
			return s
		}
	}
	if len(body) > 200 {
		body = body[:200]
	}
	return strings.TrimSpace(string(body))
}

func (f *airtableFetcher) loadSchema(ctx context.Context) error {
	var meta struct {
		Tables []struct {
			ID     string `json:"id"`
			Name   string `json:"name"`
			Fields []struct {
				ID   string `json:"id"`
				Name string `json:"name"`
			} `json:"fields"`
		} `json:"tables"`
	}
	if err := f.get(ctx, "/v0/meta/bases/"+url.PathEscape(f.cfg.BaseID)+"/tables", nil, &meta); err != nil {
		return fmt.Errorf("reading the base schema: %w", err)
	}
	s := &airtableSchema{tables: map[string]string{}, fields: map[string]string{}}
	for _, t := range meta.Tables {
		s.tables[t.ID] = t.Name
		for _, fl := range t.Fields {
			s.fields[fl.ID] = fl.Name
		}
	}
	f.schema = s
	return nil
}

// cursorKey is tenant, source and webhook id: a source pointed at a new webhook starts over.
func (f *airtableFetcher) cursorKey(tenant, source string) []byte {
	return []byte(tenant + "\x00" + source + "\x00" + f.cfg.WebhookID)
}

// receiveAirtable verifies a notification ping, then fetches every payload after the stored
// cursor and publishes one event per changed record, advancing the cursor after each page is
// published. Event ids are derived from the webhook, the base transaction and the record, so
// a page fetched twice (a crash before the cursor was stored) publishes duplicates that the
// store recognises.
func (r *Receiver) receiveAirtable(ctx context.Context, s *Source, header http.Header, body []byte, now time.Time) (Result, error) {
	f := s.airtable
	if _, err := s.verifier.Verify(Request{Header: header, Body: body, Now: now}); err != nil {
		return Result{}, err
	}
	var ping airtablePing
	if err := json.Unmarshal(body, &ping); err != nil {
		return Result{}, core.Invalid("body", "not an Airtable notification ping: %v", err)
	}
	if ping.Webhook.ID != f.cfg.WebhookID || ping.Base.ID != f.cfg.BaseID {
		return Result{}, core.Invalid("webhook.id", "ping for webhook %s of base %s, this source fetches %s of %s",
			ping.Webhook.ID, ping.Base.ID, f.cfg.WebhookID, f.cfg.BaseID)
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	key := f.cursorKey(s.Tenant, s.Name)
	var cursor uint64 = 1
	_ = r.db.View(func(tx *bbolt.Tx) error {
		if v := tx.Bucket(bucketAirtableCursor).Get(key); len(v) == 8 {
			cursor = binary.BigEndian.Uint64(v)
		}
		return nil
	})
	res := Result{Accepted: core.Accepted{Source: eventSource(s.Name)}}
	reloaded := false // the schema is read again at most once per ping
	for page := 0; page < maxAirtablePages; page++ {
		var got airtablePayloads
		q := url.Values{"cursor": {strconv.FormatUint(cursor, 10)}}
		path := "/v0/bases/" + url.PathEscape(f.cfg.BaseID) + "/webhooks/" + url.PathEscape(f.cfg.WebhookID) + "/payloads"
		if err := f.get(ctx, path, q, &got); err != nil {
			return res, fmt.Errorf("fetching payloads of %s: %w", f.cfg.WebhookID, err)
		}
		var events []core.Event
		for _, p := range got.Payloads {
			if p.Error {
				continue // Airtable could not build this payload; nothing to publish
			}
			if !reloaded && !f.schema.knows(p) {
				if err := f.loadSchema(ctx); err != nil {
					return res, err
				}
				reloaded = true
			}
			evs, err := f.events(s.Name, p, now)
			if err != nil {
				return res, err
			}
			events = append(events, evs...)
		}
		if len(events) > 0 {
			acc, err := r.pub.Publish(ctx, s.Tenant, events...)
			if err != nil {
				return res, err
			}
			res.Events = append(res.Events, acc...)
		}
		if got.Cursor > cursor || len(got.Payloads) > 0 {
			next := max(got.Cursor, cursor)
			err := r.db.Batch(func(tx *bbolt.Tx) error {
				var v [8]byte
				binary.BigEndian.PutUint64(v[:], next)
				return tx.Bucket(bucketAirtableCursor).Put(key, v[:])
			})
			if err != nil {
				return res, fmt.Errorf("storing the payload cursor: %w", err)
			}
			cursor = next
		}
		if !got.MightHaveMore || len(got.Payloads) == 0 {
			break
		}
	}
	if len(res.Events) > 0 {
		res.Accepted = res.Events[len(res.Events)-1]
	}
	return res, nil
}

func eventSource(name string) string { return "aquahub/hooks/" + name }

// events converts one payload into record events, in a stable order: tables by id, then
// created, updated and deleted records by id.
func (f *airtableFetcher) events(source string, p airtablePayload, now time.Time) ([]core.Event, error) {
	t := now.UTC()
	if pt, err := time.Parse(time.RFC3339Nano, p.Timestamp); err == nil {
		t = pt.UTC()
	}
	names := func(cells map[string]any, into map[string]any) []string {
		var changed []string
		for fid, v := range cells {
			name := fid
			if n, ok := f.schema.fields[fid]; ok {
				name = n
			}
			into[name] = v
			changed = append(changed, name)
		}
		sort.Strings(changed)
		return changed
	}
	var out []core.Event
	add := func(typ, tableID, recID string, data map[string]any) error {
		data["base"] = f.cfg.BaseID
		data["table"] = tableID
		if name := f.schema.tables[tableID]; name != "" {
			data["table"] = name
		}
		data["table_id"] = tableID
		data["record_id"] = recID
		b, err := json.Marshal(data)
		if err != nil {
			return core.Invalid("data", "record %s: %v", recID, err)
		}
		ev := core.Event{
			SpecVersion: core.SpecVersion, Source: eventSource(source), Type: typ, Subject: recID,
			ID:   fmt.Sprintf("%s-%d-%s", f.cfg.WebhookID, p.BaseTransactionNumber, recID),
			Time: &t, DataContentType: "application/json", Data: b,
		}
		if err := ev.Validate(); err != nil {
			return err
		}
		out = append(out, ev)
		return nil
	}
	for _, tid := range sortedKeys(p.ChangedTablesByID) {
		tc := p.ChangedTablesByID[tid]
		for _, rid := range sortedKeys(tc.CreatedRecordsByID) {
			rec := tc.CreatedRecordsByID[rid]
			fields := map[string]any{}
			changed := names(rec.CellValuesByFieldID, fields)
			data := map[string]any{"fields": fields, "changed_fields": nonNil(changed), "created_time": rec.CreatedTime}
			if err := add(AirtableRecordCreated, tid, rid, data); err != nil {
				return nil, err
			}
		}
		for _, rid := range sortedKeys(tc.ChangedRecordsByID) {
			rec := tc.ChangedRecordsByID[rid]
			fields := map[string]any{}
			if rec.Unchanged != nil {
				names(rec.Unchanged.CellValuesByFieldID, fields)
			}
			var changed []string
			if rec.Current != nil {
				changed = names(rec.Current.CellValuesByFieldID, fields)
			}
			data := map[string]any{"fields": fields, "changed_fields": nonNil(changed)}
			if rec.Previous != nil {
				prev := map[string]any{}
				names(rec.Previous.CellValuesByFieldID, prev)
				data["previous_fields"] = prev
			}
			if err := add(AirtableRecordUpdated, tid, rid, data); err != nil {
				return nil, err
			}
		}
		destroyed := append([]string(nil), tc.DestroyedRecordIDs...)
		sort.Strings(destroyed)
		for _, rid := range destroyed {
			if err := add(AirtableRecordDeleted, tid, rid, map[string]any{"fields": map[string]any{}, "changed_fields": []string{}}); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
