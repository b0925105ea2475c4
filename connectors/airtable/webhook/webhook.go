package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
)

// Header is the name of the request header carrying the signature.
const Header = "X-Airtable-Content-MAC"

const prefix = "hmac-sha256="

// Errors returned by Verify.
var (
	// ErrMissingSignature is returned when the header value is empty.
	ErrMissingSignature = errors.New("airtable webhook: missing " + Header)
	// ErrMalformedSignature is returned when the header is not "hmac-sha256=<64 hex digits>".
	ErrMalformedSignature = errors.New("airtable webhook: malformed " + Header)
	// ErrBadSecret is returned when the secret is not valid base64 or is empty.
	ErrBadSecret = errors.New("airtable webhook: macSecretBase64 is not valid base64")
	// ErrSignatureMismatch is returned when the signature does not match the body.
	ErrSignatureMismatch = errors.New("airtable webhook: signature does not match body")
)

// Sign returns the X-Airtable-Content-MAC header value for body.
func Sign(macSecretBase64 string, body []byte) (string, error) {
	key, err := decodeSecret(macSecretBase64)
	if err != nil {
		return "", err
	}
	return prefix + hex.EncodeToString(mac(key, body)), nil
}

// Verify checks that header is the valid X-Airtable-Content-MAC of body, in constant time.
func Verify(macSecretBase64, header string, body []byte) error {
	key, err := decodeSecret(macSecretBase64)
	if err != nil {
		return err
	}
	header = strings.TrimSpace(header)
	if header == "" {
		return ErrMissingSignature
	}
	if !strings.HasPrefix(header, prefix) {
		return ErrMalformedSignature
	}
	got, err := hex.DecodeString(header[len(prefix):])
	if err != nil || len(got) != sha256.Size {
		return ErrMalformedSignature
	}
	if !hmac.Equal(got, mac(key, body)) {
		return ErrSignatureMismatch
	}
	return nil
}

func decodeSecret(s string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(key) == 0 {
		return nil, ErrBadSecret
	}
	return key, nil
}

func mac(key, body []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write(body)
	return h.Sum(nil)
}
