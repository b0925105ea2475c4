package secrets

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/aquascene/aquahub/core"
)

// Config says where the master key comes from: the `secrets` section of the configuration.
type Config struct {
	// MasterKey is the master key: 32 random bytes, base64-encoded (`aquahub secrets
	// new-master-key` prints one). Use ${VAR} to keep it out of the file. Default empty:
	// MasterKeyFile is read.
	MasterKey string `koanf:"master_key"`
	// MasterKeyFile is a file holding the master key as MasterKey does. Default empty:
	// master.key beside the storage file, created with a fresh key (mode 0600) on the first
	// start, which keeps secrets out of the data file and its backups but not off the
	// machine; production setups set MasterKey from a secret manager instead.
	MasterKeyFile string `koanf:"master_key_file"`
}

// DefaultConfig returns the defaults: the key file beside the storage file.
func DefaultConfig() Config { return Config{} }

// Validate checks the settings; errors name the field.
func (c Config) Validate() error {
	var errs []error
	if c.MasterKey != "" && c.MasterKeyFile != "" {
		errs = append(errs, core.Invalid("master_key_file", "set master_key or master_key_file, not both"))
	}
	if c.MasterKey != "" {
		if _, err := ParseMasterKey(c.MasterKey); err != nil {
			errs = append(errs, core.Invalid("master_key", "%v", err))
		}
	}
	return errors.Join(errs...)
}

// MasterKeySize is the master key's length in bytes.
const MasterKeySize = 32

// ParseMasterKey decodes a base64 master key. The error never repeats the value.
func ParseMasterKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) != MasterKeySize {
				return nil, fmt.Errorf("must be %d bytes, base64-encoded (got %d bytes)", MasterKeySize, len(b))
			}
			return b, nil
		}
	}
	return nil, fmt.Errorf("must be %d bytes, base64-encoded (the value is not base64)", MasterKeySize)
}

// NewMasterKey returns a fresh master key, base64-encoded.
func NewMasterKey() string {
	b := make([]byte, MasterKeySize)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

// LoadMasterKey returns the master key cfg names. With neither setting, it reads the file
// at defaultFile, creating it with a fresh key when it does not exist; created reports that.
func LoadMasterKey(cfg Config, defaultFile string) (key []byte, created bool, err error) {
	if cfg.MasterKey != "" {
		key, err := ParseMasterKey(cfg.MasterKey)
		if err != nil {
			return nil, false, fmt.Errorf("secrets.master_key: %w", err)
		}
		return key, false, nil
	}
	path := cfg.MasterKeyFile
	if path == "" {
		path = defaultFile
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
				return nil, false, fmt.Errorf("creating the master key file: %w", err)
			}
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if err != nil {
				return nil, false, fmt.Errorf("creating the master key file: %w", err)
			}
			_, werr := f.WriteString(NewMasterKey() + "\n")
			serr := f.Sync()
			if err := errors.Join(werr, serr, f.Close()); err != nil {
				return nil, false, fmt.Errorf("writing the master key file %s: %w", path, err)
			}
			created = true
		}
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, false, fmt.Errorf("reading the master key file: %w", err)
	}
	key, err = ParseMasterKey(string(raw))
	if err != nil {
		return nil, false, fmt.Errorf("master key file %s: %w", path, err)
	}
	return key, created, nil
}
