// Package client is the Go client for aquahub's REST API.
//
//	c := client.New("http://127.0.0.1:8080", "dev-key")
//	acc, err := c.SendEvent(ctx, client.Event{ID: "1", Source: "app", Type: "newsletter.requested"})
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aquascene/aquahub/sdk/api"
)

// Client talks to one hub as one tenant.
type Client struct {
	BaseURL string
	APIKey  string
	HTTP    *http.Client
}

// New returns a client for the hub at baseURL authenticating with apiKey.
func New(baseURL, apiKey string) *Client {
	return &Client{BaseURL: strings.TrimRight(baseURL, "/"), APIKey: apiKey, HTTP: &http.Client{Timeout: 60 * time.Second}}
}

// Error is a problem+json answer from the hub.
type Error struct {
	Status int            `json:"status"`
	Title  string         `json:"title"`
	Detail string         `json:"detail"`
	Errors []ErrorField   `json:"errors"`
	Extra  map[string]any `json:"-"`
}

// ErrorField names an offending field.
type ErrorField struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (e *Error) Error() string {
	s := fmt.Sprintf("%d %s", e.Status, e.Title)
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// IsNotFound reports whether err is a 404 from the hub.
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == 404
}

// Do sends a request with an optional JSON body (a []byte is sent as is, with
// contentType) and decodes a JSON answer into out when out is not nil.
func (c *Client) Do(ctx context.Context, method, path string, body any, contentType string, header http.Header, out any) (*http.Response, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(buf)
		if contentType == "" {
			contentType = "application/json"
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, rd)
	if err != nil {
		return nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.APIKey)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return resp, err
	}
	if resp.StatusCode >= 400 {
		e := &Error{Status: resp.StatusCode, Title: resp.Status}
		_ = json.Unmarshal(data, e)
		if e.Detail == "" && e.Title == resp.Status {
			e.Detail = strings.TrimSpace(string(data))
		}
		return resp, e
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return resp, fmt.Errorf("decoding answer of %s %s: %w", method, path, err)
		}
	}
	return resp, nil
}

// The API's types, under the names this client has always used.
type (
	// Event is a CloudEvent as a client sends it.
	Event = api.Event
	// Accepted is the hub's answer for one event.
	Accepted = api.Accepted
	// StoredEvent is an event as the hub returns it.
	StoredEvent = api.StoredEvent
	// Run is a run as the API shows it.
	Run = api.Run
	// Step is one ledger entry of a run.
	Step = api.Step
)

// SendEvent posts one event in structured mode.
func (c *Client) SendEvent(ctx context.Context, ev Event) (Accepted, error) {
	if ev.SpecVersion == "" {
		ev.SpecVersion = "1.0"
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return Accepted{}, err
	}
	return c.SendRaw(ctx, b, "")
}

// SendRaw posts one structured-mode event given as JSON; idempotencyKey may be empty.
func (c *Client) SendRaw(ctx context.Context, event []byte, idempotencyKey string) (Accepted, error) {
	var acc Accepted
	h := http.Header{}
	if idempotencyKey != "" {
		h.Set("Idempotency-Key", idempotencyKey)
	}
	_, err := c.Do(ctx, "POST", "/api/v1/events", event, "application/cloudevents+json", h, &acc)
	return acc, err
}

// SendBatch posts events as one application/cloudevents-batch+json request.
func (c *Client) SendBatch(ctx context.Context, events []json.RawMessage) ([]Accepted, error) {
	b, err := json.Marshal(events)
	if err != nil {
		return nil, err
	}
	var out api.AcceptedBatch
	_, err = c.Do(ctx, "POST", "/api/v1/events", b, "application/cloudevents-batch+json", nil, &out)
	return out.Events, err
}

// GetEvent fetches an event by id (and source, when several sources used the id).
func (c *Client) GetEvent(ctx context.Context, id, source string) (StoredEvent, error) {
	var ev StoredEvent
	p := "/api/v1/events/" + url.PathEscape(id)
	if source != "" {
		p += "?source=" + url.QueryEscape(source)
	}
	_, err := c.Do(ctx, "GET", p, nil, "", nil, &ev)
	return ev, err
}

// RunFilter selects runs; empty fields do not filter.
type RunFilter struct {
	Status, Rule, Event, After string
	Limit                      int
}

func (f RunFilter) query() string {
	q := url.Values{}
	for k, v := range map[string]string{"status": f.Status, "rule": f.Rule, "event": f.Event, "after": f.After} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

// Runs lists runs, newest first.
func (c *Client) Runs(ctx context.Context, f RunFilter) ([]Run, error) {
	var out api.RunList
	_, err := c.Do(ctx, "GET", "/api/v1/runs"+f.query(), nil, "", nil, &out)
	return out.Runs, err
}

// Run fetches one run with its steps.
func (c *Client) Run(ctx context.Context, id string) (Run, error) {
	var r Run
	_, err := c.Do(ctx, "GET", "/api/v1/runs/"+url.PathEscape(id), nil, "", nil, &r)
	return r, err
}

// DeadLetters lists the dead-letter queue.
func (c *Client) DeadLetters(ctx context.Context, f RunFilter) ([]Run, error) {
	var out api.RunList
	_, err := c.Do(ctx, "GET", "/api/v1/dlq"+f.query(), nil, "", nil, &out)
	return out.Runs, err
}

// Replay queues a dead run again.
func (c *Client) Replay(ctx context.Context, id string) (Run, error) {
	var r Run
	_, err := c.Do(ctx, "POST", "/api/v1/dlq/"+url.PathEscape(id)+"/replay", nil, "", nil, &r)
	return r, err
}

// Discard deletes a dead run.
func (c *Client) Discard(ctx context.Context, id string) error {
	_, err := c.Do(ctx, "DELETE", "/api/v1/dlq/"+url.PathEscape(id), nil, "", nil, nil)
	return err
}
