package signature

import (
	"encoding/base64"
	"fmt"
)

// AirtableHeader carries an Airtable webhook notification's signature: "hmac-sha256=" and
// the lowercase hex HMAC-SHA256 of the raw body, keyed with the base64-decoded
// macSecretBase64 that webhook creation returned.
const AirtableHeader = "X-Airtable-Content-MAC"

var airtableMAC = HMAC{Prefix: "hmac-sha256="}

// ParseAirtableSecret decodes a webhook's macSecretBase64 into its HMAC key.
func ParseAirtableSecret(macSecretBase64 string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(macSecretBase64)
	if err != nil || len(key) == 0 {
		return nil, fmt.Errorf("%w: macSecretBase64 must be non-empty standard base64", ErrBadKey)
	}
	return key, nil
}

// SignAirtable returns the X-Airtable-Content-MAC value for body.
func SignAirtable(key, body []byte) string { return airtableMAC.Sign(key, body) }

// VerifyAirtable checks that header, the X-Airtable-Content-MAC value as received, signs
// body, in constant time.
func VerifyAirtable(key []byte, header string, body []byte) error {
	if err := airtableMAC.Verify(key, header, body); err != nil {
		return fmt.Errorf("%s: %w", AirtableHeader, err)
	}
	return nil
}
