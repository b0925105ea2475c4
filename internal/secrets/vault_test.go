package secrets_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aquascene/aquahub/internal/secrets"
)

// memKeys is core.DataKeys in a map.
type memKeys map[string][]byte

func (m memKeys) DataKey(tenant string) ([]byte, error) { return m[tenant], nil }
func (m memKeys) PutDataKey(tenant string, wrapped []byte) error {
	m[tenant] = bytes.Clone(wrapped)
	return nil
}

func newVault(t testing.TB) *secrets.Vault {
	t.Helper()
	key, err := secrets.ParseMasterKey(secrets.NewMasterKey())
	if err != nil {
		t.Fatal(err)
	}
	v, err := secrets.NewVault(key)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

const plain = "SG.canary-secret-value"

func TestSealOpenRoundTripAndTenantBinding(t *testing.T) {
	v, keys := newVault(t), memKeys{}
	sealed, err := v.Seal(keys, "acme", []byte(plain))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte(plain)) {
		t.Fatal("the sealed value contains the plaintext")
	}
	if keys["acme"] == nil {
		t.Fatal("no data key was stored for the tenant")
	}
	got, err := v.Open(keys, "acme", sealed)
	if err != nil || string(got) != plain {
		t.Fatalf("open: %q %v", got, err)
	}
	again, _ := v.Seal(keys, "acme", []byte(plain))
	if bytes.Equal(again, sealed) {
		t.Fatal("two seals of one value are identical: the nonce is not random")
	}
	// Another tenant's key cannot open it, nor can the value be moved under another tenant
	// holding a copy of the data key.
	if _, err := v.Seal(keys, "other", []byte("x")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		keys   memKeys
		tenant string
		value  []byte
	}{
		{"another tenant", keys, "other", sealed},
		{"data key moved to another tenant", memKeys{"other": keys["acme"]}, "other", sealed},
		{"tampered value", keys, "acme", append(bytes.Clone(sealed[:len(sealed)-1]), sealed[len(sealed)-1]^1)},
		{"truncated value", keys, "acme", sealed[:10]},
		{"not sealed at all", keys, "acme", []byte(plain)},
		{"tenant without a data key", keys, "nobody", sealed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.Open(tc.keys, tc.tenant, tc.value)
			if err == nil {
				t.Fatal("opened")
			}
			if strings.Contains(err.Error(), plain) || strings.Contains(err.Error(), "canary") {
				t.Fatalf("the error repeats the secret: %v", err)
			}
		})
	}
}

func TestWrongMasterKeyAndRotation(t *testing.T) {
	old, next := newVault(t), newVault(t)
	keys := memKeys{}
	sealed, err := old.Seal(keys, "acme", []byte(plain))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := next.Open(keys, "acme", sealed); !errors.Is(err, secrets.ErrWrongMasterKey) {
		t.Fatalf("opening with another master key: %v, want ErrWrongMasterKey", err)
	}
	if err := next.CheckDataKey("acme", keys["acme"]); !errors.Is(err, secrets.ErrWrongMasterKey) {
		t.Fatalf("check: %v", err)
	}
	rewrapped, err := secrets.RewrapDataKey(old, next, "acme", keys["acme"])
	if err != nil {
		t.Fatal(err)
	}
	kid, _ := secrets.WrappedKeyID(rewrapped)
	if kid != next.KeyID() {
		t.Fatalf("rewrapped under %s, want %s", kid, next.KeyID())
	}
	keys["acme"] = rewrapped
	got, err := next.Open(keys, "acme", sealed)
	if err != nil || string(got) != plain {
		t.Fatalf("after rotation the old value must open under the new key: %q %v", got, err)
	}
	if _, err := secrets.RewrapDataKey(old, next, "other", rewrapped); err == nil {
		t.Fatal("rewrapping a key the old vault did not wrap succeeded")
	}
}

func TestMasterKeyLoading(t *testing.T) {
	dir := t.TempDir()
	def := filepath.Join(dir, "data", "master.key")
	key, created, err := secrets.LoadMasterKey(secrets.Config{}, def)
	if err != nil || !created || len(key) != secrets.MasterKeySize {
		t.Fatalf("first start: %d bytes, created %v, %v", len(key), created, err)
	}
	if st, err := os.Stat(def); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v %v, want 0600", st.Mode(), err)
	}
	again, created, err := secrets.LoadMasterKey(secrets.Config{}, def)
	if err != nil || created || !bytes.Equal(again, key) {
		t.Fatalf("second start must read the same key: created %v %v", created, err)
	}
	tests := []struct {
		name string
		cfg  secrets.Config
		want string
	}{
		{"not base64", secrets.Config{MasterKey: "not base64 %%%"}, "master_key: must be 32 bytes, base64-encoded (the value is not base64)"},
		{"too short", secrets.Config{MasterKey: "c2hvcnQ="}, "master_key: must be 32 bytes, base64-encoded (got 5 bytes)"},
		{"both", secrets.Config{MasterKey: secrets.NewMasterKey(), MasterKeyFile: "x"}, "master_key_file: set master_key or master_key_file, not both"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
	if _, _, err := secrets.LoadMasterKey(secrets.Config{MasterKeyFile: filepath.Join(dir, "missing")}, def); err == nil {
		t.Fatal("a named key file that does not exist must not be created")
	}
}
