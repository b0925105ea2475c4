package identity

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/aquascene/aquahub/core"
)

// verifier checks JWTs against the configured keys, each pinned to its algorithm.
type verifier struct {
	keys     []*jwtKey
	issuer   string
	audience string
	leeway   time.Duration
	now      func() time.Time
}

// jwtKey is one configured key, loaded: an HMAC secret, or public keys by kid.
type jwtKey struct {
	id      string
	alg     string
	secret  []byte
	public  crypto.PublicKey
	jwks    map[string]crypto.PublicKey
	tenants []string
}

// newVerifier loads the keys cfg names (reading key files); nil when there are none.
func newVerifier(cfg JWTConfig, now func() time.Time) (*verifier, error) {
	if len(cfg.Keys) == 0 {
		return nil, nil
	}
	v := &verifier{issuer: cfg.Issuer, audience: cfg.Audience, leeway: cfg.Leeway, now: now}
	for i, kc := range cfg.Keys {
		k, err := loadJWTKey(kc)
		if err != nil {
			return nil, fmt.Errorf("identity.jwt.keys[%d]: %w", i, err)
		}
		v.keys = append(v.keys, k)
	}
	return v, nil
}

func loadJWTKey(kc JWTKey) (*jwtKey, error) {
	k := &jwtKey{id: kc.ID, alg: kc.algorithm(), tenants: kc.Tenants}
	switch {
	case kc.Secret != "":
		k.secret = []byte(kc.Secret)
	case kc.SecretFile != "":
		b, err := readSecretFile(kc.SecretFile)
		if err != nil {
			return nil, fmt.Errorf("secret_file: %w", err)
		}
		if len(b) < 32 {
			return nil, fmt.Errorf("secret_file %s: the secret must have at least 32 bytes (got %d)", kc.SecretFile, len(b))
		}
		k.secret = b
	case kc.PublicKeyFile != "":
		raw, err := os.ReadFile(kc.PublicKeyFile)
		if err != nil {
			return nil, fmt.Errorf("public_key_file: %w", err)
		}
		pub, err := parsePublicKeyPEM(raw)
		if err != nil {
			return nil, fmt.Errorf("public_key_file %s: %w", kc.PublicKeyFile, err)
		}
		if err := algorithmFits(k.alg, pub); err != nil {
			return nil, fmt.Errorf("public_key_file %s: %w", kc.PublicKeyFile, err)
		}
		k.public = pub
	case kc.JWKSFile != "":
		raw, err := os.ReadFile(kc.JWKSFile)
		if err != nil {
			return nil, fmt.Errorf("jwks_file: %w", err)
		}
		set, err := parseJWKS(raw, k.alg)
		if err != nil {
			return nil, fmt.Errorf("jwks_file %s: %w", kc.JWKSFile, err)
		}
		k.jwks = set
	}
	return k, nil
}

func parsePublicKeyPEM(raw []byte) (crypto.PublicKey, error) {
	block, _ := pem.Decode(raw)
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	if pub, err := x509.ParsePKIXPublicKey(block.Bytes); err == nil {
		return pub, nil
	}
	if pub, err := x509.ParsePKCS1PublicKey(block.Bytes); err == nil {
		return pub, nil
	}
	if cert, err := x509.ParseCertificate(block.Bytes); err == nil {
		return cert.PublicKey, nil
	}
	return nil, errors.New("not a PKIX or PKCS#1 public key or a certificate")
}

func algorithmFits(alg string, pub crypto.PublicKey) error {
	switch p := pub.(type) {
	case *rsa.PublicKey:
		if alg != "RS256" {
			return fmt.Errorf("an RSA key verifies RS256, not %s", alg)
		}
		if p.N.BitLen() < 2048 {
			return fmt.Errorf("an RSA key must have at least 2048 bits (got %d)", p.N.BitLen())
		}
	case *ecdsa.PublicKey:
		if alg != "ES256" || p.Curve != elliptic.P256() {
			return fmt.Errorf("an EC key verifies ES256 on P-256 only (algorithm %s)", alg)
		}
	default:
		return fmt.Errorf("unsupported key type %T", pub)
	}
	return nil
}

// parseJWKS reads a JSON Web Key Set's RSA and P-256 keys whose alg (when given) is alg.
func parseJWKS(raw []byte, alg string) (map[string]crypto.PublicKey, error) {
	var set struct {
		Keys []struct {
			Kty string `json:"kty"`
			Kid string `json:"kid"`
			Alg string `json:"alg"`
			Use string `json:"use"`
			N   string `json:"n"`
			E   string `json:"e"`
			Crv string `json:"crv"`
			X   string `json:"x"`
			Y   string `json:"y"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(raw, &set); err != nil {
		return nil, fmt.Errorf("not a JSON Web Key Set: %w", err)
	}
	out := map[string]crypto.PublicKey{}
	for i, k := range set.Keys {
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		if k.Alg != "" && k.Alg != alg {
			continue
		}
		if k.Kid == "" {
			return nil, fmt.Errorf("keys[%d]: no kid", i)
		}
		var pub crypto.PublicKey
		switch k.Kty {
		case "RSA":
			n, err1 := b64int(k.N)
			e, err2 := b64int(k.E)
			if err := errors.Join(err1, err2); err != nil || !e.IsInt64() {
				return nil, fmt.Errorf("keys[%d] (%s): bad n or e", i, k.Kid)
			}
			pub = &rsa.PublicKey{N: n, E: int(e.Int64())}
		case "EC":
			if k.Crv != "P-256" {
				return nil, fmt.Errorf("keys[%d] (%s): curve %q is not P-256", i, k.Kid, k.Crv)
			}
			x, err1 := b64bytes(k.X)
			y, err2 := b64bytes(k.Y)
			if err := errors.Join(err1, err2); err != nil || len(x) > 32 || len(y) > 32 {
				return nil, fmt.Errorf("keys[%d] (%s): bad x or y", i, k.Kid)
			}
			point := make([]byte, 65)
			point[0] = 4
			copy(point[33-len(x):33], x)
			copy(point[65-len(y):], y)
			ec, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), point)
			if err != nil {
				return nil, fmt.Errorf("keys[%d] (%s): %w", i, k.Kid, err)
			}
			pub = ec
		default:
			continue
		}
		if err := algorithmFits(alg, pub); err != nil {
			continue
		}
		out[k.Kid] = pub
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no %s signing key in the set", alg)
	}
	return out, nil
}

func b64bytes(s string) ([]byte, error) {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil || len(b) == 0 {
		return nil, errors.New("bad base64url value")
	}
	return b, nil
}

func b64int(s string) (*big.Int, error) {
	b, err := b64bytes(s)
	if err != nil {
		return nil, err
	}
	return new(big.Int).SetBytes(b), nil
}

// claims are what aquahub reads from a token; the seed's names are accepted beside ours.
type claims struct {
	jwt.RegisteredClaims
	Tenant      string   `json:"tenant,omitempty"`
	TenantID    string   `json:"tenant_id,omitempty"`
	Role        string   `json:"role,omitempty"`
	UserID      any      `json:"user_id,omitempty"`
	Permissions []string `json:"permissions,omitempty"`
}

// looksLikeJWT reports whether a bearer credential has a JWT's shape: three base64url parts,
// the first a JSON object.
func looksLikeJWT(s string) bool {
	return strings.Count(s, ".") == 2 && strings.HasPrefix(s, "eyJ")
}

// verify checks a token and returns its principal. Errors wrap core.ErrUnauthenticated and
// say what was wrong without repeating the token.
func (v *verifier) verify(token string) (core.Principal, error) {
	var used *jwtKey
	parser := func(k *jwtKey) *jwt.Parser {
		opts := []jwt.ParserOption{jwt.WithValidMethods([]string{k.alg}), jwt.WithExpirationRequired(), jwt.WithLeeway(v.leeway),
			jwt.WithIssuedAt(), jwt.WithTimeFunc(v.now)}
		if v.issuer != "" {
			opts = append(opts, jwt.WithIssuer(v.issuer))
		}
		if v.audience != "" {
			opts = append(opts, jwt.WithAudience(v.audience))
		}
		return jwt.NewParser(opts...)
	}
	var c claims
	var lastErr error
	alg := headerAlg(token)
	for _, k := range v.candidates(token) {
		if alg != k.alg {
			// The algorithm is pinned per key: refuse before any key material is used with
			// an algorithm it was not meant for (an HS256 token keyed with an RSA public key).
			lastErr = &algError{got: alg, want: k.alg}
			continue
		}
		c = claims{}
		_, err := parser(k).ParseWithClaims(token, &c, func(t *jwt.Token) (any, error) {
			kid, _ := t.Header["kid"].(string)
			switch {
			case k.secret != nil:
				return k.secret, nil
			case k.public != nil:
				return k.public, nil
			}
			if pub, ok := k.jwks[kid]; ok {
				return pub, nil
			}
			return nil, fmt.Errorf("no key with kid %q", kid)
		})
		if err == nil {
			used = k
			break
		}
		lastErr = err
	}
	if used == nil {
		return core.Principal{}, core.Unauthenticated("invalid token: %s", describeJWTError(lastErr))
	}
	tenant := c.Tenant
	if c.TenantID != "" {
		if tenant != "" && tenant != c.TenantID {
			return core.Principal{}, core.Unauthenticated("invalid token: claims tenant %q and tenant_id %q disagree", c.Tenant, c.TenantID)
		}
		tenant = c.TenantID
	}
	if tenant == "" {
		return core.Principal{}, core.Unauthenticated("invalid token: no tenant claim")
	}
	if len(used.tenants) > 0 && !slices.Contains(used.tenants, tenant) {
		return core.Principal{}, core.Unauthenticated("invalid token: its key %q may not issue tokens for tenant %q", used.id, tenant)
	}
	role := c.Role
	if role == "" {
		role = core.RoleViewer
	}
	if !core.ValidRole(role) {
		return core.Principal{}, core.Unauthenticated("invalid token: unknown role %q (viewer, editor, content_manager, admin)", c.Role)
	}
	sub := c.Subject
	if sub == "" && c.UserID != nil {
		sub = fmt.Sprint(c.UserID)
	}
	p := core.Principal{Tenant: tenant, Role: role, Subject: "jwt:" + sub}
	if c.Permissions != nil {
		p.Only = []core.Permission{}
		for _, perm := range c.Permissions {
			p.Only = append(p.Only, core.Permission(perm))
		}
	}
	return p, nil
}

// candidates are the keys that may have signed token: the one its kid names, or all.
func (v *verifier) candidates(token string) []*jwtKey {
	head, _, _ := strings.Cut(token, ".")
	raw, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return v.keys
	}
	var h struct {
		Kid string `json:"kid"`
	}
	if json.Unmarshal(raw, &h) != nil || h.Kid == "" {
		return v.keys
	}
	for _, k := range v.keys {
		if k.id == h.Kid {
			return []*jwtKey{k}
		}
		if _, ok := k.jwks[h.Kid]; ok {
			return []*jwtKey{k}
		}
	}
	return v.keys
}

// algError is a token whose algorithm no candidate key pins.
type algError struct{ got, want string }

func (e *algError) Error() string {
	return fmt.Sprintf("algorithm %q is not accepted (the key pins %s)", e.got, e.want)
}

// headerAlg reads a token's alg header, "" when it has none.
func headerAlg(token string) string {
	head, _, _ := strings.Cut(token, ".")
	raw, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return ""
	}
	var h struct {
		Alg string `json:"alg"`
	}
	_ = json.Unmarshal(raw, &h)
	return h.Alg
}

func describeJWTError(err error) string {
	var ae *algError
	switch {
	case errors.As(err, &ae):
		return ae.Error()
	case err == nil:
		return "no key verifies it"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return "a required claim is missing (exp is required)"
	case errors.Is(err, jwt.ErrTokenExpired):
		return "it has expired"
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return "it is not valid yet (nbf)"
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return "it was issued in the future (iat)"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return "wrong issuer"
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return "wrong audience"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return "the signature does not verify"
	case errors.Is(err, jwt.ErrTokenUnverifiable), errors.Is(err, jwt.ErrSignatureInvalid):
		return "its algorithm or key is not accepted"
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "malformed"
	}
	return "it does not verify"
}

// MintWith signs a token with the HS256 key of c whose id is kid (or the first HS256 key
// when kid is empty), read the way the hub reads it to verify: for `aquahub token`.
func (c JWTConfig) MintWith(kid, tenant, role, subject string, ttl time.Duration, now time.Time) (string, error) {
	for _, kc := range c.Keys {
		if kc.algorithm() != "HS256" || kid != "" && kc.ID != kid {
			continue
		}
		k, err := loadJWTKey(kc)
		if err != nil {
			return "", fmt.Errorf("identity.jwt.keys[%s]: %w", kc.ID, err)
		}
		return Mint(k.secret, kc.ID, c.Issuer, c.Audience, tenant, role, subject, ttl, now)
	}
	which := ""
	if kid != "" {
		which = fmt.Sprintf(" with id %q", kid)
	}
	return "", fmt.Errorf("no HS256 key%s in identity.jwt.keys: tokens for RS256 and ES256 keys are minted by their issuer", which)
}

// Mint signs a token with an HS256 key, for `aquahub token` and tests. ttl must be
// positive.
func Mint(secret []byte, kid, issuer, audience, tenant, role, subject string, ttl time.Duration, now time.Time) (string, error) {
	if len(secret) < 32 {
		return "", errors.New("the HS256 secret must have at least 32 bytes")
	}
	if ttl <= 0 {
		return "", errors.New("the token's lifetime must be positive")
	}
	if !core.ValidRole(role) {
		return "", fmt.Errorf("unknown role %q (viewer, editor, content_manager, admin)", role)
	}
	c := claims{RegisteredClaims: jwt.RegisteredClaims{
		Subject: subject, Issuer: issuer, IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
	}, Tenant: tenant, Role: role}
	if audience != "" {
		c.Audience = jwt.ClaimStrings{audience}
	}
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
	if kid != "" {
		t.Header["kid"] = kid
	}
	return t.SignedString(secret)
}
