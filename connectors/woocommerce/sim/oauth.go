package sim

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"hash"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// authError is why a request's credential was refused.
type authError struct{ code, msg string }

func authFailed(msg string) *authError {
	return &authError{"woocommerce_rest_authentication_error", msg}
}

// nonceWindow is how long WooCommerce remembers OAuth nonces and accepts timestamps.
const nonceWindow = 15 * time.Minute

// authenticate returns the permission of the request's API key, "" for a request without
// credentials (which WooCommerce serves as an anonymous visitor and so refuses), or why the
// credential it carries is wrong. Accepted, as WooCommerce accepts them: HTTP Basic with
// key and secret, consumer_key and consumer_secret in the query, and one-legged OAuth 1.0a
// (HMAC-SHA1 or HMAC-SHA256) in the query or an "Authorization: OAuth" header. Basic and
// query-string keys are accepted over plain HTTP as well, as behind a TLS-terminating proxy.
func (s *Server) authenticate(r *http.Request) (string, *authError) {
	q := r.URL.Query()
	if user, pass, ok := r.BasicAuth(); ok {
		return s.checkKey(user, pass)
	}
	if q.Has("consumer_key") {
		return s.checkKey(q.Get("consumer_key"), q.Get("consumer_secret"))
	}
	// PHP keeps the last of repeated query parameters, and WooCommerce signs what PHP sees:
	// clients that repeat the signed query (the official Node client does) must verify.
	params := url.Values{}
	for k, v := range q {
		params[k] = v[len(v)-1:]
	}
	if h := r.Header.Get("Authorization"); len(h) > 6 && strings.EqualFold(h[:6], "OAuth ") {
		for _, part := range strings.Split(h[6:], ",") {
			k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
			if !ok {
				continue
			}
			uk, _ := url.QueryUnescape(k)
			uv, _ := url.QueryUnescape(strings.Trim(v, `"`))
			if uk != "realm" {
				params.Set(uk, uv)
			}
		}
	}
	if params.Has("oauth_consumer_key") {
		return s.checkOAuth(r, params)
	}
	return "", nil
}

func (s *Server) checkKey(key, secret string) (string, *authError) {
	k, ok := s.keys[key]
	if !ok {
		return "", authFailed("Consumer key is invalid.")
	}
	if subtle.ConstantTimeCompare([]byte(k.secret), []byte(secret)) != 1 {
		return "", authFailed("Consumer secret is invalid.")
	}
	return k.permission, nil
}

func (s *Server) checkOAuth(r *http.Request, params url.Values) (string, *authError) {
	for _, p := range []string{"oauth_consumer_key", "oauth_timestamp", "oauth_nonce", "oauth_signature", "oauth_signature_method"} {
		if params.Get(p) == "" {
			return "", &authError{"woocommerce_rest_authentication_missing_parameter", "Missing OAuth parameter " + p}
		}
	}
	key, ok := s.keys[params.Get("oauth_consumer_key")]
	if !ok {
		return "", authFailed("Consumer key is invalid.")
	}
	var h func() hash.Hash
	switch params.Get("oauth_signature_method") {
	case "HMAC-SHA1":
		h = sha1.New
	case "HMAC-SHA256":
		h = sha256.New
	default:
		return "", authFailed("Invalid signature - signature method is invalid.")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	given := params.Get("oauth_signature")
	signed := url.Values{}
	for k, v := range params {
		if k != "oauth_signature" {
			signed[k] = v
		}
	}
	base := r.Method + "&" + encode(scheme+"://"+r.Host+r.URL.Path) + "&" + encode(normalize(signed))
	mac := hmac.New(h, []byte(key.secret+"&"))
	mac.Write([]byte(base))
	if !hmac.Equal([]byte(base64.StdEncoding.EncodeToString(mac.Sum(nil))), []byte(given)) {
		return "", authFailed("Invalid signature - provided signature does not match.")
	}
	ts, err := strconv.ParseInt(params.Get("oauth_timestamp"), 10, 64)
	now := s.now()
	if err != nil || now.Sub(time.Unix(ts, 0)).Abs() > nonceWindow {
		return "", authFailed("Invalid timestamp.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for n, exp := range s.nonces {
		if now.After(exp) {
			delete(s.nonces, n)
		}
	}
	nonce := params.Get("oauth_consumer_key") + "\x00" + params.Get("oauth_nonce")
	if _, used := s.nonces[nonce]; used {
		return "", authFailed("Invalid nonce - nonce has already been used.")
	}
	s.nonces[nonce] = now.Add(nonceWindow)
	return key.permission, nil
}

// encode is RFC 3986 percent-encoding, as OAuth 1.0a (and PHP's rawurlencode) use it.
func encode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteString("%" + strings.ToUpper(strconv.FormatInt(int64(c)|0x100, 16)[1:]))
	}
	return b.String()
}

// normalize sorts and joins the parameters of the OAuth signature base string.
func normalize(params url.Values) string {
	type pair struct{ k, v string }
	var pairs []pair
	for k, vs := range params {
		for _, v := range vs {
			pairs = append(pairs, pair{encode(k), encode(v)})
		}
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].k != pairs[j].k {
			return pairs[i].k < pairs[j].k
		}
		return pairs[i].v < pairs[j].v
	})
	out := make([]string, len(pairs))
	for i, p := range pairs {
		out[i] = p.k + "=" + p.v
	}
	return strings.Join(out, "&")
}
