package abi

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
)

// MinSecretBytes is the shortest secret value the host accepts. A shorter value is refused
// when the configuration loads and again when a request references it: a short value cannot
// be told apart from ordinary text, so the host could not scrub it from what comes back.
const MinSecretBytes = 8

// Secret reference kinds, as written in a request: {{KIND:ARG}}.
const (
	// RefSecret is {{secret:NAME}}: the value.
	RefSecret = "secret"
	// RefBasic is {{basic:USER:NAME}}: base64(USER ":" value), for Authorization: Basic.
	RefBasic = "basic"
	// RefHMACHex is {{hmac-sha256-hex:NAME}}: the lower-case hex HMAC-SHA256 of the final
	// request body keyed with the value (ABI revision 1.5).
	RefHMACHex = "hmac-sha256-hex"
	// RefHMACBase64 is {{hmac-sha256-base64:NAME}}: the same HMAC, standard base64 with
	// padding (ABI revision 1.5).
	RefHMACBase64 = "hmac-sha256-base64"
)

// SecretRefPattern matches a secret reference; group 1 is the kind, group 2 its argument
// (NAME, or USER:NAME for RefBasic).
var SecretRefPattern = regexp.MustCompile(`\{\{(secret|basic|hmac-sha256-hex|hmac-sha256-base64):([^{}]*)\}\}`)

// SecretPlace is one place a request may carry a secret (ABI revision 1.5). Exactly one
// field is set:
//
//	{"header": "Authorization"}   {{secret:NAME}} in the value of that header
//	{"basic": true}               {{basic:USER:NAME}} in the Authorization header
//	{"query": "api_key"}          {{secret:NAME}} in the value of that query parameter
//	{"hmac": "X-Signature-256"}   {{hmac-sha256-hex:NAME}} or {{hmac-sha256-base64:NAME}}
//	                              in the value of that header: the host signs the body
//
// Nothing else carries a declared secret: not the URL's path or host, not another header
// or parameter, not a header or parameter name, not the body.
type SecretPlace struct {
	// Header names the request header (case-insensitive) whose value may hold
	// {{secret:NAME}}.
	Header string `json:"header,omitempty"`
	// Basic lets the Authorization header hold {{basic:USER:NAME}}.
	Basic bool `json:"basic,omitempty"`
	// Query names the query parameter (exact, after unescaping) whose value may hold
	// {{secret:NAME}}.
	Query string `json:"query,omitempty"`
	// HMAC names the request header (case-insensitive) whose value may hold an HMAC
	// template of the secret; the value itself is never sent.
	HMAC string `json:"hmac,omitempty"`
}

// String describes the place for messages and `aquahub plugin inspect`.
func (p SecretPlace) String() string {
	switch {
	case p.Header != "":
		return "header " + http.CanonicalHeaderKey(p.Header)
	case p.Basic:
		return "basic auth"
	case p.Query != "":
		return "query parameter " + p.Query
	case p.HMAC != "":
		return "hmac in header " + http.CanonicalHeaderKey(p.HMAC)
	}
	return "nowhere"
}

// check validates the place; the message starts with the field name.
func (p SecretPlace) check() error {
	set := 0
	for _, s := range []string{p.Header, p.Query, p.HMAC} {
		if s != "" {
			set++
		}
	}
	if p.Basic {
		set++
	}
	if set != 1 {
		return errors.New(": exactly one of header, basic, query and hmac must be set")
	}
	for field, name := range map[string]string{"header": p.Header, "hmac": p.HMAC} {
		if name == "" {
			continue
		}
		if !validHeaderName(name) {
			return fmt.Errorf(".%s: %q is not a header name", field, name)
		}
		if hostOwnedHeader(http.CanonicalHeaderKey(name)) {
			return fmt.Errorf(".%s: %q is a header the host owns and drops", field, name)
		}
	}
	if p.Query != "" && strings.ContainsAny(p.Query, "&=#{} ") {
		return fmt.Errorf(".query: %q is not a plain parameter name", p.Query)
	}
	return nil
}

// allowsHeader reports whether a reference of kind may stand in the value of header (canonical
// form) under this place.
func (p SecretPlace) allowsHeader(kind, header string) bool {
	switch kind {
	case RefSecret:
		return p.Header != "" && http.CanonicalHeaderKey(p.Header) == header
	case RefBasic:
		return p.Basic && header == "Authorization"
	case RefHMACHex, RefHMACBase64:
		return p.HMAC != "" && http.CanonicalHeaderKey(p.HMAC) == header
	}
	return false
}

// HostOwnedHeader reports whether the host sets header (canonical form) itself and drops it
// from a connector's request: Host, Content-Length, Transfer-Encoding, Connection, TE,
// Trailer, Upgrade, Keep-Alive and every Proxy-* header.
func HostOwnedHeader(header string) bool { return hostOwnedHeader(header) }

func hostOwnedHeader(h string) bool {
	switch h {
	case "Host", "Content-Length", "Transfer-Encoding", "Connection", "Te", "Trailer", "Upgrade", "Keep-Alive":
		return true
	}
	return strings.HasPrefix(h, "Proxy-")
}

func validHeaderName(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// SecretUses is what a manifest allows for each secret in requests, built by
// Manifest.SecretUses.
type SecretUses struct {
	// declared says the manifest declares places (revision 1.5): every reference must then
	// match a declared place.
	declared bool
	places   map[string][]SecretPlace
	signing  map[string]bool
}

// DeclaresSecretPlaces reports whether the manifest uses revision 1.5's fields: places
// for its secrets or configuration derived from one.
func (m *Manifest) DeclaresSecretPlaces() bool {
	for _, s := range m.Secrets {
		if len(s.Places) > 0 {
			return true
		}
	}
	for _, c := range m.Config {
		if c.FromSecret != nil {
			return true
		}
	}
	return false
}

// SecretUses returns the manifest's rules for secret references.
func (m *Manifest) SecretUses() SecretUses {
	u := SecretUses{places: map[string][]SecretPlace{}, signing: map[string]bool{}}
	for _, s := range m.Secrets {
		if s.Signing() {
			u.signing[s.Name] = true
			continue
		}
		if len(s.Places) > 0 {
			u.declared = true
		}
		u.places[s.Name] = append(u.places[s.Name], s.Places...)
	}
	return u
}

// DeclaresPlaces reports whether the manifest declares where its secrets go (revision 1.5).
// Without the declaration (older guests, and connectors such as the generic http one that
// send whatever secrets the operator names), a secret may be referenced in any header
// value, in a query parameter's value and in an HMAC template, and still only to the
// origins the operator binds it to.
func (u SecretUses) DeclaresPlaces() bool { return u.declared }

// Signing reports whether name is a signing key, which no request may reference.
func (u SecretUses) Signing(name string) bool { return u.signing[name] }

// CheckHeader returns nil if a reference of kind to secret name may stand in the value of
// header (any case), and otherwise an error saying what the manifest allows.
func (u SecretUses) CheckHeader(kind, name, header string) error {
	header = http.CanonicalHeaderKey(header)
	if !u.declared {
		return nil
	}
	for _, p := range u.places[name] {
		if p.allowsHeader(kind, header) {
			return nil
		}
	}
	return u.notDeclared(kind, name, "header "+header)
}

// CheckQuery returns nil if a reference of kind to secret name may stand in the value of
// query parameter param, and otherwise an error.
func (u SecretUses) CheckQuery(kind, name, param string) error {
	if kind != RefSecret && kind != RefBasic {
		return fmt.Errorf("{{%s:…}} is only replaced in headers", kind)
	}
	if !u.declared {
		return nil
	}
	for _, p := range u.places[name] {
		if kind == RefSecret && p.Query != "" && p.Query == param {
			return nil
		}
	}
	return u.notDeclared(kind, name, "query parameter "+param)
}

func (u SecretUses) notDeclared(kind, name, where string) error {
	places := u.places[name]
	if len(places) == 0 {
		if _, known := u.places[name]; !known {
			return fmt.Errorf("secret %q is not declared in the manifest, which declares where its secrets go", name)
		}
		return fmt.Errorf("secret %q declares no place in the manifest, so no request may carry it", name)
	}
	allowed := make([]string, len(places))
	for i, p := range places {
		allowed[i] = p.String()
	}
	return fmt.Errorf("the manifest does not declare {{%s:…}} of secret %q in %s (declared: %s)", kind, name, where, strings.Join(allowed, ", "))
}

// SecretDerivation derives a configuration key's value from the public part of a secret
// (ABI revision 1.5), such as Mailchimp's data center, the suffix "us21" of an API key
// "…-us21". The host applies it when the tenant sets neither the key nor any key in Unless;
// the guest gets the derived value, never the secret.
//
// To keep a hostile manifest from deriving the secret itself, the part is the text after
// the last AfterLast (one character that is not a letter or digit), must match Pattern, and
// must be at most MaxDerivedBytes long and at most a quarter of the value; otherwise nothing
// is derived.
type SecretDerivation struct {
	// Secret names an HTTP secret the manifest declares.
	Secret string `json:"secret"`
	// AfterLast is the separator: the part is what follows its last occurrence.
	AfterLast string `json:"after_last"`
	// Pattern is a regular expression (RE2) the whole part must match.
	Pattern string `json:"pattern"`
	// Unless lists configuration keys whose being set skips the derivation.
	Unless []string `json:"unless,omitempty"`

	// re is Pattern compiled (anchored) when the manifest was validated, so that a call
	// never pays for compiling a connector's pattern.
	re atomic.Pointer[regexp.Regexp]
}

// MaxDerivedBytes bounds a value derived from a secret.
const MaxDerivedBytes = 16

func (d *SecretDerivation) check(declared map[string]bool) error {
	if !declared[d.Secret] {
		return fmt.Errorf(".secret: %q is not an HTTP secret the manifest declares", d.Secret)
	}
	if len(d.AfterLast) != 1 || isAlnum(d.AfterLast[0]) || d.AfterLast[0] <= ' ' || d.AfterLast[0] >= 0x7f {
		return fmt.Errorf(".after_last: must be one printable character that is not a letter or digit (got %q)", d.AfterLast)
	}
	if d.Pattern == "" || len(d.Pattern) > 256 {
		return errors.New(".pattern: required, at most 256 bytes")
	}
	re, err := regexp.Compile(`^(?:` + d.Pattern + `)$`)
	if err != nil {
		return fmt.Errorf(".pattern: %v", err)
	}
	d.re.Store(re)
	return nil
}

// Derive returns the part of value the derivation names, and false when value has none
// that fits.
func (d *SecretDerivation) Derive(value string) (string, bool) {
	i := strings.LastIndex(value, d.AfterLast)
	if i < 0 {
		return "", false
	}
	part := value[i+len(d.AfterLast):]
	if part == "" || len(part) > MaxDerivedBytes || 4*len(part) > len(value) {
		return "", false
	}
	re := d.re.Load()
	if re == nil {
		var err error
		if re, err = regexp.Compile(`^(?:` + d.Pattern + `)$`); err != nil {
			return "", false
		}
		d.re.Store(re)
	}
	if !re.MatchString(part) {
		return "", false
	}
	return part, true
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// DeriveConfig returns config with the values the manifest derives from secrets (see
// SecretDerivation) added where the tenant set neither the key nor a key of its Unless
// list. config itself is not changed; it is returned as is when nothing is derived.
func (m *Manifest) DeriveConfig(config map[string]any, secrets map[string]string) map[string]any {
	var out map[string]any
	for _, c := range m.Config {
		d := c.FromSecret
		if d == nil || isSet(config, c.Name) {
			continue
		}
		skip := false
		for _, k := range d.Unless {
			skip = skip || isSet(config, k)
		}
		v, ok := secrets[d.Secret]
		if skip || !ok {
			continue
		}
		part, ok := d.Derive(v)
		if !ok {
			continue
		}
		if out == nil {
			out = make(map[string]any, len(config)+1)
			for k, v := range config {
				out[k] = v
			}
		}
		out[c.Name] = part
	}
	if out == nil {
		return config
	}
	return out
}

func isSet(config map[string]any, key string) bool {
	v, ok := config[key]
	if !ok || v == nil {
		return false
	}
	s, isString := v.(string)
	return !isString || s != ""
}
