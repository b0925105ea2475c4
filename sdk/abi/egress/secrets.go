package egress

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/aquascene/aquahub/sdk/abi"
)

// expansion is a request with its secret references replaced.
type expansion struct {
	url    *url.URL
	header http.Header
	// bearing are the canonical names of the headers that carry a secret or an HMAC of
	// one: they are dropped on a redirect that leaves the request's origin.
	bearing []string
	// derived are values computed from secrets for this request (Basic credentials,
	// HMACs): its response is scrubbed of them as well as of the secrets.
	derived []string
}

// refusal is why a request's secret references were refused: code is the HTTP error code
// for the guest (invalid_request, or egress_denied for a secret not bound to the origin).
type refusal struct {
	code, msg string
}

func (r *refusal) Error() string { return r.msg }

func invalid(format string, args ...any) *refusal {
	return &refusal{code: abi.HTTPErrorInvalid, msg: fmt.Sprintf(format, args...)}
}

// expand replaces the secret references of req, whose URL u has passed CheckURL, after
// checking each against the manifest's places, the operator's binding of the secret to
// origins and the least secret length. Nothing is sent when it fails.
func (c *Client) expand(req *abi.HTTPRequest, u *url.URL) (*expansion, *refusal) {
	x := &expansion{header: make(http.Header, len(req.Headers))}
	for _, part := range [][2]string{{"host", u.Host}, {"path", u.Path}, {"path", u.RawPath}, {"fragment", u.Fragment}, {"opaque", u.Opaque}} {
		if abi.SecretRefPattern.MatchString(part[1]) {
			return nil, invalid("url %s: secret references are replaced only in a query parameter's value and in a header's value", part[0])
		}
	}
	out := *u
	out.User = nil
	if u.RawQuery != "" {
		q, err := c.expandQuery(u, req.Body, x)
		if err != nil {
			return nil, err
		}
		out.RawQuery = q
	}
	x.url = &out
	for k, vs := range req.Headers {
		ck := http.CanonicalHeaderKey(k)
		if abi.HostOwnedHeader(ck) {
			continue
		}
		if abi.SecretRefPattern.MatchString(k) {
			return nil, invalid("header names cannot hold secret references")
		}
		bearing := false
		for _, v := range vs {
			if !strings.Contains(v, "{{") {
				x.header.Add(ck, v)
				continue
			}
			v, n, err := c.replace(v, nil, u, req.Body, x, func(kind, name string) error {
				return c.uses.CheckHeader(kind, name, ck)
			})
			if err != nil {
				return nil, err.wrap("header " + ck)
			}
			bearing = bearing || n > 0
			x.header.Add(ck, v)
		}
		if bearing {
			x.bearing = append(x.bearing, ck)
		}
	}
	return x, nil
}

func (r *refusal) wrap(where string) *refusal {
	return &refusal{code: r.code, msg: where + ": " + r.msg}
}

// expandQuery replaces references in the values of u's query parameters, escaping each
// value, and refuses them in parameter names.
func (c *Client) expandQuery(u *url.URL, body []byte, x *expansion) (string, *refusal) {
	if !strings.Contains(u.RawQuery, "{{") {
		return u.RawQuery, nil
	}
	parts := strings.Split(u.RawQuery, "&")
	for i, p := range parts {
		key, val, hasVal := strings.Cut(p, "=")
		name, err := url.QueryUnescape(key)
		if err != nil {
			name = key
		}
		if abi.SecretRefPattern.MatchString(key) || abi.SecretRefPattern.MatchString(name) {
			return "", invalid("url query: parameter names cannot hold secret references")
		}
		if !hasVal || !strings.Contains(val, "{{") {
			continue
		}
		v, _, ref := c.replace(val, url.QueryEscape, u, body, x, func(kind, secret string) error {
			return c.uses.CheckQuery(kind, secret, name)
		})
		if ref != nil {
			return "", ref.wrap("url query parameter " + name)
		}
		parts[i] = key + "=" + v
	}
	return strings.Join(parts, "&"), nil
}

// replace expands the references in s for a request to u with body, asking allowed
// whether each may stand there, and escaping each replacement with escape when it is not
// nil. It returns the result and how many references s held.
func (c *Client) replace(s string, escape func(string) string, u *url.URL, body []byte, x *expansion, allowed func(kind, name string) error) (string, int, *refusal) {
	var failed *refusal
	n := 0
	out := abi.SecretRefPattern.ReplaceAllStringFunc(s, func(m string) string {
		if failed != nil {
			return ""
		}
		n++
		sub := abi.SecretRefPattern.FindStringSubmatch(m)
		kind, name := sub[1], sub[2]
		user := ""
		if kind == abi.RefBasic {
			i := strings.LastIndexByte(name, ':')
			if i < 0 {
				failed = invalid("%s: want {{basic:USER:SECRET}}", m)
				return ""
			}
			user, name = name[:i], name[i+1:]
		}
		v, err := c.secret(kind, name, u, allowed)
		if err != nil {
			failed = err
			return ""
		}
		switch kind {
		case abi.RefBasic:
			v = base64.StdEncoding.EncodeToString([]byte(user + ":" + v))
			x.derived = append(x.derived, v)
		case abi.RefHMACHex, abi.RefHMACBase64:
			mac := hmac.New(sha256.New, []byte(v))
			mac.Write(body)
			sum := mac.Sum(nil)
			if kind == abi.RefHMACHex {
				v = hex.EncodeToString(sum)
			} else {
				v = base64.StdEncoding.EncodeToString(sum)
			}
			x.derived = append(x.derived, v)
		}
		if escape != nil {
			v = escape(v)
		}
		return v
	})
	return out, n, failed
}

// secret returns the value of secret name for a reference of kind in a request to u, or
// why it may not be used there.
func (c *Client) secret(kind, name string, u *url.URL, allowed func(kind, name string) error) (string, *refusal) {
	if c.uses.Signing(name) || c.signing[name] {
		return "", invalid("secret %q is a signing key and cannot be sent (it is only for sign_jwt)", name)
	}
	if err := allowed(kind, name); err != nil {
		return "", invalid("%v", err)
	}
	v, ok := c.policy.Secrets[name]
	if !ok {
		return "", invalid("secret %q is not set for this tenant", name)
	}
	if len(v) < abi.MinSecretBytes {
		return "", invalid("secret %q is shorter than %d bytes; the host does not send short secrets, which it could not scrub from responses", name, abi.MinSecretBytes)
	}
	if origins, bound := c.bound[name]; bound {
		port := u.Port()
		if port == "" {
			port = abi.DefaultPort(u.Scheme)
		}
		if !matchAny(origins, u.Scheme, u.Hostname(), port) {
			return "", &refusal{code: abi.HTTPErrorDenied, msg: fmt.Sprintf("secret %q is not bound to %s (the tenant's secret_origins for this connector)", name, Origin(u))}
		}
	}
	return v, nil
}

// requestState travels with a request through redirects, in its context.
type requestState struct {
	origin  string
	bearing []string
}

type stateKey struct{}

func withState(ctx context.Context, st *requestState) context.Context {
	return context.WithValue(ctx, stateKey{}, st)
}

func stateOf(ctx context.Context) *requestState {
	st, _ := ctx.Value(stateKey{}).(*requestState)
	return st
}

// checkRedirect drops the headers that carry secrets, and Referer (which holds the
// previous URL with any secret its query carried), from a redirect to another origin,
// and refuses a redirect to another origin whose URL holds a secret value the previous
// server put there.
func (c *Client) checkRedirect(req *http.Request, via []*http.Request) error {
	st := stateOf(req.Context())
	if st == nil || Origin(req.URL) == st.origin {
		return nil
	}
	for _, h := range st.bearing {
		req.Header.Del(h)
	}
	req.Header.Del("Referer")
	if c.scrubber.Found([]byte(req.URL.String())) {
		return &DeniedError{Reason: "a redirect to " + Origin(req.URL) + " would carry a secret value in its URL"}
	}
	return nil
}
