package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aquascene/aquahub/core"
)

// KeyPrefix starts every stored API key, so that scanners and people recognise one.
const KeyPrefix = "aqh_live_"

const (
	keyIDLen     = 12
	keySecretLen = 43 // base62: about 256 bits
	base62       = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
)

func randomBase62(n int) string {
	b := make([]byte, n)
	buf := make([]byte, 1)
	for i := range b {
		for {
			if _, err := rand.Read(buf); err != nil {
				panic(err)
			}
			// 248 is the largest multiple of 62 below 256: no modulo bias.
			if buf[0] < 248 {
				b[i] = base62[buf[0]%62]
				break
			}
		}
	}
	return string(b)
}

// parseStoredKey splits aqh_live_<id>_<secret>; ok is false for anything else.
func parseStoredKey(s string) (id string, ok bool) {
	rest, found := strings.CutPrefix(s, KeyPrefix)
	if !found {
		return "", false
	}
	id, secret, found := strings.Cut(rest, "_")
	if !found || len(id) != keyIDLen || len(secret) != keySecretLen {
		return "", false
	}
	return id, true
}

// KeyInput creates an API key.
type KeyInput struct {
	Name string
	Role string
	// TTL, when positive, ends the key after that long.
	TTL time.Duration
	// ExpiresAt, when set, ends the key then (instead of TTL).
	ExpiresAt time.Time
}

// CreateKey creates an API key for tenant and returns it with the key itself, which is
// never shown again.
func (m *Module) CreateKey(ctx context.Context, tenant, createdBy string, in KeyInput) (Key, string, error) {
	if m.store == nil {
		return Key{}, "", errNoStore
	}
	if _, ok := m.reg.Tenant(tenant); !ok {
		return Key{}, "", fmt.Errorf("tenant %q: %w", tenant, core.ErrNotFound)
	}
	now := m.now()
	var errs []error
	if !core.ValidRole(in.Role) {
		errs = append(errs, core.Invalid("role", "must be viewer, editor, content_manager or admin (got %q)", in.Role))
	}
	if len(in.Name) > 200 {
		errs = append(errs, core.Invalid("name", "longer than 200 characters"))
	}
	if in.TTL < 0 {
		errs = append(errs, core.Invalid("ttl", "may not be negative"))
	}
	expires := in.ExpiresAt
	if expires.IsZero() && in.TTL > 0 {
		expires = now.Add(in.TTL)
	}
	if !expires.IsZero() && !expires.After(now) {
		errs = append(errs, core.Invalid("expires_at", "must be in the future"))
	}
	if err := errors.Join(errs...); err != nil {
		return Key{}, "", err
	}
	id := randomBase62(keyIDLen)
	secret := KeyPrefix + id + "_" + randomBase62(keySecretLen)
	sum := sha256.Sum256([]byte(secret))
	k := Key{ID: id, Tenant: tenant, Name: in.Name, Role: in.Role, Hash: sum[:], CreatedBy: createdBy, CreatedAt: now, ExpiresAt: expires}
	if err := m.store.PutKey(ctx, k); err != nil {
		return Key{}, "", err
	}
	m.Audit(ctx, core.AuditEntry{Tenant: tenant, Actor: createdBy, Action: "key.created", Target: k.Prefix(), Outcome: "ok",
		Detail: fmt.Sprintf("role %s, name %q", k.Role, k.Name)})
	return k, secret, nil
}

// Keys lists a tenant's keys, newest first.
func (m *Module) Keys(ctx context.Context, tenant string) ([]Key, error) {
	if m.store == nil {
		return nil, errNoStore
	}
	keys, err := m.store.Keys(ctx, tenant)
	for i, j := 0, len(keys)-1; i < j; i, j = i+1, j-1 {
		keys[i], keys[j] = keys[j], keys[i]
	}
	return keys, err
}

// RevokeKey ends a tenant's key at once. Another tenant's key is not found.
func (m *Module) RevokeKey(ctx context.Context, tenant, id, by string) (Key, error) {
	if m.store == nil {
		return Key{}, errNoStore
	}
	id = strings.TrimPrefix(id, KeyPrefix)
	k, err := m.store.Key(ctx, id)
	if err != nil || k.Tenant != tenant {
		return Key{}, fmt.Errorf("API key %q: %w", id, core.ErrNotFound)
	}
	if !k.RevokedAt.IsZero() {
		return k, nil
	}
	k.RevokedAt = m.now()
	if err := m.store.PutKey(ctx, k); err != nil {
		return Key{}, err
	}
	m.Audit(ctx, core.AuditEntry{Tenant: tenant, Actor: by, Action: "key.revoked", Target: k.Prefix(), Outcome: "ok"})
	return k, nil
}

// storedKey authenticates a stored key.
func (m *Module) storedKey(ctx context.Context, credential string) (core.Principal, error) {
	id, ok := parseStoredKey(credential)
	if !ok {
		return core.Principal{}, &authFailure{reason: "malformed API key (aqh_live_ keys have an id and a secret)", actor: "malformed aqh_live_ key"}
	}
	if m.store == nil {
		return core.Principal{}, &authFailure{reason: "unknown API key", actor: KeyPrefix + id}
	}
	k, err := m.store.Key(ctx, id)
	if errors.Is(err, core.ErrNotFound) {
		return core.Principal{}, &authFailure{reason: "unknown API key", actor: KeyPrefix + id}
	}
	if err != nil {
		return core.Principal{}, err
	}
	sum := sha256.Sum256([]byte(credential))
	if subtle.ConstantTimeCompare(sum[:], k.Hash) != 1 {
		return core.Principal{}, &authFailure{reason: "unknown API key", actor: k.Prefix(), tenant: k.Tenant}
	}
	now := m.now()
	switch {
	case !k.RevokedAt.IsZero():
		return core.Principal{}, &authFailure{reason: "API key " + k.Prefix() + " was revoked", actor: k.Prefix(), tenant: k.Tenant}
	case !k.Active(now):
		return core.Principal{}, &authFailure{reason: "API key " + k.Prefix() + " expired at " + k.ExpiresAt.UTC().Format(time.RFC3339), actor: k.Prefix(), tenant: k.Tenant}
	}
	return core.Principal{Tenant: k.Tenant, Role: k.Role, Subject: "key:" + k.Prefix()}, nil
}
