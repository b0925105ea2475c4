package abi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/aquascene/aquahub/sdk/internal/wirejson"
)

// Manifest is what hub_describe returns: the connector's identity, actions, configuration and
// requested egress.
type Manifest struct {
	// ABI must equal Version.
	ABI int `json:"abi"`
	// ID names the connector in rules (`connector: <id>`) and in tenant configuration:
	// lower-case letters, digits, '-' and '_', starting with a letter.
	ID string `json:"id"`
	// Version is the connector's own version (semantic versioning recommended).
	Version     string `json:"version"`
	Description string `json:"description,omitempty"`
	// Actions are the operations a rule step can call.
	Actions []ActionSpec `json:"actions"`
	// Config lists the non-secret configuration keys the connector reads.
	Config []ConfigSpec `json:"config,omitempty"`
	// Secrets lists the secrets the connector references by name: in HTTP requests, or
	// (Use SecretUseSign) as signing keys for sign_jwt.
	Secrets []SecretSpec `json:"secrets,omitempty"`
	// Egress lists the origins the connector asks to reach ("https://api.example.com",
	// "https://*.example.com", or "*" for any origin the operator grants).
	Egress []string `json:"egress,omitempty"`
	// RateLimits are limits the host enforces on the connector's own HTTP requests, before
	// dialing, per tenant and key (ABI revision 1.2; a host older than that refuses a
	// manifest carrying them, which is safer than ignoring them).
	RateLimits []RateLimit `json:"rate_limits,omitempty"`
}

// RateLimit declares a request rate the host enforces on a connector's egress. A request
// is governed by the first entry whose Origin matches it; its limiter is shared by all
// instances of the connector and keyed by (tenant, connector, entry, key), where key is the
// request's origin plus its first PathSegments path segments ("https://api.airtable.com:443
// /v0/appXYZ" for PathSegments 2). A request that would have to wait past the call's
// deadline fails at once with HTTP error code rate_limited and the wait as retry_after_ms.
type RateLimit struct {
	// Origin selects requests: "scheme://host[:port]" ("*.domain" hosts allowed) or "*" (or
	// empty) for every origin, including simulators a tenant points the connector at.
	Origin string `json:"origin,omitempty"`
	// PathSegments is how many leading path segments belong to the key: 0 limits the whole
	// origin, 2 limits "/v0/{base}" separately per base. At most 16.
	PathSegments int `json:"path_segments,omitempty"`
	// PerSecond is the sustained rate, requests per second (MinRatePerSecond to 10000).
	PerSecond float64 `json:"per_second"`
	// Burst is how many requests may go at once after a quiet period; 0 means
	// max(1, floor(PerSecond)). At most 10000.
	Burst int `json:"burst,omitempty"`
}

// MinRatePerSecond is the lowest rate a manifest may declare: one request every 1000
// seconds (86 a day). A bucket refilling more slowly would hold host memory for hours on
// behalf of a key the connector may never use again.
const MinRatePerSecond = 0.001

// EffectiveBurst returns Burst with its default applied.
func (r RateLimit) EffectiveBurst() int {
	if r.Burst > 0 {
		return r.Burst
	}
	return max(1, int(r.PerSecond))
}

// Check validates the rate limit; the message starts with the field name.
func (r RateLimit) Check() error {
	if r.Origin != "" && r.Origin != "*" {
		if _, err := ParseOrigin(r.Origin); err != nil {
			return fmt.Errorf("origin: %w", err)
		}
	}
	if r.PathSegments < 0 || r.PathSegments > 16 {
		return fmt.Errorf("path_segments: must be 0 to 16 (got %d)", r.PathSegments)
	}
	if !(r.PerSecond >= MinRatePerSecond && r.PerSecond <= 10000) {
		return fmt.Errorf("per_second: must be at least %v and at most 10000 (got %v)", MinRatePerSecond, r.PerSecond)
	}
	if r.Burst < 0 || r.Burst > 10000 {
		return fmt.Errorf("burst: must be 0 to 10000 (got %d)", r.Burst)
	}
	return nil
}

// ActionSpec describes one action.
type ActionSpec struct {
	// Name is dotted lower case, such as "records.upsert".
	Name        string  `json:"name"`
	Description string  `json:"description,omitempty"`
	Input       *Schema `json:"input"`
	Output      *Schema `json:"output,omitempty"`
}

// ConfigSpec describes one configuration key.
type ConfigSpec struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Required    bool   `json:"required,omitempty"`
	Default     any    `json:"default,omitempty"`
	// FromSecret, when set, derives the value from a secret's public part if the tenant
	// does not set it (ABI revision 1.5; a host older than that refuses the field).
	FromSecret *SecretDerivation `json:"from_secret,omitempty"`
}

// SecretSpec describes one secret the connector references by name.
type SecretSpec struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Required    bool   `json:"required,omitempty"`
	// Use says how the host may use the value: SecretUseHTTP (the default when empty) in
	// HTTP requests through {{secret:NAME}} and {{basic:USER:NAME}} references, or
	// SecretUseSign as a private key that only sign_jwt may use and no request may carry
	// (ABI revision 1.3; a host older than that refuses the field).
	Use string `json:"use,omitempty"`
	// Places are where requests may carry the secret (ABI revision 1.5; a host older than
	// that refuses the field). A manifest that declares places for one HTTP secret must
	// declare them for all; see SecretPlace and SecretUses.DeclaresPlaces.
	Places []SecretPlace `json:"places,omitempty"`
}

// Secret uses (SecretSpec.Use).
const (
	// SecretUseHTTP: the value may be placed in HTTP requests by reference. The default.
	SecretUseHTTP = "http"
	// SecretUseSign: the value is a private key for sign_jwt; the host refuses to send it.
	SecretUseSign = "sign"
)

// Signing reports whether the secret is a signing key (Use is SecretUseSign).
func (s SecretSpec) Signing() bool { return s.Use == SecretUseSign }

// SigningSecrets returns the names of the secrets the manifest declares as signing keys.
func (m *Manifest) SigningSecrets() []string {
	var out []string
	for _, s := range m.Secrets {
		if s.Signing() {
			out = append(out, s.Name)
		}
	}
	return out
}

// Action returns the action with that name.
func (m *Manifest) Action(name string) (*ActionSpec, bool) {
	for i := range m.Actions {
		if m.Actions[i].Name == name {
			return &m.Actions[i], true
		}
	}
	return nil, false
}

var (
	idPattern     = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,63}$`)
	actionPattern = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$`)
)

// ValidID reports whether id is a valid connector id: lower-case letters, digits, '-' and
// '_', starting with a letter, at most 64 characters.
func ValidID(id string) bool { return idPattern.MatchString(id) }

// Validate checks the manifest under DefaultLimits and returns an error naming the first
// bad field. It compiles the input schemas' patterns (see Schema.Check).
func (m *Manifest) Validate() error { return m.ValidateLimits(DefaultLimits()) }

// ValidateLimits checks the manifest under lim and returns an error naming the first bad
// field.
func (m *Manifest) ValidateLimits(lim Limits) error {
	if m.ABI != Version {
		return fmt.Errorf("abi: unsupported ABI version %d (this host speaks %d)", m.ABI, Version)
	}
	if !idPattern.MatchString(m.ID) {
		return fmt.Errorf("id: must match %s (got %q)", idPattern, m.ID)
	}
	if m.Version == "" {
		return errors.New("version: required")
	}
	if len(m.Version) > MaxVersionBytes {
		// The host logs the version with every load and lists it; it is a label, not a text.
		return fmt.Errorf("version: %d bytes exceed the limit of %d", len(m.Version), MaxVersionBytes)
	}
	if len(m.Actions) == 0 {
		return errors.New("actions: at least one action is required")
	}
	if lim.MaxActions > 0 && len(m.Actions) > lim.MaxActions {
		return fmt.Errorf("actions: %d actions exceed the limit of %d", len(m.Actions), lim.MaxActions)
	}
	seen := map[string]bool{}
	var patterns int64 // the manifest's patterns together, bounded by lim
	for i, a := range m.Actions {
		if !actionPattern.MatchString(a.Name) {
			return fmt.Errorf("actions[%d].name: must be dotted lower case (got %q)", i, a.Name)
		}
		if seen[a.Name] {
			return fmt.Errorf("actions[%d].name: duplicate %q", i, a.Name)
		}
		seen[a.Name] = true
		if a.Input == nil {
			return fmt.Errorf("actions[%d].input: schema required", i)
		}
		if err := a.Input.check("", 1, lim, &patterns); err != nil {
			return fmt.Errorf("actions[%d].input%w", i, err)
		}
		if a.Output != nil {
			if err := a.Output.check("", 1, lim, &patterns); err != nil {
				return fmt.Errorf("actions[%d].output%w", i, err)
			}
		}
	}
	for i, c := range m.Config {
		if c.Name == "" {
			return fmt.Errorf("config[%d].name: required", i)
		}
	}
	if err := m.validateSecrets(); err != nil {
		return err
	}
	for i, e := range m.Egress {
		if e == "*" {
			continue
		}
		if _, err := ParseOrigin(e); err != nil {
			return fmt.Errorf("egress[%d]: %w", i, err)
		}
	}
	for i, r := range m.RateLimits {
		if err := r.Check(); err != nil {
			return fmt.Errorf("rate_limits[%d].%w", i, err)
		}
	}
	return nil
}

// validateSecrets checks the secrets and what refers to them: uses, places (revision 1.5,
// all or none of the HTTP secrets) and configuration derived from secrets.
func (m *Manifest) validateSecrets() error {
	signing := map[string]bool{}
	withPlaces, without := -1, -1
	for i, s := range m.Secrets {
		if s.Name == "" || strings.ContainsAny(s.Name, "{}: ") {
			return fmt.Errorf("secrets[%d].name: must be non-empty without braces, colons or spaces (got %q)", i, s.Name)
		}
		switch s.Use {
		case "", SecretUseHTTP, SecretUseSign:
		default:
			return fmt.Errorf("secrets[%d].use: must be %q or %q (got %q)", i, SecretUseHTTP, SecretUseSign, s.Use)
		}
		// Repeating a name was harmless before uses existed, so only a conflict is refused.
		if was, seen := signing[s.Name]; seen && was != s.Signing() {
			return fmt.Errorf("secrets[%d].use: %q is declared earlier with another use", i, s.Name)
		}
		signing[s.Name] = s.Signing()
		if s.Signing() {
			if len(s.Places) > 0 {
				return fmt.Errorf("secrets[%d].places: %q is a signing key, which no request may carry", i, s.Name)
			}
			continue
		}
		if len(s.Places) > 0 && withPlaces < 0 {
			withPlaces = i
		}
		if len(s.Places) == 0 && without < 0 {
			without = i
		}
		for j, p := range s.Places {
			if err := p.check(); err != nil {
				return fmt.Errorf("secrets[%d].places[%d]%w", i, j, err)
			}
		}
	}
	if withPlaces >= 0 && without >= 0 {
		return fmt.Errorf("secrets[%d].places: required, since secrets[%d] declares its places (a manifest declares where every HTTP secret goes or none)", without, withPlaces)
	}
	http := map[string]bool{}
	for name, sign := range signing {
		http[name] = !sign
	}
	for i, c := range m.Config {
		if c.FromSecret == nil {
			continue
		}
		if err := c.FromSecret.check(http); err != nil {
			return fmt.Errorf("config[%d].from_secret%w", i, err)
		}
	}
	return nil
}

// DecodeManifest parses and validates a manifest under DefaultLimits. Unknown fields are
// errors.
func DecodeManifest(b []byte) (*Manifest, error) { return DecodeManifestLimits(b, DefaultLimits()) }

// DecodeManifestLimits parses and validates a manifest under lim. JSON nested deeper than
// lim's schemas allow is refused before it is decoded, since decoding nested schemas costs
// time in proportion to depth times size.
func DecodeManifestLimits(b []byte, lim Limits) (*Manifest, error) {
	if limit := lim.maxJSONDepth(); limit > 0 {
		if d := jsonDepth(b, limit); d > limit {
			return nil, fmt.Errorf("manifest: JSON nested more than %d levels deep (schemas may nest %d)", limit, lim.MaxSchemaDepth)
		}
	}
	var m Manifest
	if err := decodeStrict(b, &m); err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	if err := m.ValidateLimits(lim); err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	return &m, nil
}

// InvokeRequest is the hub_invoke argument: one action applied to a batch of inputs.
type InvokeRequest struct {
	Action string `json:"action"`
	// Inputs are the action inputs, one per item; the host has validated each against the
	// action's input schema.
	Inputs []json.RawMessage `json:"inputs"`
	// Config is the tenant's configuration for this connector.
	Config map[string]any `json:"config,omitempty"`
	// Secrets lists the secret names the tenant has set (never their values).
	Secrets []string `json:"secrets,omitempty"`
	// Tenant, RunID, StepID identify the call for logs.
	Tenant string `json:"tenant,omitempty"`
	RunID  string `json:"run_id,omitempty"`
	StepID string `json:"step_id,omitempty"`
	// IdempotencyKey is stable for one rule step across retries; pass it to APIs that accept
	// one. With several inputs, item i uses IdempotencyKey + "-" + i.
	IdempotencyKey string `json:"idempotency_key,omitempty"`
	// Attempt counts from 1.
	Attempt int `json:"attempt,omitempty"`
	// DeadlineUnixMS is when the host will abort the call.
	DeadlineUnixMS int64 `json:"deadline_unix_ms,omitempty"`
	// LogLevel is the least level the host keeps (debug, info, warn, error); a guest need not
	// send records below it. Empty means debug (hosts before it was added).
	LogLevel string `json:"log_level,omitempty"`
}

// InvokeResponse is the hub_invoke result. Either Error is set (the whole call failed, for
// example an unknown action) or Results has one entry per input, in order.
type InvokeResponse struct {
	Results []Result `json:"results,omitempty"`
	Error   *Error   `json:"error,omitempty"`
	// Usage is the vendor quota consumption the connector saw during the call (revision
	// 1.4); the host records it as metrics, and older hosts ignore it.
	Usage []Usage `json:"usage,omitempty"`
}

// Usage is one vendor quota as the vendor last reported it, such as Salesforce's
// Sforce-Limit-Info: api-usage=18/5000.
type Usage struct {
	// Quota names the quota: lower-case letters, digits and '_', at most 64 (api_requests).
	Quota string `json:"quota"`
	// Used is how much of the quota is consumed (≥ 0).
	Used int64 `json:"used"`
	// Limit is the quota's size (≥ 0; 0 when the vendor does not say).
	Limit int64 `json:"limit"`
}

// Check validates the usage; the message starts with the field name.
func (u Usage) Check() error {
	if !validQuota(u.Quota) {
		return fmt.Errorf("quota: must be 1-64 lower-case letters, digits and '_' (got %q)", u.Quota)
	}
	if u.Used < 0 {
		return fmt.Errorf("used: must not be negative (got %d)", u.Used)
	}
	if u.Limit < 0 {
		return fmt.Errorf("limit: must not be negative (got %d)", u.Limit)
	}
	return nil
}

func validQuota(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}

// Result is the outcome of one input: Output on success, Error on failure.
type Result struct {
	Output json.RawMessage `json:"output,omitempty"`
	Error  *Error          `json:"error,omitempty"`
}

// DecodeInvokeResponse parses an invoke response and checks that it answers n inputs.
func DecodeInvokeResponse(b []byte, n int) (*InvokeResponse, error) {
	var r InvokeResponse
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("invoke response: %w", err)
	}
	if r.Error != nil {
		if err := r.Error.Check(); err != nil {
			return nil, fmt.Errorf("invoke response: error.%w", err)
		}
		return &r, nil
	}
	if len(r.Results) != n {
		return nil, fmt.Errorf("invoke response: %d results for %d inputs", len(r.Results), n)
	}
	for i, res := range r.Results {
		if (res.Error == nil) == (len(res.Output) == 0) {
			return nil, fmt.Errorf("invoke response: results[%d]: exactly one of output and error must be set", i)
		}
		if res.Error != nil {
			if err := res.Error.Check(); err != nil {
				return nil, fmt.Errorf("invoke response: results[%d].error.%w", i, err)
			}
		}
	}
	return &r, nil
}

// ErrorKind classifies a failed action. The names match core.ErrorClass.
type ErrorKind string

// Error kinds. Transient and RateLimited are retried by the hub; the others are final.
const (
	KindInvalidInput ErrorKind = "invalid_input"
	KindAuth         ErrorKind = "auth"
	KindNotFound     ErrorKind = "not_found"
	KindRateLimited  ErrorKind = "rate_limited"
	KindTransient    ErrorKind = "transient"
	KindPermanent    ErrorKind = "permanent"
)

// Valid reports whether k is one of the defined kinds.
func (k ErrorKind) Valid() bool {
	switch k {
	case KindInvalidInput, KindAuth, KindNotFound, KindRateLimited, KindTransient, KindPermanent:
		return true
	}
	return false
}

// Error is a typed failure reported by a connector.
type Error struct {
	Kind    ErrorKind `json:"kind"`
	Message string    `json:"message"`
	// RetryAfterMS, with KindRateLimited or KindTransient, is the least delay before a retry.
	RetryAfterMS int64 `json:"retry_after_ms,omitempty"`
	// Field, with KindInvalidInput, names the offending input field (dotted path).
	Field string `json:"field,omitempty"`
}

// Error implements error.
func (e *Error) Error() string {
	s := string(e.Kind)
	if e.Field != "" {
		s += ": " + e.Field
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// RetryAfter returns RetryAfterMS as a duration.
func (e *Error) RetryAfter() time.Duration { return time.Duration(e.RetryAfterMS) * time.Millisecond }

// Check validates the error's fields; the returned message starts with the field name.
func (e *Error) Check() error {
	if !e.Kind.Valid() {
		return fmt.Errorf("kind: unknown error kind %q", e.Kind)
	}
	if e.RetryAfterMS < 0 {
		return fmt.Errorf("retry_after_ms: must not be negative (got %d)", e.RetryAfterMS)
	}
	return nil
}

// HTTPRequest is the http_request argument.
//
// Header values and query parameter values may contain secret references (see
// SecretRefPattern) that the host replaces after the egress check: {{secret:NAME}} becomes
// the value, {{basic:USER:NAME}} base64(USER + ":" + value) for HTTP Basic auth, and
// {{hmac-sha256-hex:NAME}} / {{hmac-sha256-base64:NAME}} an HMAC of Body keyed with the value
// (revision 1.5). Each must stand in a place the manifest declares for the secret
// (SecretPlace) and the request must go to an origin the operator binds the secret to.
// Secret values never enter guest memory; the host also scrubs them from the response.
type HTTPRequest struct {
	Method  string              `json:"method"`
	URL     string              `json:"url"`
	Headers map[string][]string `json:"headers,omitempty"`
	Body    []byte              `json:"body,omitempty"`
}

// DecodeHTTPRequest parses and checks an http_request argument.
func DecodeHTTPRequest(b []byte) (*HTTPRequest, error) {
	var r HTTPRequest
	if err := wirejson.DecodeObject(b, r.decodeStrictFields); err != nil {
		return nil, fmt.Errorf("http request: %w", err)
	}
	if r.Method == "" {
		r.Method = "GET"
	}
	if !validMethod(r.Method) {
		return nil, fmt.Errorf("http request: method: invalid %q", r.Method)
	}
	u, err := url.Parse(r.URL)
	if err != nil {
		return nil, fmt.Errorf("http request: url: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("http request: url: scheme must be http or https (got %q)", u.Scheme)
	}
	if u.Host == "" {
		return nil, errors.New("http request: url: host required")
	}
	return &r, nil
}

func validMethod(m string) bool {
	if len(m) > 16 {
		return false
	}
	for _, c := range m {
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	return true
}

var httpRequestFields = []string{"method", "url", "headers", "body"}

// decodeStrictFields reads the request's fields as encoding/json with unknown fields
// disallowed would, without reflection: every connector HTTP call passes through it.
func (r *HTTPRequest) decodeStrictFields(d *wirejson.Reader, key []byte) error {
	switch wirejson.FieldName(key, httpRequestFields...) {
	case "method":
		return d.StringField(&r.Method)
	case "url":
		return d.StringField(&r.URL)
	case "headers":
		return d.HeadersField(&r.Headers)
	case "body":
		return d.BytesField(&r.Body)
	}
	return fmt.Errorf("json: unknown field %q", key)
}

// HTTPResponse is what http_request returns: either a response or Error.
type HTTPResponse struct {
	Status  int                 `json:"status,omitempty"`
	Headers map[string][]string `json:"headers,omitempty"`
	Body    []byte              `json:"body,omitempty"`
	// URL is the final URL after redirects; without a redirect, the request's own URL with
	// its secret references, never the expanded one.
	URL   string     `json:"url,omitempty"`
	Error *HTTPError `json:"error,omitempty"`
}

// HTTPError says why the host did not complete an HTTP request.
type HTTPError struct {
	// Code is one of the HTTPError* constants.
	Code    string `json:"code"`
	Message string `json:"message"`
	// RetryAfterMS, with HTTPErrorRateLimited, is how long the request would have had to
	// wait for the connector's declared rate limit; with HTTPErrorCircuitOpen, when the
	// origin's breaker may let a request through again.
	RetryAfterMS int64 `json:"retry_after_ms,omitempty"`
}

// Error implements error.
func (e *HTTPError) Error() string { return e.Code + ": " + e.Message }

// HTTP error codes.
const (
	// HTTPErrorDenied: the egress rules refuse the URL, a redirect target or the resolved
	// address. Not worth retrying.
	HTTPErrorDenied = "egress_denied"
	// HTTPErrorTooLarge: the response body exceeded the host's cap.
	HTTPErrorTooLarge = "response_too_large"
	// HTTPErrorTimeout: the call's deadline passed.
	HTTPErrorTimeout = "timeout"
	// HTTPErrorNetwork: connecting, sending or receiving failed.
	HTTPErrorNetwork = "network"
	// HTTPErrorInvalid: the request was malformed or named an unknown secret.
	HTTPErrorInvalid = "invalid_request"
	// HTTPErrorRateLimited: the connector's declared rate limit (Manifest.RateLimits) would
	// have delayed the request past the call's deadline; it was not sent.
	HTTPErrorRateLimited = "rate_limited"
	// HTTPErrorCircuitOpen: the origin failed repeatedly and the host's circuit breaker for
	// it (per tenant, connector and origin) is open; the request was not sent. The host
	// defers the whole call, whatever the connector returns (ABI revision 1.6).
	HTTPErrorCircuitOpen = "circuit_open"
)

// LogRecord is the log argument.
type LogRecord struct {
	// Level is debug, info, warn or error.
	Level string         `json:"level"`
	Msg   string         `json:"msg"`
	Attrs map[string]any `json:"attrs,omitempty"`
}

// Origin is a parsed egress entry: scheme, host (possibly "*.domain") and port.
type Origin struct {
	Scheme string
	Host   string
	Port   string
}

// String returns the origin as scheme://host:port.
func (o Origin) String() string { return o.Scheme + "://" + o.Host + ":" + o.Port }

// ParseOrigin parses "scheme://host[:port]" where host may start with "*." to match any
// subdomain. The port defaults to the scheme's. A path other than "/" is an error.
func ParseOrigin(s string) (Origin, error) {
	u, err := url.Parse(s)
	if err != nil {
		return Origin{}, fmt.Errorf("origin %q: %w", s, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return Origin{}, fmt.Errorf("origin %q: scheme must be http or https", s)
	}
	if u.Hostname() == "" {
		return Origin{}, fmt.Errorf("origin %q: host required", s)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil || u.Fragment != "" {
		return Origin{}, fmt.Errorf("origin %q: only scheme, host and port are allowed", s)
	}
	port := u.Port()
	if port == "" {
		port = DefaultPort(u.Scheme)
	}
	return Origin{Scheme: u.Scheme, Host: strings.ToLower(u.Hostname()), Port: port}, nil
}

// DefaultPort returns 443 for https and 80 otherwise.
func DefaultPort(scheme string) string {
	if scheme == "https" {
		return "443"
	}
	return "80"
}

// Matches reports whether the origin covers scheme, host and port.
func (o Origin) Matches(scheme, host, port string) bool {
	if o.Scheme != scheme || o.Port != port {
		return false
	}
	host = strings.ToLower(host)
	if strings.HasPrefix(o.Host, "*.") {
		return strings.HasSuffix(host, o.Host[1:]) && len(host) > len(o.Host)-1
	}
	return o.Host == host
}

func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after JSON value")
	}
	return nil
}
