package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/plugins"
)

// Run runs the contract suite; open returns a new empty store and registers its cleanup.
func Run(t *testing.T, open func(t testing.TB) plugins.KVStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s plugins.KVStore)
	}{
		{"a value set is read back", testSetGet},
		{"a missing key is not found", testNotFound},
		{"set replaces the value", testReplace},
		{"delete removes the key and tolerates a missing one", testDelete},
		{"tenants and connectors are isolated", testIsolation},
		{"keys and values are bytes, zero bytes included", testBinary},
		{"values are copied in and out", testCopies},
		{"usage counts the keys and bytes of one scope", testUsage},
		{"bad keys, values and scopes are invalid", testInvalid},
		{"concurrent writers all land", testConcurrentSets},
		{"a set over the quota is refused and writes nothing", testQuota},
		{"concurrent writers cannot pass the quota together", testConcurrentQuota},
		{"usages lists every scope holding keys", testUsages},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

var (
	ctx  = context.Background()
	acme = plugins.KVScope{Tenant: "acme", Connector: "airtable"}
)

func set(t testing.TB, s plugins.KVStore, scope plugins.KVScope, key, value string) {
	t.Helper()
	if err := s.Set(ctx, scope, []byte(key), []byte(value), plugins.KVQuota{}); err != nil {
		t.Fatalf("Set(%v, %q): %v", scope, key, err)
	}
}

// get returns the value of key, or "<not found>".
func get(t testing.TB, s plugins.KVStore, scope plugins.KVScope, key string) string {
	t.Helper()
	v, err := s.Get(ctx, scope, []byte(key))
	if errors.Is(err, core.ErrNotFound) {
		return "<not found>"
	}
	if err != nil {
		t.Fatalf("Get(%v, %q): %v", scope, key, err)
	}
	return string(v)
}

func usage(t testing.TB, s plugins.KVStore, scope plugins.KVScope) plugins.KVUsage {
	t.Helper()
	u, err := s.Usage(ctx, scope)
	if err != nil {
		t.Fatalf("Usage(%v): %v", scope, err)
	}
	return u
}

func testSetGet(t *testing.T, s plugins.KVStore) {
	set(t, s, acme, "cursor", "page-2")
	if got := get(t, s, acme, "cursor"); got != "page-2" {
		t.Fatalf("got %q, want page-2", got)
	}
}

func testNotFound(t *testing.T, s plugins.KVStore) {
	_, err := s.Get(ctx, acme, []byte("nothing"))
	if !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("Get of a missing key: %v, want an error wrapping core.ErrNotFound", err)
	}
}

func testReplace(t *testing.T, s plugins.KVStore) {
	set(t, s, acme, "k", "a much longer first value")
	set(t, s, acme, "k", "short")
	if got := get(t, s, acme, "k"); got != "short" {
		t.Fatalf("got %q, want the second value", got)
	}
	if u := usage(t, s, acme); u != (plugins.KVUsage{Keys: 1, Bytes: int64(len("k") + len("short"))}) {
		t.Fatalf("usage %+v after replacing, want one key of the second value's size", u)
	}
}

func testDelete(t *testing.T, s plugins.KVStore) {
	set(t, s, acme, "k", "v")
	set(t, s, acme, "other", "stays")
	if err := s.Delete(ctx, acme, []byte("k")); err != nil {
		t.Fatal(err)
	}
	if got := get(t, s, acme, "k"); got != "<not found>" {
		t.Fatalf("after Delete: %q", got)
	}
	if err := s.Delete(ctx, acme, []byte("k")); err != nil {
		t.Fatalf("deleting a missing key: %v", err)
	}
	if got := get(t, s, acme, "other"); got != "stays" {
		t.Fatalf("Delete removed another key: %q", got)
	}
}

func testIsolation(t *testing.T, s plugins.KVStore) {
	scopes := []plugins.KVScope{
		acme,
		{Tenant: "other", Connector: "airtable"},
		{Tenant: "acme", Connector: "sendgrid"},
		// The same bytes run together differently: separators keep them apart.
		{Tenant: "acm", Connector: "eairtable"},
		{Tenant: "acme", Connector: "air"},
	}
	for i, sc := range scopes {
		set(t, s, sc, "table", fmt.Sprint("value ", i))
	}
	set(t, s, plugins.KVScope{Tenant: "acme", Connector: "air"}, "table2", "x")
	for i, sc := range scopes {
		if got, want := get(t, s, sc, "table"), fmt.Sprint("value ", i); got != want {
			t.Errorf("%+v: got %q, want %q", sc, got, want)
		}
	}
	if got := get(t, s, plugins.KVScope{Tenant: "nobody", Connector: "airtable"}, "table"); got != "<not found>" {
		t.Errorf("a tenant without values read %q", got)
	}
	if u := usage(t, s, acme); u.Keys != 1 {
		t.Errorf("usage of %+v counts %d keys, want 1 (another scope's keys leaked in)", acme, u.Keys)
	}
	if err := s.Delete(ctx, plugins.KVScope{Tenant: "other", Connector: "airtable"}, []byte("table")); err != nil {
		t.Fatal(err)
	}
	if got := get(t, s, acme, "table"); got != "value 0" {
		t.Errorf("another tenant's Delete reached %+v: %q", acme, got)
	}
}

func testBinary(t *testing.T, s plugins.KVStore) {
	key := []byte{0, 'k', 0, 0xff}
	value := []byte{0xff, 0, 0, 1}
	if err := s.Set(ctx, acme, key, value, plugins.KVQuota{}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, acme, key)
	if err != nil || !bytes.Equal(got, value) {
		t.Fatalf("got %v %v, want %v", got, err, value)
	}
	if _, err := s.Get(ctx, acme, key[:2]); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("a prefix of a key is another key: %v", err)
	}
}

func testCopies(t *testing.T, s plugins.KVStore) {
	value := []byte("original")
	if err := s.Set(ctx, acme, []byte("k"), value, plugins.KVQuota{}); err != nil {
		t.Fatal(err)
	}
	copy(value, "XXXXXXXX")
	got, err := s.Get(ctx, acme, []byte("k"))
	if err != nil || string(got) != "original" {
		t.Fatalf("after the caller changed its slice: %q %v", got, err)
	}
	copy(got, "YYYYYYYY")
	if again := get(t, s, acme, "k"); again != "original" {
		t.Fatalf("changing a value Get returned changed the store: %q", again)
	}
}

func testUsage(t *testing.T, s plugins.KVStore) {
	if u := usage(t, s, acme); u != (plugins.KVUsage{}) {
		t.Fatalf("usage of an empty scope: %+v", u)
	}
	set(t, s, acme, "a", "12345")
	set(t, s, acme, "bb", "1234567890")
	set(t, s, plugins.KVScope{Tenant: "acme", Connector: "other"}, "c", "not counted")
	want := plugins.KVUsage{Keys: 2, Bytes: int64(1 + 5 + 2 + 10)}
	if u := usage(t, s, acme); u != want {
		t.Fatalf("usage %+v, want %+v", u, want)
	}
	if err := s.Delete(ctx, acme, []byte("a")); err != nil {
		t.Fatal(err)
	}
	if u := usage(t, s, acme); u != (plugins.KVUsage{Keys: 1, Bytes: 12}) {
		t.Fatalf("usage after a delete: %+v", u)
	}
}

func testInvalid(t *testing.T, s plugins.KVStore) {
	tests := []struct {
		name  string
		scope plugins.KVScope
		key   string
		value string
	}{
		{name: "empty key", scope: acme, key: "", value: "v"},
		{name: "empty tenant", scope: plugins.KVScope{Connector: "airtable"}, key: "k", value: "v"},
		{name: "empty connector", scope: plugins.KVScope{Tenant: "acme"}, key: "k", value: "v"},
		{name: "zero byte in tenant", scope: plugins.KVScope{Tenant: "ac\x00me", Connector: "airtable"}, key: "k", value: "v"},
		{name: "zero byte in connector", scope: plugins.KVScope{Tenant: "acme", Connector: "air\x00table"}, key: "k", value: "v"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.Set(ctx, tt.scope, []byte(tt.key), []byte(tt.value), plugins.KVQuota{}); !errors.Is(err, core.ErrInvalid) {
				t.Errorf("Set: %v, want an error wrapping core.ErrInvalid", err)
			}
			if _, err := s.Get(ctx, tt.scope, []byte(tt.key)); !errors.Is(err, core.ErrInvalid) {
				t.Errorf("Get: %v, want an error wrapping core.ErrInvalid", err)
			}
			if err := s.Delete(ctx, tt.scope, []byte(tt.key)); !errors.Is(err, core.ErrInvalid) {
				t.Errorf("Delete: %v, want an error wrapping core.ErrInvalid", err)
			}
		})
	}
	t.Run("empty value", func(t *testing.T) {
		if err := s.Set(ctx, acme, []byte("k"), nil, plugins.KVQuota{}); !errors.Is(err, core.ErrInvalid) {
			t.Errorf("Set of an empty value: %v, want an error wrapping core.ErrInvalid", err)
		}
	})
	t.Run("usage of a bad scope", func(t *testing.T) {
		if _, err := s.Usage(ctx, plugins.KVScope{Tenant: "acme"}); !errors.Is(err, core.ErrInvalid) {
			t.Errorf("Usage: %v, want an error wrapping core.ErrInvalid", err)
		}
	})
	if u := usage(t, s, acme); u != (plugins.KVUsage{}) {
		t.Fatalf("refused writes left %+v behind", u)
	}
}

func testConcurrentSets(t *testing.T, s plugins.KVStore) {
	const writers, each = 8, 10
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				errs <- s.Set(ctx, acme, fmt.Appendf(nil, "w%d-%d", w, i), []byte("v"), plugins.KVQuota{})
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if u := usage(t, s, acme); u.Keys != writers*each {
		t.Fatalf("%d keys after %d concurrent writes", u.Keys, writers*each)
	}
}

func testQuota(t *testing.T, s plugins.KVStore) {
	quota := plugins.KVQuota{Keys: 2, Bytes: 20}
	setQ := func(key, value string) error { return s.Set(ctx, acme, []byte(key), []byte(value), quota) }
	if err := setQ("a", "123456789"); err != nil { // 10 bytes, 1 key
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		key, value string
		refused    bool
	}{
		{"a second key within both bounds", "b", "12345678", false},    // 19 bytes, 2 keys
		{"a third key", "c", "1", true},                                // 3 keys
		{"a larger value over the bytes", "b", "1234567890", true},     // 21 bytes
		{"replacing a value with a smaller one", "a", "1", false},      // 2 + 9 bytes
		{"replacing a value within bounds", "b", "12345678901", false}, // 2 + 12 bytes
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := usage(t, s, acme)
			err := setQ(tt.key, tt.value)
			if !tt.refused {
				if err != nil {
					t.Fatalf("Set: %v", err)
				}
				return
			}
			if !errors.Is(err, plugins.ErrKVQuota) {
				t.Fatalf("Set: %v, want an error wrapping plugins.ErrKVQuota", err)
			}
			if after := usage(t, s, acme); after != before {
				t.Fatalf("a refused Set changed the usage from %+v to %+v", before, after)
			}
		})
	}
	if got := get(t, s, acme, "c"); got != "<not found>" {
		t.Fatalf("the refused key was stored: %q", got)
	}
	other := plugins.KVScope{Tenant: "acme", Connector: "other"}
	if err := s.Set(ctx, other, []byte("c"), []byte("1"), quota); err != nil {
		t.Fatalf("another scope has a quota of its own: %v", err)
	}
	t.Run("a lowered quota still allows shrinking", func(t *testing.T) {
		if err := s.Set(ctx, acme, []byte("b"), []byte("1"), plugins.KVQuota{Keys: 1, Bytes: 1}); err != nil {
			t.Fatalf("shrinking a value over a lowered quota: %v", err)
		}
	})
}

func testConcurrentQuota(t *testing.T, s plugins.KVStore) {
	const writers, each = 8, 10
	quota := plugins.KVQuota{Keys: 25}
	var wg sync.WaitGroup
	var mu sync.Mutex
	stored, refused := 0, 0
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				err := s.Set(ctx, acme, fmt.Appendf(nil, "w%d-%d", w, i), []byte("v"), quota)
				mu.Lock()
				switch {
				case err == nil:
					stored++
				case errors.Is(err, plugins.ErrKVQuota):
					refused++
				default:
					t.Error(err)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if stored != quota.Keys || refused != writers*each-quota.Keys {
		t.Fatalf("%d stored and %d refused, want %d and %d", stored, refused, quota.Keys, writers*each-quota.Keys)
	}
	if u := usage(t, s, acme); u.Keys != quota.Keys {
		t.Fatalf("%d keys stored under a quota of %d", u.Keys, quota.Keys)
	}
}

func testUsages(t *testing.T, s plugins.KVStore) {
	other := plugins.KVScope{Tenant: "other", Connector: "airtable"}
	set(t, s, acme, "a", "12345")
	set(t, s, acme, "bb", "1")
	set(t, s, other, "c", "x")
	set(t, s, other, "gone", "x")
	if err := s.Delete(ctx, other, []byte("gone")); err != nil {
		t.Fatal(err)
	}
	emptied := plugins.KVScope{Tenant: "acme", Connector: "emptied"}
	set(t, s, emptied, "k", "v")
	if err := s.Delete(ctx, emptied, []byte("k")); err != nil {
		t.Fatal(err)
	}
	got, err := s.Usages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[plugins.KVScope]plugins.KVUsage{acme: {Keys: 2, Bytes: 9}, other: {Keys: 1, Bytes: 2}}
	if len(got) != len(want) {
		t.Fatalf("Usages = %+v, want %+v", got, want)
	}
	for scope, u := range want {
		if got[scope] != u {
			t.Fatalf("Usages = %+v, want %+v", got, want)
		}
	}
}
