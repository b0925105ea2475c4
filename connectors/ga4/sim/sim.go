package sim

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aquascene/aquahub/connectors/simkit"
)

// Defaults of the simulator, as `aquahub sim ga4` and `aquahub dev` use them.
const (
	// DefaultKey is the service account's client_email: the one account whose assertions
	// the token endpoint accepts unless WithClientEmail says otherwise.
	DefaultKey = "aquahub-dev@aquascene-dev.iam.gserviceaccount.com"
	// DefaultAddr is where `aquahub sim ga4` listens unless --addr says otherwise.
	DefaultAddr = "127.0.0.1:8785"
	// DefaultProperty is the GA4 property the service account can read.
	DefaultProperty = "412345678"
	// DevKeyID is the private_key_id of the development key.
	DevKeyID = "8f2c5b1e7a9d4c3b6e0f1a2b3c4d5e6f7a8b9c0d"
	// TokenPath is the token endpoint's path; a service account file's token_uri is the
	// simulator's origin followed by it.
	TokenPath = "/token"
	// GoogleTokenURI is Google's token endpoint, which assertions may also name as aud.
	GoogleTokenURI = "https://oauth2.googleapis.com/token"
	// ScopeReadonly and ScopeEdit are the scopes runReport accepts.
	ScopeReadonly = "https://www.googleapis.com/auth/analytics.readonly"
	ScopeEdit     = "https://www.googleapis.com/auth/analytics"
	// DefaultTokenTTL is the lifetime of an access token.
	DefaultTokenTTL = time.Hour
)

// devKeyPEM is the development service account's private key, PKCS#8. It is a published
// development credential, like the other simulators' default keys: never use it elsewhere.
//
//go:embed devkey.pem
var devKeyPEM []byte

// Option configures a Server.
type Option func(*Server)

// WithClientEmail sets the service account's client_email (default DefaultKey).
func WithClientEmail(email string) Option { return func(s *Server) { s.email = email } }

// WithPrivateKey sets the service account's key pair and private_key_id (default the
// embedded development key and DevKeyID).
func WithPrivateKey(k *rsa.PrivateKey, keyID string) Option {
	return func(s *Server) { s.key, s.keyID = k, keyID }
}

// WithClock sets the clock (default time.Now).
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// WithFaults sets the injected faults (default none).
func WithFaults(f simkit.Faults) Option { return func(s *Server) { s.inj.Set(f) } }

// WithTokenTTL sets the lifetime of issued access tokens (default DefaultTokenTTL).
func WithTokenTTL(d time.Duration) Option { return func(s *Server) { s.ttl = d } }

// WithProperty sets the property id the service account may read (default
// DefaultProperty).
func WithProperty(id string) Option { return func(s *Server) { s.property = id } }

// WithTokensPerHour sets the property's hourly token quota (default 40,000); past it
// runReport answers 429 RESOURCE_EXHAUSTED.
func WithTokensPerHour(n int) Option { return func(s *Server) { s.tokensPerHour = n } }

// token is an issued access token.
type token struct {
	expiry time.Time
	scopes []string
}

// Server simulates the GA4 Data API and the token endpoint for one service account and one
// property. It is an http.Handler, safe for concurrent use; all state is in memory.
type Server struct {
	email         string
	key           *rsa.PrivateKey
	keyID         string
	now           func() time.Time
	inj           *simkit.Injector
	rec           *simkit.Recorder
	ttl           time.Duration
	property      string
	tokensPerHour int
	handler       http.Handler

	mu         sync.Mutex
	tokens     map[string]token
	issued     int
	hourStart  time.Time
	hourTokens int
	dayStart   time.Time
	dayTokens  int
}

// New returns a simulator configured by opts.
func New(opts ...Option) *Server {
	s := &Server{email: DefaultKey, keyID: DevKeyID, now: time.Now, ttl: DefaultTokenTTL, property: DefaultProperty,
		tokensPerHour: 40000, inj: simkit.NewInjector(simkit.Faults{}), rec: simkit.NewRecorder(0), tokens: map[string]token{}}
	for _, o := range opts {
		o(s)
	}
	if s.key == nil {
		k, err := parseKey(devKeyPEM)
		if err != nil {
			panic("ga4 sim: the embedded development key does not parse: " + err.Error())
		}
		s.key = k
	}
	s.handler = simkit.Wrap(http.HandlerFunc(s.serveAPI), s, s.inj, s.rec, 1<<20)
	return s
}

func parseKey(b []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("want an RSA key, got %T", k)
	}
	return rk, nil
}

// ServeHTTP serves the token endpoint, the Data API and the /_sim/ control endpoints.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Injector returns the fault injector.
func (s *Server) Injector() *simkit.Injector { return s.inj }

// Requests returns the requests served so far, oldest first.
func (s *Server) Requests() []simkit.Request { return s.rec.Requests() }

// TokensIssued returns how many access tokens the token endpoint has issued.
func (s *Server) TokensIssued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issued
}

// ExpireTokens makes every issued access token invalid, as if its hour had passed.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens = map[string]token{}
}

// ServiceAccount is a Google service account key file.
type ServiceAccount struct {
	Type                    string `json:"type"`
	ProjectID               string `json:"project_id"`
	PrivateKeyID            string `json:"private_key_id"`
	PrivateKey              string `json:"private_key"`
	ClientEmail             string `json:"client_email"`
	ClientID                string `json:"client_id"`
	AuthURI                 string `json:"auth_uri"`
	TokenURI                string `json:"token_uri"`
	AuthProviderX509CertURL string `json:"auth_provider_x509_cert_url"`
	ClientX509CertURL       string `json:"client_x509_cert_url"`
	UniverseDomain          string `json:"universe_domain"`
}

// ServiceAccountJSON returns the key file of the simulator's service account, with
// token_uri pointing at the simulator's token endpoint under origin (http://host:port).
func (s *Server) ServiceAccountJSON(origin string) []byte {
	return serviceAccountJSON(s.key, s.keyID, s.email, origin)
}

// DevServiceAccountJSON returns the key file of the development service account email (the
// embedded key, DevKeyID) for a simulator listening at origin: what `aquahub dev` gives the
// connector as its service_account secret.
func DevServiceAccountJSON(email, origin string) []byte {
	k, err := parseKey(devKeyPEM)
	if err != nil {
		panic("ga4 sim: the embedded development key does not parse: " + err.Error())
	}
	return serviceAccountJSON(k, DevKeyID, email, origin)
}

func serviceAccountJSON(key *rsa.PrivateKey, keyID, email, origin string) []byte {
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	project := "aquascene-dev"
	if at := strings.IndexByte(email, '@'); at > 0 {
		if rest := strings.TrimSuffix(email[at+1:], ".iam.gserviceaccount.com"); rest != email[at+1:] {
			project = rest
		}
	}
	b, _ := json.MarshalIndent(ServiceAccount{
		Type: "service_account", ProjectID: project, PrivateKeyID: keyID,
		PrivateKey:  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		ClientEmail: email, ClientID: "100000000000000000001", AuthURI: "https://accounts.google.com/o/oauth2/auth",
		TokenURI: strings.TrimRight(origin, "/") + TokenPath, AuthProviderX509CertURL: "https://www.googleapis.com/oauth2/v1/certs",
		ClientX509CertURL: "https://www.googleapis.com/robot/v1/metadata/x509/" + email, UniverseDomain: "googleapis.com",
	}, "", "  ")
	return b
}

// Authorized reports whether r carries a valid access token.
func (s *Server) Authorized(r *http.Request) bool {
	_, ok := s.valid(simkit.BearerToken(r))
	return ok
}

func (s *Server) valid(tok string) (token, bool) {
	if tok == "" {
		return token{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[tok]
	return t, ok && s.now().Before(t.expiry)
}

// googleError writes Google's error body.
func googleError(w http.ResponseWriter, code int, status, msg string, details ...map[string]any) {
	e := map[string]any{"code": code, "message": msg, "status": status}
	if len(details) > 0 {
		e["details"] = details
	}
	simkit.WriteJSON(w, code, map[string]any{"error": e})
}

func errorInfo(reason string) map[string]any {
	return map[string]any{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason, "domain": "googleapis.com",
		"metadata": map[string]string{"service": "analyticsdata.googleapis.com", "method": "google.analytics.data.v1beta.BetaAnalyticsData.RunReport"}}
}

func unauthenticated(w http.ResponseWriter, reason string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="https://accounts.google.com/", error="invalid_token"`)
	googleError(w, http.StatusUnauthorized, "UNAUTHENTICATED",
		"Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
		errorInfo(reason))
}

// WriteFault writes Google's answer for an injected status.
func (s *Server) WriteFault(w http.ResponseWriter, r *http.Request, status int) {
	if r.URL.Path == TokenPath {
		switch {
		case status == http.StatusTooManyRequests:
			simkit.WriteJSON(w, status, map[string]string{"error": "rate_limit_exceeded", "error_description": "Rate limit exceeded."})
		default:
			simkit.WriteJSON(w, status, map[string]string{"error": "internal_failure", "error_description": "Backend Error"})
		}
		return
	}
	switch {
	case status == http.StatusTooManyRequests:
		googleError(w, status, "RESOURCE_EXHAUSTED", "Exhausted concurrent requests quota. Too many concurrent requests for this property.")
	case status == http.StatusUnauthorized:
		unauthenticated(w, "ACCESS_TOKEN_EXPIRED")
	case status == http.StatusForbidden:
		googleError(w, status, "PERMISSION_DENIED", "User does not have sufficient permissions for this property.")
	case status == http.StatusServiceUnavailable:
		googleError(w, status, "UNAVAILABLE", "The service is currently unavailable.")
	case status >= 500:
		googleError(w, status, "INTERNAL", "Internal error encountered.")
	default:
		googleError(w, status, "UNKNOWN", strings.ToLower(http.StatusText(status)))
	}
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	switch p := r.URL.Path; {
	case p == TokenPath:
		s.serveToken(w, r)
	case strings.HasPrefix(p, simkit.ControlPrefix):
		s.serveControl(w, r)
	case strings.HasPrefix(p, "/v1beta/properties/"):
		tok := simkit.BearerToken(r)
		if tok == "" {
			unauthenticated(w, "CREDENTIALS_MISSING")
			return
		}
		t, ok := s.valid(tok)
		if !ok {
			unauthenticated(w, "ACCESS_TOKEN_EXPIRED")
			return
		}
		if !hasScope(t.scopes, ScopeReadonly, ScopeEdit) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="https://accounts.google.com/", error="insufficient_scope", scope="`+ScopeReadonly+`"`)
			googleError(w, http.StatusForbidden, "PERMISSION_DENIED", "Request had insufficient authentication scopes.", errorInfo("ACCESS_TOKEN_SCOPE_INSUFFICIENT"))
			return
		}
		s.serveProperty(w, r, strings.TrimPrefix(p, "/v1beta/properties/"))
	default:
		googleError(w, http.StatusNotFound, "NOT_FOUND", "Requested entity was not found.")
	}
}

func hasScope(have []string, want ...string) bool {
	for _, h := range have {
		for _, w := range want {
			if h == w {
				return true
			}
		}
	}
	return false
}

// tokenError writes the token endpoint's OAuth error.
func tokenError(w http.ResponseWriter, code, desc string) {
	simkit.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": code, "error_description": desc})
}

// serveToken serves the JWT-bearer grant: it verifies the assertion's RS256 signature with
// the service account's public key and its claims, then issues an access token.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		simkit.WriteJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "invalid_request", "error_description": "Method not allowed."})
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		tokenError(w, "invalid_request", "Content-Type must be application/x-www-form-urlencoded.")
		return
	}
	if err := r.ParseForm(); err != nil {
		tokenError(w, "invalid_request", "Invalid request body.")
		return
	}
	if gt := r.PostForm.Get("grant_type"); gt != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		tokenError(w, "unsupported_grant_type", "Invalid grant_type: "+gt)
		return
	}
	claims, err := s.verifyAssertion(r.PostForm.Get("assertion"), r)
	if err != nil {
		var te *tokenErr
		if errors.As(err, &te) {
			tokenError(w, te.code, te.desc)
			return
		}
		tokenError(w, "invalid_grant", err.Error())
		return
	}
	scopes := strings.Fields(claims.Scope)
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	tok := "ya29.sim-" + base64.RawURLEncoding.EncodeToString(b)
	s.mu.Lock()
	s.tokens[tok] = token{expiry: s.now().Add(s.ttl), scopes: scopes}
	s.issued++
	s.mu.Unlock()
	w.Header().Set("Cache-Control", "no-cache, no-store, max-age=0, must-revalidate")
	simkit.WriteJSON(w, http.StatusOK, map[string]any{"access_token": tok, "expires_in": int(s.ttl/time.Second) - 1, "token_type": "Bearer"})
}

type tokenErr struct{ code, desc string }

func (e *tokenErr) Error() string { return e.code + ": " + e.desc }

type assertionClaims struct {
	Iss   string `json:"iss"`
	Scope string `json:"scope"`
	Aud   string `json:"aud"`
	Iat   int64  `json:"iat"`
	Exp   int64  `json:"exp"`
	Sub   string `json:"sub"`
}

func (s *Server) verifyAssertion(assertion string, r *http.Request) (assertionClaims, error) {
	var c assertionClaims
	parts := strings.Split(assertion, ".")
	if len(parts) != 3 {
		return c, &tokenErr{"invalid_request", "Invalid JWT: assertion is not a JWT."}
	}
	hb, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	cb, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	sig, err3 := base64.RawURLEncoding.DecodeString(parts[2])
	var h struct {
		Alg, Typ, Kid string
	}
	if err1 != nil || err2 != nil || err3 != nil || json.Unmarshal(hb, &h) != nil || json.Unmarshal(cb, &c) != nil {
		return c, &tokenErr{"invalid_request", "Invalid JWT: malformed header, claims or signature."}
	}
	if h.Alg != "RS256" {
		return c, &tokenErr{"invalid_grant", "Invalid JWT Signature."}
	}
	if c.Iss != s.email {
		return c, &tokenErr{"invalid_grant", "Invalid grant: account not found"}
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if rsa.VerifyPKCS1v15(&s.key.PublicKey, crypto.SHA256, digest[:], sig) != nil || (h.Kid != "" && h.Kid != s.keyID) {
		return c, &tokenErr{"invalid_grant", "Invalid JWT Signature."}
	}
	self := "http://" + r.Host + TokenPath
	if r.TLS != nil {
		self = "https://" + r.Host + TokenPath
	}
	if c.Aud != GoogleTokenURI && c.Aud != self {
		return c, &tokenErr{"invalid_grant", "Invalid JWT: Failed audience check. The right audience is " + self}
	}
	now := s.now().Unix()
	if c.Exp <= c.Iat || c.Exp-c.Iat > 3600 || c.Exp < now || c.Iat > now+300 {
		return c, &tokenErr{"invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim."}
	}
	if strings.TrimSpace(c.Scope) == "" {
		return c, &tokenErr{"invalid_scope", "Invalid OAuth scope or ID token audience provided."}
	}
	if c.Sub != "" && c.Sub != c.Iss {
		return c, &tokenErr{"unauthorized_client", "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested."}
	}
	return c, nil
}

// serveControl serves the GA4-specific control endpoints:
//
//	GET  /_sim/service-account   the service account key file, token_uri pointing here
//	                             (no credential needed: it is how a client gets one)
//	POST /_sim/expire-tokens     invalidate every issued access token
func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, simkit.ControlPrefix)
	switch {
	case rest == "service-account" && r.Method == http.MethodGet:
		origin := "http://" + r.Host
		if r.TLS != nil {
			origin = "https://" + r.Host
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(s.ServiceAccountJSON(origin))
	case rest == "expire-tokens" && r.Method == http.MethodPost:
		if !s.Authorized(r) {
			unauthenticated(w, "CREDENTIALS_MISSING")
			return
		}
		s.ExpireTokens()
		w.WriteHeader(http.StatusNoContent)
	default:
		googleError(w, http.StatusNotFound, "NOT_FOUND", "Requested entity was not found.")
	}
}
