package secrets

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"

	"github.com/aquascene/aquahub/core"
)

// The formats, each a magic prefix and a version:
//
//	wrapped data key: "aqk1" | master key id (8 bytes) | nonce (12) | AES-GCM(data key)
//	sealed value:     "aqs1" | nonce (12) | AES-GCM(value)
//
// The additional data binds a data key to its tenant and a value to its tenant.
var (
	magicWrapped = []byte("aqk1")
	magicSealed  = []byte("aqs1")
)

const (
	dataKeySize = 32
	keyIDSize   = 8
)

// ErrWrongMasterKey is returned when a data key was wrapped by another master key than the
// vault's: the hub runs with a key that did not write its data (or the data was tampered
// with).
var ErrWrongMasterKey = errors.New("the data key was wrapped by another master key")

// Vault seals and opens secret values with per-tenant data keys wrapped by one master key.
// It implements core.SecretBox and is safe for concurrent use.
type Vault struct {
	master cipher.AEAD
	kid    []byte

	mu sync.Mutex
	// keys caches unwrapped data keys by tenant and wrapped bytes.
	keys map[string]cipher.AEAD
}

// NewVault returns a vault for the master key (MasterKeySize bytes).
func NewVault(masterKey []byte) (*Vault, error) {
	if len(masterKey) != MasterKeySize {
		return nil, fmt.Errorf("secrets: the master key must be %d bytes (got %d)", MasterKeySize, len(masterKey))
	}
	aead, err := gcm(masterKey)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(append([]byte("aquahub master key id\x00"), masterKey...))
	return &Vault{master: aead, kid: sum[:keyIDSize], keys: map[string]cipher.AEAD{}}, nil
}

// KeyID names the master key without revealing it, as hex.
func (v *Vault) KeyID() string { return hex.EncodeToString(v.kid) }

func gcm(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func dataKeyAD(tenant string) []byte { return []byte("aquahub data key\x00" + tenant) }
func valueAD(tenant string) []byte   { return []byte("aquahub secret\x00" + tenant) }

// Seal implements core.SecretBox. A tenant without a data key gets one, stored in keys.
func (v *Vault) Seal(keys core.DataKeys, tenant string, plaintext []byte) ([]byte, error) {
	aead, err := v.dataKey(keys, tenant, true)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	out := append(bytes.Clone(magicSealed), nonce...)
	return aead.Seal(out, nonce, plaintext, valueAD(tenant)), nil
}

// Open implements core.SecretBox.
func (v *Vault) Open(keys core.DataKeys, tenant string, sealed []byte) ([]byte, error) {
	if !bytes.HasPrefix(sealed, magicSealed) {
		return nil, fmt.Errorf("opening a secret of tenant %q: not a sealed value", tenant)
	}
	aead, err := v.dataKey(keys, tenant, false)
	if err != nil {
		return nil, err
	}
	rest := sealed[len(magicSealed):]
	if len(rest) < aead.NonceSize()+aead.Overhead() {
		return nil, fmt.Errorf("opening a secret of tenant %q: sealed value is truncated", tenant)
	}
	plain, err := aead.Open(nil, rest[:aead.NonceSize()], rest[aead.NonceSize():], valueAD(tenant))
	if err != nil {
		return nil, fmt.Errorf("opening a secret of tenant %q: it does not authenticate (tampered, or sealed for another tenant)", tenant)
	}
	return plain, nil
}

// dataKey returns tenant's data key, creating and storing one when create is set and the
// tenant has none.
func (v *Vault) dataKey(keys core.DataKeys, tenant string, create bool) (cipher.AEAD, error) {
	wrapped, err := keys.DataKey(tenant)
	if err != nil {
		return nil, fmt.Errorf("reading the data key of tenant %q: %w", tenant, err)
	}
	if wrapped == nil {
		if !create {
			return nil, fmt.Errorf("opening a secret of tenant %q: the tenant has no data key", tenant)
		}
		dk := make([]byte, dataKeySize)
		if _, err := rand.Read(dk); err != nil {
			return nil, err
		}
		if wrapped, err = v.wrap(tenant, dk); err != nil {
			return nil, err
		}
		if err := keys.PutDataKey(tenant, wrapped); err != nil {
			return nil, fmt.Errorf("storing the data key of tenant %q: %w", tenant, err)
		}
	}
	id := tenant + "\x00" + string(wrapped)
	v.mu.Lock()
	aead, ok := v.keys[id]
	v.mu.Unlock()
	if ok {
		return aead, nil
	}
	dk, err := v.unwrap(tenant, wrapped)
	if err != nil {
		return nil, err
	}
	if aead, err = gcm(dk); err != nil {
		return nil, err
	}
	v.mu.Lock()
	v.keys[id] = aead
	v.mu.Unlock()
	return aead, nil
}

func (v *Vault) wrap(tenant string, dk []byte) ([]byte, error) {
	nonce := make([]byte, v.master.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	out := append(append(bytes.Clone(magicWrapped), v.kid...), nonce...)
	return v.master.Seal(out, nonce, dk, dataKeyAD(tenant)), nil
}

func (v *Vault) unwrap(tenant string, wrapped []byte) ([]byte, error) {
	kid, err := WrappedKeyID(wrapped)
	if err != nil {
		return nil, fmt.Errorf("the data key of tenant %q: %w", tenant, err)
	}
	if kid != v.KeyID() {
		return nil, fmt.Errorf("the data key of tenant %q is wrapped by master key %s, not the configured %s: %w", tenant, kid, v.KeyID(), ErrWrongMasterKey)
	}
	rest := wrapped[len(magicWrapped)+keyIDSize:]
	ns := v.master.NonceSize()
	if len(rest) < ns+v.master.Overhead() {
		return nil, fmt.Errorf("the data key of tenant %q is truncated", tenant)
	}
	dk, err := v.master.Open(nil, rest[:ns], rest[ns:], dataKeyAD(tenant))
	if err != nil {
		return nil, fmt.Errorf("the data key of tenant %q does not authenticate under master key %s (tampered, or moved from another tenant)", tenant, v.KeyID())
	}
	return dk, nil
}

// WrappedKeyID returns the id of the master key that wrapped a data key.
func WrappedKeyID(wrapped []byte) (string, error) {
	if !bytes.HasPrefix(wrapped, magicWrapped) || len(wrapped) < len(magicWrapped)+keyIDSize {
		return "", errors.New("not a wrapped data key")
	}
	return hex.EncodeToString(wrapped[len(magicWrapped) : len(magicWrapped)+keyIDSize]), nil
}

// RewrapDataKey unwraps a data key with the old vault and wraps it with next: the step of a
// master key rotation, done for every tenant's key.
func RewrapDataKey(old, next *Vault, tenant string, wrapped []byte) ([]byte, error) {
	dk, err := old.unwrap(tenant, wrapped)
	if err != nil {
		return nil, err
	}
	return next.wrap(tenant, dk)
}

// CheckDataKey reports an error when the data key was not wrapped by this vault's master
// key or does not authenticate: the hub checks every key at start, before serving.
func (v *Vault) CheckDataKey(tenant string, wrapped []byte) error {
	_, err := v.unwrap(tenant, wrapped)
	return err
}

var _ core.SecretBox = (*Vault)(nil)
