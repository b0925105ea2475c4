package inbound

import (
	"errors"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/sdk/signature"
)

// hmacScheme verifies a header holding prefix + encode(HMAC(secret, raw body)), as GitHub
// and the seed guide's X-Signature-256 do. The secret is the key as text.
func hmacScheme() Scheme {
	return Scheme{
		Name:   "hmac",
		Fields: []string{"header", "algorithm", "encoding", "prefix"},
		New: func(cfg SourceConfig) (Verifier, error) {
			var errs []error
			if cfg.Algorithm != "" && cfg.Algorithm != "sha256" && cfg.Algorithm != "sha512" {
				errs = append(errs, core.Invalid("algorithm", "must be sha256 or sha512 (got %q)", cfg.Algorithm))
			}
			if cfg.Encoding != "" && cfg.Encoding != "hex" && cfg.Encoding != "base64" {
				errs = append(errs, core.Invalid("encoding", "must be hex or base64 (got %q)", cfg.Encoding))
			}
			if err := errors.Join(errs...); err != nil {
				return nil, err
			}
			return HMAC{Header: cfg.Header, Secret: []byte(cfg.Secret),
				Format: signature.HMAC{Hash: cfg.Algorithm, Encoding: cfg.Encoding, Prefix: cfg.Prefix}}, nil
		},
	}
}

// HMAC verifies a header holding an HMAC of the raw body.
type HMAC struct {
	// Header carries the signature (default X-Signature-256).
	Header string
	// Secret is the key, used as its UTF-8 bytes.
	Secret []byte
	// Format is the hash, encoding and prefix of the header value.
	Format signature.HMAC
}

// Verify implements Verifier.
func (v HMAC) Verify(r Request) (Verified, error) {
	header := orDefault(v.Header, signature.Signature256Header)
	if err := v.Format.Verify(v.Secret, r.Header.Get(header), r.Body); err != nil {
		return Verified{}, unauthorized("%s: %v", header, err)
	}
	return Verified{}, nil
}

var _ Verifier = HMAC{}
