package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aquascene/aquahub/sdk/plugin"
)

const (
	defaultBaseURL = "https://api.airtable.com"
	// maxPerRequest is Airtable's limit of records per create, update or upsert request.
	maxPerRequest = 10
	// requestsPerSecond is Airtable's limit per base; the host enforces it (see Connector).
	requestsPerSecond = 5
	// rateLimitPenalty is how long Airtable wants clients to wait after a 429.
	rateLimitPenalty = 30 * time.Second
	// maxURLLength is where list requests switch to the POST listRecords form, as airtable.js.
	maxURLLength = 15000
)

// client speaks the Airtable Web API v0 through the host's HTTP transport.
type client struct {
	baseURL string
	http    *http.Client
	auth    string
}

func newClient(ctx context.Context) *client {
	return &client{
		baseURL: strings.TrimRight(plugin.ConfigString(ctx, "base_url", defaultBaseURL), "/"),
		http:    plugin.HTTPClient(),
		auth:    "Bearer " + plugin.Secret("api_key"),
	}
}

// apiError is Airtable's error body: {"error":{"type","message"}} or {"error":"NOT_FOUND"}.
type apiError struct {
	Status  int
	Type    string
	Message string
}

func (e *apiError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("airtable: %d %s", e.Status, e.Type)
	}
	return fmt.Sprintf("airtable: %d %s: %s", e.Status, e.Type, e.Message)
}

func parseError(status int, body []byte) *apiError {
	e := &apiError{Status: status}
	var typed struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(body, &typed) == nil && len(typed.Error) > 0 {
		var obj struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		}
		if json.Unmarshal(typed.Error, &obj) == nil {
			e.Type, e.Message = obj.Type, obj.Message
		} else {
			_ = json.Unmarshal(typed.Error, &e.Type)
		}
	}
	if e.Type == "" {
		e.Type = http.StatusText(status)
		if len(body) > 0 && len(body) < 200 {
			e.Message = strings.TrimSpace(string(body))
		}
	}
	return e
}

// fieldOf names the input field an Airtable 422 type is about.
var fieldOf = map[string]string{
	"INVALID_FILTER_BY_FORMULA":           "filter_by_formula",
	"UNKNOWN_FIELD_NAME":                  "fields",
	"INVALID_VALUE_FOR_COLUMN":            "records",
	"INVALID_RECORDS":                     "records",
	"VIEW_NAME_NOT_FOUND":                 "view",
	"INVALID_PAGE_SIZE":                   "page_size",
	"INVALID_SORT_DIRECTION":              "sort",
	"LIST_RECORDS_ITERATOR_NOT_AVAILABLE": "offset",
	"TABLE_NOT_FOUND":                     "table",
	"INVALID_MULTIPLE_CHOICE_OPTIONS":     "records",
}

// typed maps an Airtable error onto the hub's error classes.
func typed(e *apiError) error {
	switch {
	case e.Status == http.StatusTooManyRequests:
		return plugin.RateLimited(rateLimitPenalty, e)
	case e.Status == http.StatusUnauthorized, e.Status == http.StatusForbidden:
		return plugin.Auth(e)
	case e.Status == http.StatusNotFound:
		return plugin.NotFound(e)
	case e.Status == http.StatusBadRequest, e.Status == http.StatusUnprocessableEntity:
		return plugin.InvalidInput(fieldOf[e.Type], e)
	case e.Status == http.StatusRequestEntityTooLarge:
		return plugin.Permanent(e)
	case e.Status == http.StatusRequestTimeout, e.Status >= 500:
		return plugin.Transient(e)
	default:
		return plugin.Permanent(e)
	}
}

// do sends one request to base and decodes a 2xx JSON answer into out.
func (c *client) do(ctx context.Context, base, method, path string, query url.Values, in, out any) error {
	u := c.baseURL + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return plugin.InvalidInput("", fmt.Errorf("encoding request: %w", err))
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return plugin.Permanent(fmt.Errorf("airtable: building request: %w", err))
	}
	req.Header.Set("Authorization", c.auth)
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err // the transport types egress denials (permanent) and network errors (transient)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return plugin.Transient(fmt.Errorf("airtable: reading response: %w", err))
	}
	if resp.StatusCode/100 != 2 {
		return typed(parseError(resp.StatusCode, raw))
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return plugin.Transient(fmt.Errorf("airtable: decoding %s %s response: %w", method, path, err))
	}
	return nil
}

func tablePath(base, table string) string {
	return "/v0/" + url.PathEscape(base) + "/" + url.PathEscape(table)
}

// isIteratorGone reports whether err is Airtable's expired-offset error.
func isIteratorGone(err error) bool {
	var e *apiError
	return errors.As(err, &e) && e.Type == "LIST_RECORDS_ITERATOR_NOT_AVAILABLE"
}
