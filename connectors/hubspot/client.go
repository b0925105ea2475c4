package main

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aquascene/aquahub/sdk/plugin"
)

const (
	defaultBaseURL = "https://api.hubapi.com"
	// maxBatch is HubSpot's limit of inputs per batch request.
	maxBatch = 100
	// tenSecondWindow is the window of the TEN_SECONDLY_ROLLING policy, the wait when a 429
	// does not say otherwise.
	tenSecondWindow = 10 * time.Second
)

// client speaks HubSpot's API through the host's HTTP transport.
type client struct {
	baseURL string
	http    *http.Client
	// loc is the account's time zone, where the daily limit resets.
	loc *time.Location
}

func newClient(ctx context.Context) (*client, error) {
	tz := plugin.ConfigString(ctx, "account_timezone", "UTC")
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, plugin.Permanent(fmt.Errorf("hubspot: config account_timezone: unknown time zone %q", tz))
	}
	return &client{
		baseURL: strings.TrimRight(plugin.ConfigString(ctx, "base_url", defaultBaseURL), "/"),
		http:    plugin.HTTPClient(),
		loc:     loc,
	}, nil
}

// apiError is HubSpot's error body, with the status it came with.
type apiError struct {
	Status        int                 `json:"-"`
	Message       string              `json:"message"`
	Category      string              `json:"category"`
	SubCategory   any                 `json:"subCategory"`
	CorrelationID string              `json:"correlationId"`
	PolicyName    string              `json:"policyName"`
	Context       map[string][]string `json:"context"`
	Errors        []errorDetail       `json:"errors"`
}

type errorDetail struct {
	Message string              `json:"message"`
	Code    string              `json:"code"`
	In      string              `json:"in"`
	Context map[string][]string `json:"context"`
}

func (e *apiError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	s := fmt.Sprintf("hubspot: %d", e.Status)
	if e.Category != "" {
		s += " " + e.Category
	}
	s += ": " + msg
	if e.CorrelationID != "" {
		s += " (correlationId " + e.CorrelationID + ")"
	}
	return s
}

// properties names the properties an error is about: from errors[].context.propertyName,
// else from the JSON findings HubSpot embeds in "Property values were not valid: [...]".
func (e *apiError) properties() []string {
	var out []string
	for _, d := range e.Errors {
		out = append(out, d.Context["propertyName"]...)
	}
	if len(out) > 0 {
		return out
	}
	return embeddedProperties(e.Message)
}

func embeddedProperties(msg string) []string {
	i := strings.Index(msg, "[")
	if !strings.HasPrefix(msg, "Property values were not valid") || i < 0 {
		return nil
	}
	var findings []struct {
		Name string `json:"name"`
	}
	if json.Unmarshal([]byte(msg[i:]), &findings) != nil {
		return nil
	}
	var out []string
	for _, f := range findings {
		out = append(out, f.Name)
	}
	return out
}

// fieldMapper names the action input field an error detail is about: a HubSpot property
// name or request field ("in") becomes the input's dotted path.
type fieldMapper func(property, in string) string

func parseError(status int, body []byte) *apiError {
	e := &apiError{Status: status}
	if json.Unmarshal(body, e) != nil || e.Message == "" {
		if s := strings.TrimSpace(string(body)); s != "" && len(s) < 300 {
			e.Message = s
		}
	}
	e.Status = status
	return e
}

// typed maps a HubSpot error onto the hub's error classes; fields names the input field of
// a validation error.
func (c *client) typed(ctx context.Context, e *apiError, header http.Header, fields fieldMapper) error {
	switch {
	case e.Status == http.StatusTooManyRequests:
		return plugin.RateLimited(c.rateLimitWait(ctx, e, header), e)
	case e.Status == http.StatusUnauthorized, e.Status == http.StatusForbidden:
		return plugin.Auth(e)
	case e.Status == http.StatusNotFound:
		return plugin.NotFound(e)
	case e.Status == http.StatusBadRequest, e.Status == http.StatusUnprocessableEntity:
		field := ""
		if fields != nil {
			if ps := e.properties(); len(ps) > 0 {
				field = fields(ps[0], "")
			} else {
				for _, d := range e.Errors {
					if d.In != "" {
						field = fields("", d.In)
						break
					}
				}
			}
		}
		return plugin.InvalidInput(field, e)
	case e.Status == http.StatusRequestTimeout, e.Status >= 500:
		return plugin.Transient(e)
	}
	return plugin.Permanent(e)
}

// rateLimitWait is how long a 429 asks to wait, by its policy: the ten-second window (or
// the interval the headers give), a second for the secondly limit, and for the daily limit
// until midnight in the account's time zone.
func (c *client) rateLimitWait(ctx context.Context, e *apiError, header http.Header) time.Duration {
	switch e.PolicyName {
	case "DAILY":
		now := plugin.Now(ctx).In(c.loc)
		y, m, d := now.Date()
		return time.Date(y, m, d+1, 0, 0, 0, 0, c.loc).Sub(now)
	case "SECONDLY":
		return time.Second
	case "TEN_SECONDLY_ROLLING":
		if ms, err := strconv.Atoi(header.Get("X-HubSpot-RateLimit-Interval-Milliseconds")); err == nil && ms > 0 {
			return time.Duration(ms) * time.Millisecond
		}
		return tenSecondWindow
	}
	if s, err := strconv.Atoi(header.Get("Retry-After")); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	if e.Message == "You have reached your secondly limit." {
		return time.Second
	}
	return tenSecondWindow
}

// response is a 2xx answer.
type response struct {
	status int
	body   []byte
}

// do sends one request; a non-2xx answer comes back as a typed error.
func (c *client) do(ctx context.Context, method, path string, query url.Values, in any, fields fieldMapper) (response, error) {
	u := c.baseURL + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return response{}, plugin.InvalidInput("", fmt.Errorf("encoding request: %w", err))
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return response{}, plugin.Permanent(fmt.Errorf("hubspot: building request: %w", err))
	}
	req.Header.Set("Authorization", "Bearer "+plugin.Secret("access_token"))
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return response{}, err // the transport types egress denials and network failures
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, plugin.Transient(fmt.Errorf("hubspot: reading response: %w", err))
	}
	if resp.StatusCode/100 != 2 {
		return response{}, c.typed(ctx, parseError(resp.StatusCode, raw), resp.Header, fields)
	}
	return response{status: resp.StatusCode, body: raw}, nil
}

// decode unmarshals a 2xx body; a body HubSpot would never send is transient (a proxy's
// page, a truncated answer).
func decode(r response, what string, out any) error {
	if err := json.Unmarshal(r.body, out); err != nil {
		return plugin.Transient(fmt.Errorf("hubspot: decoding %s response: %w", what, err))
	}
	return nil
}

// propertyValue converts a rule value into HubSpot's string form: numbers without
// exponent, booleans as true/false, lists of scalars joined with ";" (multi-select), null as
// "" (which clears the property).
func propertyValue(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", nil
	case string:
		return x, nil
	case bool:
		return strconv.FormatBool(x), nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	case json.Number:
		return x.String(), nil
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			s, err := propertyValue(e)
			if err != nil || strings.Contains(s, ";") {
				return "", errors.New("a list value must hold strings, numbers or booleans without ';'")
			}
			parts[i] = s
		}
		return strings.Join(parts, ";"), nil
	}
	return "", fmt.Errorf("must be a string, number, boolean or list (got %T)", v)
}

// propertyValues converts a properties object; path names it in errors.
func propertyValues(in map[string]any, path string) (map[string]string, error) {
	out := make(map[string]string, len(in))
	for k, v := range in {
		s, err := propertyValue(v)
		if err != nil {
			return nil, plugin.InvalidInput(path+"."+k, err)
		}
		out[k] = s
	}
	return out, nil
}

// uuidFor derives a stable UUID (version 5) from the step's idempotency key, so that a
// retried event send carries the same uuid and HubSpot keeps one occurrence.
func uuidFor(name string) string {
	ns := []byte{0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8} // RFC 4122 URL namespace
	h := sha1.New()
	h.Write(ns)
	h.Write([]byte("aquahub/hubspot/events/" + name))
	b := h.Sum(nil)[:16]
	b[6] = b[6]&0x0f | 0x50
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
