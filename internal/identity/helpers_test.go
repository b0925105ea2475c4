package identity_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/httpapi"
	"github.com/aquascene/aquahub/internal/httpapi/apitest"
	"github.com/aquascene/aquahub/internal/identity"
	"github.com/aquascene/aquahub/internal/secrets"
	"github.com/aquascene/aquahub/internal/storage/bolt"
)

// clock is a settable time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// hmacSecret signs the tests' HS256 tokens: the canary, so a leak of it fails the test.
var hmacSecret = []byte(apitest.Canary)

const operatorToken = "operator-token-0123456789abcdefghijklmnop"

// rig is the identity module on a real store, served with a probe route.
type rig struct {
	mod   *identity.Module
	srv   *apitest.Server
	clock *clock
	db    *bolt.DB
	rsa   *rsa.PrivateKey
	ec    *ecdsa.PrivateKey
}

// probe answers GET /api/v1/probe (read_content) with the caller, and POST /api/v1/probe
// (generate_content).
type probe struct{}

type whoami struct {
	Tenant  string `json:"tenant"`
	Role    string `json:"role"`
	Subject string `json:"subject"`
}

func (probe) Routes(m *httpapi.Mux) {
	h := func(c *fiber.Ctx) error {
		p := httpapi.PrincipalOf(c)
		return c.JSON(whoami{Tenant: p.Tenant, Role: p.Role, Subject: p.Subject})
	}
	m.Handle(httpapi.Op{Method: "GET", Path: "/api/v1/probe", Summary: "who is calling", Permission: core.PermReadContent,
		Responses: []httpapi.Response{{Status: 200, Description: "the caller", Body: whoami{}}}}, h)
	m.Handle(httpapi.Op{Method: "POST", Path: "/api/v1/probe", Summary: "needs generate_content", Permission: core.PermGenerateContent,
		Responses: []httpapi.Response{{Status: 200, Description: "the caller", Body: whoami{}}}}, h)
}

func fileTenants() []identity.FileTenant {
	return []identity.FileTenant{
		{ID: "aquascene", Config: identity.TenantConfig{
			APIKeys: []identity.ConfigKey{{Key: "dev-key", Role: core.RoleAdmin}, {Key: "viewer-key", Role: core.RoleViewer}},
			Name:    "AquaScene", Limits: identity.LimitsConfig{DailyRequests: 1000},
		}, Connectors: map[string]core.ConnectorGrant{"sendgrid": {Secrets: map[string]string{"api_key": apitest.Canary}, Egress: []string{"https://api.sendgrid.com"}}}},
		{ID: "other", Config: identity.TenantConfig{APIKeys: []identity.ConfigKey{{Key: "other-key", Role: core.RoleAdmin}}}},
	}
}

func newRig(t *testing.T, mutate ...func(*identity.Config)) *rig {
	t.Helper()
	dir := t.TempDir()
	r := &rig{clock: &clock{t: time.Now().UTC().Truncate(time.Second)}}
	var err error
	if r.rsa, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	if r.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&r.rsa.PublicKey)
	pemFile := filepath.Join(dir, "rsa.pem")
	if err := os.WriteFile(pemFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	jwksFile := filepath.Join(dir, "jwks.json")
	jwks, _ := json.Marshal(map[string]any{"keys": []any{map[string]any{
		"kty": "EC", "crv": "P-256", "kid": "ec-1", "alg": "ES256", "use": "sig",
		"x": b64(r.ec.X, 32), "y": b64(r.ec.Y, 32),
	}}})
	if err := os.WriteFile(jwksFile, jwks, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := identity.Config{OperatorToken: operatorToken, JWT: identity.JWTConfig{
		Issuer: "https://auth.aquascene.example", Audience: "aquahub", Leeway: 30 * time.Second,
		Keys: []identity.JWTKey{
			{ID: "hs", Secret: string(hmacSecret)},
			{ID: "rs", Algorithm: "RS256", PublicKeyFile: pemFile},
			{ID: "es", Algorithm: "ES256", JWKSFile: jwksFile},
			{ID: "partner", Secret: "partner-secret-0123456789abcdefghijkl", Tenants: []string{"other"}},
		},
	}}
	for _, m := range mutate {
		m(&cfg)
	}
	key, _ := secrets.ParseMasterKey(secrets.NewMasterKey())
	vault, err := secrets.NewVault(key)
	if err != nil {
		t.Fatal(err)
	}
	r.db, err = bolt.OpenWith(bolt.Config{Path: filepath.Join(dir, "hub.db")}, bolt.Options{Secrets: vault})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.db.Close() })
	r.mod, err = identity.New(cfg, fileTenants(), identity.Deps{Store: r.db.Identity(), Now: r.clock.now, Logger: apitest.Logger(t),
		CheckConnector: checkConnector, CheckSource: checkSource})
	if err != nil {
		t.Fatal(err)
	}
	r.srv = apitest.NewWith(t, httpapi.DefaultConfig(), httpapi.Options{Auth: r.mod, Admission: r.mod, Audit: r.mod, Logger: apitest.Logger(t), Version: "test"}, r.mod, probe{})
	return r
}

func b64(n *big.Int, size int) string {
	b := make([]byte, size)
	n.FillBytes(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// checkConnector and checkSource stand in for the connector host's and the inbound module's
// checks, which the wiring passes.
func checkConnector(_ string, g core.ConnectorGrant) error {
	for i, e := range g.Egress {
		if !strings.HasPrefix(e, "https://") && !strings.HasPrefix(e, "http://") {
			return core.Invalid(fmt.Sprintf("egress[%d]", i), "not an http(s) origin (got %q)", e)
		}
	}
	return nil
}

func checkSource(_ string, s core.SourceSettings) error {
	for k := range s.Settings {
		switch k {
		case "secret", "token":
			return core.Invalid("settings."+k, "is a secret: give it under secrets")
		case "verifier", "header", "prefix", "type":
		default:
			return core.Invalid("settings."+k, "unknown setting")
		}
	}
	return nil
}
