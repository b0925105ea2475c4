package plugins

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/aquascene/aquahub/core"
)

// memKV is a KVStore in memory for the package's own tests, which cannot import the bbolt
// store (it imports this package). kv_test.go runs the contract suite on it.
type memKV struct {
	mu sync.Mutex
	m  map[string][]byte
}

func newMemKV() *memKV { return &memKV{m: map[string][]byte{}} }

func memKey(scope KVScope, k []byte) (string, error) {
	if err := scope.Check(); err != nil {
		return "", err
	}
	if len(k) == 0 {
		return "", core.Invalid("key", "must not be empty")
	}
	return memPrefix(scope) + string(k), nil
}

func memPrefix(scope KVScope) string { return scope.Tenant + "\x00" + scope.Connector + "\x00" }

func (s *memKV) Get(_ context.Context, scope KVScope, k []byte) ([]byte, error) {
	key, err := memKey(scope, k)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[key]
	if !ok {
		return nil, fmt.Errorf("kv key %q: %w", k, core.ErrNotFound)
	}
	return bytes.Clone(v), nil
}

func (s *memKV) Set(_ context.Context, scope KVScope, k, value []byte, quota KVQuota) error {
	key, err := memKey(scope, k)
	if err != nil {
		return err
	}
	if len(value) == 0 {
		return core.Invalid("value", "must not be empty")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	before := s.usage(scope)
	after := UsageAfterSet(before, k, s.m[key], value)
	if err := CheckQuota(scope, before, after, quota); err != nil {
		return err
	}
	s.m[key] = bytes.Clone(value)
	return nil
}

func (s *memKV) Delete(_ context.Context, scope KVScope, k []byte) error {
	key, err := memKey(scope, k)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, key)
	return nil
}

func (s *memKV) Usage(_ context.Context, scope KVScope) (KVUsage, error) {
	if err := scope.Check(); err != nil {
		return KVUsage{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.usage(scope), nil
}

// usage counts scope's keys; s.mu is held.
func (s *memKV) usage(scope KVScope) KVUsage {
	var u KVUsage
	p := memPrefix(scope)
	for k, v := range s.m {
		if strings.HasPrefix(k, p) {
			u.Keys++
			u.Bytes += int64(len(k)-len(p)) + int64(len(v))
		}
	}
	return u
}

func (s *memKV) Usages(context.Context) (map[KVScope]KVUsage, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[KVScope]KVUsage{}
	for k, v := range s.m {
		parts := strings.SplitN(k, "\x00", 3)
		scope := KVScope{Tenant: parts[0], Connector: parts[1]}
		u := out[scope]
		u.Keys++
		u.Bytes += int64(len(parts[2]) + len(v))
		out[scope] = u
	}
	return out, nil
}
