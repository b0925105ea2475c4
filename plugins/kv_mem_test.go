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

func (s *memKV) Set(_ context.Context, scope KVScope, k, value []byte) error {
	key, err := memKey(scope, k)
	if err != nil {
		return err
	}
	if len(value) == 0 {
		return core.Invalid("value", "must not be empty")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
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
	var u KVUsage
	if err := scope.Check(); err != nil {
		return u, err
	}
	p := memPrefix(scope)
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, v := range s.m {
		if strings.HasPrefix(k, p) {
			u.Keys++
			u.Bytes += int64(len(k)-len(p)) + int64(len(v))
		}
	}
	return u, nil
}
