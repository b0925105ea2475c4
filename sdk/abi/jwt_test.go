package abi

import (
	"reflect"
	"testing"
)

func TestDecodeJWTRequest(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // error substring; empty = valid
	}{
		{"full", `{"alg":"RS256","secret":"private_key","header":{"kid":"k1"},"claims":{"iss":"a","iat":1700000000,"exp":1700003600}}`, ""},
		{"ES256 without header", `{"alg":"ES256","secret":"k","claims":{}}`, ""},
		{"null header", `{"alg":"ES256","secret":"k","header":null,"claims":{}}`, ""},
		{"unknown field", `{"alg":"RS256","secret":"k","claims":{},"claim":{}}`, `unknown field "claim"`},
		{"no alg", `{"secret":"k","claims":{}}`, "alg: required"},
		{"unsupported alg", `{"alg":"PS256","secret":"k","claims":{}}`, `alg: must be RS256 or ES256 (got "PS256")`},
		{"lower-case alg", `{"alg":"rs256","secret":"k","claims":{}}`, `alg: must be RS256 or ES256`},
		{"no secret", `{"alg":"RS256","claims":{}}`, "secret: required"},
		{"header alg", `{"alg":"RS256","secret":"k","header":{"alg":"HS256"},"claims":{}}`, "header.alg: set by the host"},
		{"header typ", `{"alg":"RS256","secret":"k","header":{"typ":"JWT"},"claims":{}}`, "header.typ: set by the host"},
		{"header array", `{"alg":"RS256","secret":"k","header":[],"claims":{}}`, "header: must be a JSON object"},
		{"claims missing", `{"alg":"RS256","secret":"k"}`, "claims: must be a JSON object"},
		{"claims null", `{"alg":"RS256","secret":"k","claims":null}`, "claims: must be a JSON object"},
		{"claims number", `{"alg":"RS256","secret":"k","claims":1}`, "claims: must be a JSON object"},
		{"not JSON", `{"alg":`, "sign_jwt request"},
		{"trailing data", `{"alg":"RS256","secret":"k","claims":{}}{}`, "trailing data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeJWTRequest([]byte(tt.in))
			checkErr(t, err, tt.want)
		})
	}
}

func TestSigningSecrets(t *testing.T) {
	m := Manifest{Secrets: []SecretSpec{{Name: "api_key"}, {Name: "pk", Use: SecretUseSign}, {Name: "token", Use: SecretUseHTTP}, {Name: "sa", Use: SecretUseSign}}}
	if got, want := m.SigningSecrets(), []string{"pk", "sa"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("SigningSecrets() = %v, want %v", got, want)
	}
}
