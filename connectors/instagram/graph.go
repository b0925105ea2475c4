package main

import (
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

const defaultBaseURL = "https://graph.facebook.com/v25.0"

// throttleWait is the retry-after of a throttling error that says nothing more precise:
// Graph's usage windows roll over within an hour, and most throttles lift within minutes.
const throttleWait = 5 * time.Minute

// graph speaks the Instagram Graph API through the host's HTTP transport. The access token
// travels as the access_token parameter, as Meta's SDKs send it; the host fills it in.
type graph struct {
	base string
	http *http.Client
}

func newGraph(ctx context.Context) *graph {
	return &graph{base: strings.TrimRight(plugin.ConfigString(ctx, "base_url", defaultBaseURL), "/"), http: plugin.HTTPClient()}
}

// graphError is the "error" object of a Graph error body.
type graphError struct {
	Status      int    `json:"-"`
	Message     string `json:"message"`
	Type        string `json:"type"`
	Code        int    `json:"code"`
	Subcode     int    `json:"error_subcode"`
	IsTransient bool   `json:"is_transient"`
	UserTitle   string `json:"error_user_title"`
	UserMsg     string `json:"error_user_msg"`
	FBTraceID   string `json:"fbtrace_id"`
}

func (e *graphError) Error() string {
	s := fmt.Sprintf("instagram: %d: %s (code %d", e.Status, e.Message, e.Code)
	if e.Subcode != 0 {
		s += fmt.Sprintf(", subcode %d", e.Subcode)
	}
	s += ")"
	if e.UserMsg != "" {
		s += ": " + e.UserMsg
	}
	return s
}

// Graph error codes and subcodes the connector acts on.
const (
	codeUnknown          = 1
	codeServiceDown      = 2
	codeAppThrottled     = 4
	codeQuota            = 9
	codePermission       = 10
	codeUserThrottled    = 17
	codePageThrottled    = 32
	codeInvalidParameter = 100
	codeTokenMissing     = 104
	codeInvalidToken     = 190
	codeCustomThrottled  = 613
	codeMediaFailed      = 9004
	codeMediaNotReady    = 9007
	codeIGThrottled      = 80002
	subcodeNoObject      = 33
	subcodeQuota         = 2207042
	subcodeInvalidMedia  = 2207026
	subcodeNotReady      = 2207027
)

// typed maps a Graph error onto the hub's error classes. Graph sends most errors, throttling
// included, as HTTP 400, so the code decides, not the status.
func typed(e *graphError, header http.Header) error {
	switch {
	case e.Code == codeAppThrottled, e.Code == codeUserThrottled, e.Code == codePageThrottled,
		e.Code == codeCustomThrottled, e.Code == codeIGThrottled:
		return plugin.RateLimited(regainAccess(header), e)
	case e.Code == codeInvalidToken, e.Code == codeTokenMissing, e.Code >= 200 && e.Code < 300:
		return plugin.Auth(e)
	case e.Code == codeMediaFailed || e.Subcode == subcodeInvalidMedia:
		return plugin.InvalidInput("", e) // the caller names the media field
	case e.Code == codeQuota && e.Subcode == subcodeQuota:
		return plugin.RateLimited(time.Hour, e)
	case e.Code == codeInvalidParameter && e.Subcode == subcodeNoObject:
		return plugin.NotFound(e)
	case e.Code == codeInvalidParameter:
		return plugin.InvalidInput("", e)
	case e.Status >= 500, e.IsTransient, e.Code == codeUnknown, e.Code == codeServiceDown:
		return plugin.Transient(e)
	case e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden:
		return plugin.Auth(e)
	case e.Status == http.StatusNotFound:
		return plugin.NotFound(e)
	}
	return plugin.Permanent(e)
}

// regainAccess reads how long Graph says the throttle lasts: the largest
// estimated_time_to_regain_access (minutes) of X-Business-Use-Case-Usage.
func regainAccess(h http.Header) time.Duration {
	var buc map[string][]struct {
		Regain int `json:"estimated_time_to_regain_access"`
	}
	wait := time.Duration(0)
	if json.Unmarshal([]byte(h.Get("X-Business-Use-Case-Usage")), &buc) == nil {
		for _, entries := range buc {
			for _, e := range entries {
				wait = max(wait, time.Duration(e.Regain)*time.Minute)
			}
		}
	}
	if wait == 0 {
		wait = throttleWait
	}
	return wait
}

// call sends one Graph request; params go in the query for GET and in a form body for POST.
func (g *graph) call(ctx context.Context, method, path string, params url.Values, out any) error {
	u := g.base + path
	var body io.Reader
	q := ""
	if method == http.MethodGet {
		q = params.Encode()
	} else {
		body = strings.NewReader(params.Encode())
	}
	// The token reference must reach the host unescaped; the host escapes the value.
	if q != "" {
		q += "&"
	}
	u += "?" + q + "access_token=" + plugin.Secret("access_token")
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return plugin.Permanent(fmt.Errorf("instagram: building request: %w", err))
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := g.http.Do(req)
	if err != nil {
		return err // the transport types egress denials (permanent) and network errors (transient)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return plugin.Transient(fmt.Errorf("instagram: reading response: %w", err))
	}
	if resp.StatusCode/100 != 2 {
		e := &graphError{Status: resp.StatusCode}
		var wrapper struct {
			Error *graphError `json:"error"`
		}
		wrapper.Error = e
		if json.Unmarshal(raw, &wrapper) != nil || e.Message == "" {
			e.Message = strings.TrimSpace(string(raw))
			if len(e.Message) > 200 {
				e.Message = e.Message[:200]
			}
		}
		return typed(e, resp.Header)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return plugin.Transient(fmt.Errorf("instagram: decoding %s %s: %w", method, path, err))
	}
	return nil
}

// isCode reports whether err is a Graph error with that code (and subcode, when not 0).
func isCode(err error, code, subcode int) bool {
	var e *graphError
	return errors.As(err, &e) && e.Code == code && (subcode == 0 || e.Subcode == subcode)
}
