package jwtsign

import (
	"crypto"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aquascene/aquahub/sdk/abi"
)

// FuzzSign feeds arbitrary sign_jwt requests, as a guest could write them, through the
// decoder and the signer: nothing may panic, every token issued must verify with the
// named key and carry the requested alg, and no error may quote a key.
func FuzzSign(f *testing.F) {
	f.Add([]byte(`{"alg":"RS256","secret":"rsa","header":{"kid":"k1"},"claims":{"iss":"a","iat":1700000000,"exp":1700003600}}`))
	f.Add([]byte(`{"alg":"ES256","secret":"ec","claims":{}}`))
	f.Add([]byte(`{"alg":"ES256","secret":"rsa","claims":{"x":[1,{"y":null}]}}`))
	f.Add([]byte(`{"alg":"RS256","secret":"http","claims":{}}`))
	f.Add([]byte(`{"alg":"RS256","secret":"sa","claims":{"scope":"s"}}`))
	f.Add([]byte(`{"alg":"RS256","secret":"rsa","header":{"alg":"none"},"claims":{}}`))
	f.Add([]byte(`{"alg":"RS256","secret":"rsa","claims":[]}`))
	f.Add([]byte(`{"alg":"RS256","secret":"rsa","claims":{},"extra":1}`))
	k := keys()
	rsaPEM, ecPEM := pkcs1(f, k.rsa), pkcs8(f, k.ec)
	sa := serviceAccountJSON(f, map[string]string{"type": "service_account", "private_key": rsaPEM, "private_key_id": "kid", "client_email": "e@x", "token_uri": "https://t"})
	secrets := map[string]string{"rsa": rsaPEM, "ec": ecPEM, "sa": sa, "http": "http-secret-value-0123456789"}
	pubs := map[string]crypto.PublicKey{"rsa": &k.rsa.PublicKey, "ec": &k.ec.PublicKey, "sa": &k.rsa.PublicKey}
	signer := NewSigner(Policy{
		Secrets: secrets,
		Declared: []abi.SecretSpec{
			{Name: "rsa", Use: abi.SecretUseSign}, {Name: "ec", Use: abi.SecretUseSign},
			{Name: "sa", Use: abi.SecretUseSign}, {Name: "http", Use: abi.SecretUseHTTP},
		},
		Scope: "fuzz",
	})
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := abi.DecodeJWTRequest(b)
		if err != nil {
			return
		}
		resp := signer.Sign(req)
		if resp.Error != nil {
			if resp.JWT != "" {
				t.Fatalf("error with a token: %+v", resp)
			}
			for _, v := range secrets {
				assertNoKeyMaterial(t, resp.Error.Message, v)
			}
			return
		}
		if !verifyStdlib(resp.JWT, pubs[req.Secret]) {
			t.Fatalf("token signed with %q does not verify: %s", req.Secret, resp.JWT)
		}
		h, err := base64.RawURLEncoding.DecodeString(strings.SplitN(resp.JWT, ".", 2)[0])
		if err != nil {
			t.Fatal(err)
		}
		var header struct{ Alg, Typ string }
		if err := json.Unmarshal(h, &header); err != nil || header.Alg != req.Alg || header.Typ != "JWT" {
			t.Fatalf("header %s for alg %s (%v)", h, req.Alg, err)
		}
	})
}
