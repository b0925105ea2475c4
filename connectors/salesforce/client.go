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
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/aquascene/aquahub/sdk/abi"
	"github.com/aquascene/aquahub/sdk/plugin"
)

const (
	defaultLoginURL   = "https://login.salesforce.com"
	defaultAPIVersion = "59.0"
	// sessionKey is where the access token and instance URL are kept in kv.
	sessionKey = "session"
	// dailyLimitWait is the wait after REQUEST_LIMIT_EXCEEDED for the daily limit, a rolling
	// 24-hour window that frees capacity as old requests age out.
	dailyLimitWait = time.Hour
	// concurrencyWait is the wait after the concurrent long-running request limit.
	concurrencyWait = 30 * time.Second
	// assertionLifetime is how long a JWT bearer assertion is valid; Salesforce wants a few
	// minutes at most.
	assertionLifetime = 3 * time.Minute
)

// LimitInfo is the org's API usage from the Sforce-Limit-Info header of the last response.
type LimitInfo struct {
	Used int `json:"used"`
	Max  int `json:"max"`
}

var apiUsage = regexp.MustCompile(`api-usage=(\d+)/(\d+)`)

// session is an access token and where to use it, kept in kv between calls.
type session struct {
	AccessToken string `json:"access_token"`
	InstanceURL string `json:"instance_url"`
}

// client speaks a Salesforce org's REST API through the host's HTTP transport, logging in
// when it has no session or the session was rejected.
type client struct {
	http       *http.Client
	loginURL   string
	audience   string
	apiVersion string
	flow       string
	clientID   string
	username   string
	instance   string // config override of instance_url
	sess       *session
	limit      *LimitInfo
	// logins counts token requests in this call: a session rejected right after a login is
	// an auth failure, not a reason to log in again.
	logins int
}

var versionPattern = regexp.MustCompile(`^\d{2}\.0$`)

func newClient(ctx context.Context) (*client, error) {
	c := &client{
		http:       plugin.HTTPClient(),
		loginURL:   strings.TrimRight(plugin.ConfigString(ctx, "login_url", defaultLoginURL), "/"),
		apiVersion: plugin.ConfigString(ctx, "api_version", defaultAPIVersion),
		flow:       plugin.ConfigString(ctx, "auth_flow", "jwt"),
		clientID:   plugin.ConfigString(ctx, "client_id", ""),
		username:   plugin.ConfigString(ctx, "username", ""),
		instance:   strings.TrimRight(plugin.ConfigString(ctx, "instance_url", ""), "/"),
	}
	c.audience = strings.TrimRight(plugin.ConfigString(ctx, "audience", c.loginURL), "/")
	switch {
	case c.clientID == "":
		return nil, plugin.Permanent(errors.New("salesforce: config client_id is not set (the connected app's consumer key)"))
	case c.username == "":
		return nil, plugin.Permanent(errors.New("salesforce: config username is not set (the integration user)"))
	case c.flow != "jwt" && c.flow != "password":
		return nil, plugin.Permanent(fmt.Errorf("salesforce: config auth_flow must be jwt or password, got %q", c.flow))
	case !versionPattern.MatchString(c.apiVersion):
		return nil, plugin.Permanent(fmt.Errorf("salesforce: config api_version must look like 59.0, got %q", c.apiVersion))
	}
	return c, nil
}

// apiError is Salesforce's error array (or a token endpoint error) with its status.
type apiError struct {
	Status int
	Items  []errItem
}

type errItem struct {
	Message    string   `json:"message"`
	ErrorCode  string   `json:"errorCode"`
	StatusCode string   `json:"statusCode"`
	Fields     []string `json:"fields"`
}

func (e errItem) code() string {
	if e.ErrorCode != "" {
		return e.ErrorCode
	}
	return e.StatusCode
}

func (e *apiError) code() string {
	if len(e.Items) == 0 {
		return ""
	}
	return e.Items[0].code()
}

func (e *apiError) Error() string {
	var parts []string
	for _, it := range e.Items {
		s := it.code() + ": " + strings.TrimSpace(it.Message)
		if len(it.Fields) > 0 {
			s += " (fields " + strings.Join(it.Fields, ", ") + ")"
		}
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		return fmt.Sprintf("salesforce: %d %s", e.Status, http.StatusText(e.Status))
	}
	return fmt.Sprintf("salesforce: %d %s", e.Status, strings.Join(parts, "; "))
}

func parseError(status int, body []byte) *apiError {
	e := &apiError{Status: status}
	if json.Unmarshal(body, &e.Items) == nil {
		return e
	}
	var one errItem
	if json.Unmarshal(body, &one) == nil && one.code() != "" {
		e.Items = []errItem{one}
		return e
	}
	if s := strings.TrimSpace(string(body)); s != "" && len(s) < 300 && !strings.HasPrefix(s, "<") {
		e.Items = []errItem{{ErrorCode: http.StatusText(status), Message: s}}
	}
	return e
}

var (
	noSuchColumn = regexp.MustCompile(`No such column '([^']+)'`)
	duplicateOf  = regexp.MustCompile(`duplicate value found: (\S+) duplicates`)
	criterionOf  = regexp.MustCompile(`filter criterion for field '([^']+)'`)
)

// field names the Salesforce field an error is about: its fields, or the column a message
// names.
func (it errItem) field() string {
	if len(it.Fields) > 0 {
		return it.Fields[0]
	}
	if m := noSuchColumn.FindStringSubmatch(it.Message); m != nil {
		return m[1]
	}
	if m := duplicateOf.FindStringSubmatch(it.Message); m != nil {
		return m[1]
	}
	if m := criterionOf.FindStringSubmatch(it.Message); m != nil {
		return m[1]
	}
	return ""
}

// fieldMapper names the input field a Salesforce error is about.
type fieldMapper func(it errItem) string

// typed maps a Salesforce error onto the hub's error classes.
func typed(e *apiError, fields fieldMapper) error {
	code := e.code()
	switch {
	case code == "REQUEST_LIMIT_EXCEEDED":
		wait := dailyLimitWait
		if len(e.Items) > 0 && strings.Contains(e.Items[0].Message, "Concurrent") {
			wait = concurrencyWait
		}
		return plugin.RateLimited(wait, e)
	case e.Status == http.StatusUnauthorized, e.Status == http.StatusForbidden:
		return plugin.Auth(e)
	case e.Status == http.StatusNotFound:
		return plugin.NotFound(e)
	case e.Status == http.StatusBadRequest:
		f := ""
		if fields != nil && len(e.Items) > 0 {
			f = fields(e.Items[0])
		}
		return plugin.InvalidInput(f, e)
	case e.Status == http.StatusRequestTimeout, e.Status >= 500:
		return plugin.Transient(e)
	}
	return plugin.Permanent(e)
}

// ensure reads the session kept in kv, or logs in.
func (c *client) ensure(ctx context.Context) error {
	if c.sess != nil {
		return nil
	}
	if b, ok, err := plugin.KVGet(ctx, sessionKey); err != nil {
		return err
	} else if ok {
		var s session
		if json.Unmarshal(b, &s) == nil && s.AccessToken != "" && s.InstanceURL != "" {
			c.sess = &s
			return nil
		}
	}
	return c.login(ctx)
}

// tokenError is the token endpoint's error body.
type tokenError struct {
	Status      int
	Code        string `json:"error"`
	Description string `json:"error_description"`
}

func (e *tokenError) Error() string {
	return fmt.Sprintf("salesforce login: %d %s: %s", e.Status, e.Code, e.Description)
}

// login gets a new access token by the configured flow and keeps it in kv.
func (c *client) login(ctx context.Context) error {
	c.logins++
	tokenURL := c.loginURL + "/services/oauth2/token"
	var req *http.Request
	var err error
	switch c.flow {
	case "jwt":
		now := plugin.Now(ctx)
		assertion, serr := plugin.SignJWT(ctx, plugin.RS256, "private_key", nil, map[string]any{
			"iss": c.clientID, "sub": c.username, "aud": c.audience, "exp": now.Add(assertionLifetime).Unix(),
		})
		if serr != nil {
			return fmt.Errorf("salesforce login: signing the JWT assertion: %w", serr)
		}
		form := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {assertion}}
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	default:
		// The secrets go in the query, where the host injects them; the guest never holds them.
		q := url.Values{"grant_type": {"password"}, "client_id": {c.clientID}, "username": {c.username}}.Encode() +
			"&client_secret=" + plugin.Secret("client_secret") + "&password=" + plugin.Secret("password")
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, tokenURL+"?"+q, nil)
	}
	if err != nil {
		return plugin.Permanent(fmt.Errorf("salesforce login: %w", err))
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return plugin.Transient(fmt.Errorf("salesforce login: reading response: %w", err))
	}
	if resp.StatusCode != http.StatusOK {
		te := &tokenError{Status: resp.StatusCode}
		_ = json.Unmarshal(raw, te)
		switch {
		case resp.StatusCode >= 500 || resp.StatusCode == http.StatusRequestTimeout:
			return plugin.Transient(te)
		case resp.StatusCode == http.StatusTooManyRequests:
			return plugin.RateLimited(time.Minute, te)
		case te.Code == "invalid_grant", te.Code == "invalid_client_id", te.Code == "invalid_client", resp.StatusCode == http.StatusUnauthorized:
			return plugin.Auth(te)
		}
		return plugin.Permanent(te)
	}
	var s session
	if err := json.Unmarshal(raw, &s); err != nil || s.AccessToken == "" || s.InstanceURL == "" {
		return plugin.Permanent(errors.New("salesforce login: the token endpoint answered without access_token and instance_url"))
	}
	if c.instance != "" {
		s.InstanceURL = c.instance
	}
	s.InstanceURL = strings.TrimRight(s.InstanceURL, "/")
	b, _ := json.Marshal(s)
	if err := plugin.KVSet(ctx, sessionKey, b); err != nil {
		return err
	}
	c.sess = &s
	return nil
}

// response is an answer below 400 (2xx, or 300 for an ambiguous upsert).
type response struct {
	status int
	body   []byte
}

// path returns the REST path of a resource under the API version.
func (c *client) path(resource string) string {
	return "/services/data/v" + c.apiVersion + resource
}

// do sends one REST request (path from the instance's root); a session the org rejects
// (INVALID_SESSION_ID) is renewed once and the request repeated. Answers from 400 on are
// typed errors.
func (c *client) do(ctx context.Context, method, path string, query url.Values, in any, fields fieldMapper) (response, error) {
	if err := c.ensure(ctx); err != nil {
		return response{}, err
	}
	var body []byte
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return response{}, plugin.InvalidInput("", fmt.Errorf("encoding request: %w", err))
		}
		body = b
	}
	for {
		u := c.sess.InstanceURL + path
		if len(query) > 0 {
			u += "?" + query.Encode()
		}
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		req, err := http.NewRequestWithContext(ctx, method, u, rd)
		if err != nil {
			return response{}, plugin.Permanent(fmt.Errorf("salesforce: building request: %w", err))
		}
		req.Header.Set("Authorization", "Bearer "+c.sess.AccessToken)
		req.Header.Set("Accept", "application/json")
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := c.http.Do(req)
		if err != nil {
			return response{}, err
		}
		raw, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return response{}, plugin.Transient(fmt.Errorf("salesforce: reading response: %w", err))
		}
		if m := apiUsage.FindStringSubmatch(resp.Header.Get("Sforce-Limit-Info")); m != nil {
			used, _ := strconv.Atoi(m[1])
			max, _ := strconv.Atoi(m[2])
			c.limit = &LimitInfo{Used: used, Max: max}
			plugin.ReportUsage(ctx, "api_requests", int64(used), int64(max))
		}
		if resp.StatusCode < 400 {
			return response{status: resp.StatusCode, body: raw}, nil
		}
		e := parseError(resp.StatusCode, raw)
		if resp.StatusCode == http.StatusUnauthorized && c.logins == 0 {
			if err := c.login(ctx); err != nil {
				return response{}, err
			}
			continue
		}
		return response{}, typed(e, fields)
	}
}

// decode unmarshals a 2xx body; anything else from the org is transient.
func decode(r response, what string, out any) error {
	if err := json.Unmarshal(r.body, out); err != nil {
		return plugin.Transient(fmt.Errorf("salesforce: decoding %s response: %w", what, err))
	}
	return nil
}

// isKind reports whether err is a plugin error of kind.
func isKind(err error, kind abi.ErrorKind) bool {
	var pe *plugin.Error
	return errors.As(err, &pe) && pe.Kind == kind
}

// errorCode returns the Salesforce code of err, if it is a Salesforce error.
func errorCode(err error) string {
	var e *apiError
	if errors.As(err, &e) {
		return e.code()
	}
	return ""
}

// strip removes the attributes objects Salesforce adds to records, recursively.
func strip(v any) any {
	switch x := v.(type) {
	case map[string]any:
		delete(x, "attributes")
		for k, e := range x {
			x[k] = strip(e)
		}
	case []any:
		for i, e := range x {
			x[i] = strip(e)
		}
	}
	return v
}
