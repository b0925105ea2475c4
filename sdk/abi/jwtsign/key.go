package jwtsign

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"github.com/aquascene/aquahub/sdk/abi"
)

// minRSABits is the shortest RSA key accepted: shorter keys are breakable, and the
// vendors that take JWT assertions (Google, Salesforce) issue 2048-bit keys.
const minRSABits = 2048

// privateKey is a parsed signing key with what a service-account key file says about it.
type privateKey struct {
	rsa *rsa.PrivateKey
	ec  *ecdsa.PrivateKey
	// kid, email and tokenURI are a service-account key's private_key_id, client_email and
	// token_uri.
	kid, email, tokenURI string
}

// serviceAccount is the part of a Google service-account key file the host reads.
type serviceAccount struct {
	Type         string `json:"type"`
	PrivateKey   string `json:"private_key"`
	PrivateKeyID string `json:"private_key_id"`
	ClientEmail  string `json:"client_email"`
	TokenURI     string `json:"token_uri"`
}

// parseKey reads a PEM private key or a service-account JSON key. Its errors describe the
// shape of the value, never its content: library error texts are not passed on, since
// they may quote the input.
func parseKey(value string) (*privateKey, error) {
	v := strings.TrimSpace(value)
	if !strings.HasPrefix(v, "{") {
		return parsePEM(v)
	}
	var sa serviceAccount
	if err := json.Unmarshal([]byte(v), &sa); err != nil {
		return nil, errors.New("value starts with '{' but is not a valid JSON key file")
	}
	if sa.Type != "service_account" {
		return nil, errors.New(`JSON key file is not a service-account key ("type" must be "service_account")`)
	}
	if sa.PrivateKey == "" {
		return nil, errors.New("service-account key has no private_key")
	}
	k, err := parsePEM(sa.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("service-account private_key: %w", err)
	}
	k.kid, k.email, k.tokenURI = sa.PrivateKeyID, sa.ClientEmail, sa.TokenURI
	return k, nil
}

// parsePEM returns the first private key among the PEM blocks of s, skipping certificates
// and EC parameters that key files often carry too.
func parsePEM(s string) (*privateKey, error) {
	// A PEM pasted into an environment variable often has its line breaks as "\n".
	if !strings.Contains(s, "\n") && strings.Contains(s, `\n`) {
		s = strings.ReplaceAll(s, `\n`, "\n")
	}
	rest := []byte(s)
	var seen []string
	for {
		block, next := pem.Decode(rest)
		if block == nil {
			break
		}
		rest = next
		if block.Headers["Proc-Type"] != "" || block.Type == "ENCRYPTED PRIVATE KEY" {
			return nil, errors.New("the private key is encrypted; store it unencrypted (openssl pkcs8 -topk8 -nocrypt)")
		}
		switch block.Type {
		case "RSA PRIVATE KEY":
			k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
			if err != nil {
				return nil, errors.New("RSA PRIVATE KEY block is not a valid PKCS#1 RSA key")
			}
			return checkRSA(k)
		case "EC PRIVATE KEY":
			k, err := x509.ParseECPrivateKey(block.Bytes)
			if err != nil {
				return nil, errors.New("EC PRIVATE KEY block is not a valid SEC 1 EC key")
			}
			return &privateKey{ec: k}, nil
		case "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
			if err != nil {
				return nil, errors.New("PRIVATE KEY block is not a valid PKCS#8 key")
			}
			switch k := k.(type) {
			case *rsa.PrivateKey:
				return checkRSA(k)
			case *ecdsa.PrivateKey:
				return &privateKey{ec: k}, nil
			default:
				return nil, fmt.Errorf("PKCS#8 key of type %T is not supported (RSA or EC P-256)", k)
			}
		}
		seen = append(seen, block.Type)
	}
	if len(seen) == 0 {
		return nil, errors.New("not a PEM private key or a service-account JSON key")
	}
	return nil, fmt.Errorf("no private key among the PEM blocks (found %s)", strings.Join(seen, ", "))
}

func checkRSA(k *rsa.PrivateKey) (*privateKey, error) {
	if bits := k.N.BitLen(); bits < minRSABits {
		return nil, fmt.Errorf("RSA key of %d bits is too short (at least %d)", bits, minRSABits)
	}
	return &privateKey{rsa: k}, nil
}

// fits reports whether the key can sign with alg.
func (k *privateKey) fits(alg string) error {
	switch alg {
	case abi.JWTAlgRS256:
		if k.rsa == nil {
			return fmt.Errorf("%s cannot sign RS256 (needs an RSA key)", k.kind())
		}
	case abi.JWTAlgES256:
		if k.ec == nil || k.ec.Curve != elliptic.P256() {
			return fmt.Errorf("%s cannot sign ES256 (needs an EC P-256 key)", k.kind())
		}
	default:
		return fmt.Errorf("unsupported alg %q", alg)
	}
	return nil
}

// kind names the key's type for messages.
func (k *privateKey) kind() string {
	if k.rsa != nil {
		return fmt.Sprintf("an RSA key of %d bits", k.rsa.N.BitLen())
	}
	return "an EC " + k.ec.Curve.Params().Name + " key"
}

// sign signs input with alg, which fits has accepted. An ES256 signature is r || s, each
// 32 bytes big-endian (RFC 7518 §3.4), not ASN.1.
func (k *privateKey) sign(alg string, input []byte) ([]byte, error) {
	digest := sha256.Sum256(input)
	switch alg {
	case abi.JWTAlgRS256:
		return rsa.SignPKCS1v15(nil, k.rsa, crypto.SHA256, digest[:])
	case abi.JWTAlgES256:
		r, s, err := ecdsa.Sign(rand.Reader, k.ec, digest[:])
		if err != nil {
			return nil, err
		}
		sig := make([]byte, 64)
		r.FillBytes(sig[:32])
		s.FillBytes(sig[32:])
		return sig, nil
	}
	return nil, fmt.Errorf("unsupported alg %q", alg)
}
