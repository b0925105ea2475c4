package main

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aquascene/aquahub/sdk/abi"
	"github.com/aquascene/aquahub/sdk/plugin"
)

// stealIn asks the hostile connector to send requests carrying secret references and to
// look for a secret, known to it only by its SHA-256, in everything the host hands back.
type stealIn struct {
	Requests []stealRequest `json:"requests"`
	// SHA256 is the hex SHA-256 of the secret to look for.
	SHA256 string `json:"sha256"`
	// Emit puts what the connector assembled from the "X-Piece" headers of the answers
	// into its output and its log; Fail returns it in the action's error instead.
	Emit bool `json:"emit,omitempty"`
	Fail bool `json:"fail,omitempty"`
}

type stealRequest struct {
	Method  string            `json:"method,omitempty"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    string            `json:"body,omitempty"`
}

type stealOut struct {
	// Leaked says the secret was found; Where says in what and how it was decoded.
	Leaked bool   `json:"leaked"`
	Where  string `json:"where,omitempty"`
	// Errors are the host's http_request errors, "" for a request that was answered.
	Errors []string `json:"errors"`
	// Statuses are the answers' status codes (0 when the host refused).
	Statuses  []int  `json:"statuses"`
	Assembled string `json:"assembled,omitempty"`
}

func steal(ctx context.Context, in stealIn) (stealOut, error) {
	out := stealOut{Errors: []string{}, Statuses: []int{}}
	var assembled strings.Builder
	for i, r := range in.Requests {
		req := &abi.HTTPRequest{Method: r.Method, URL: r.URL, Headers: map[string][]string{}, Body: []byte(r.Body)}
		if req.Method == "" {
			req.Method = "GET"
		}
		for k, v := range r.Headers {
			req.Headers[k] = []string{v}
		}
		resp, err := rawHTTP(req)
		if err != nil {
			return out, plugin.Permanent(err)
		}
		msg := ""
		if resp.Error != nil {
			msg = resp.Error.Code + ": " + resp.Error.Message
		}
		out.Errors = append(out.Errors, msg)
		out.Statuses = append(out.Statuses, resp.Status)
		if p := resp.Headers["X-Piece"]; len(p) > 0 {
			assembled.WriteString(p[0])
		}
		if where, ok := find(resp, in.SHA256); ok && !out.Leaked {
			out.Leaked, out.Where = true, "request "+strconv.Itoa(i)+": "+where
		}
	}
	if got := assembled.String(); got != "" {
		if sum(got) == in.SHA256 && !out.Leaked {
			out.Leaked, out.Where = true, "assembled from pieces"
		}
		if in.Emit {
			out.Assembled = got
			plugin.Logger(ctx).Warn("stolen "+got, "secret", got, "nested", map[string]any{"hex": hex.EncodeToString([]byte(got))})
		}
		if in.Fail {
			return out, plugin.Permanent(errors.New("stolen " + got + " as " + base64.StdEncoding.EncodeToString([]byte("u:"+got))))
		}
	}
	return out, nil
}

// find looks for the secret whose SHA-256 is want in every part of resp, decoded every
// way a reflecting server could have encoded it.
func find(resp *abi.HTTPResponse, want string) (string, bool) {
	parts := map[string]string{"url": resp.URL, "body": string(resp.Body)}
	if resp.Error != nil {
		parts["error"] = resp.Error.Message
	}
	if u, err := url.Parse(resp.URL); err == nil {
		for k, vs := range u.Query() {
			for _, v := range vs {
				parts["url query "+k] = v
			}
		}
	}
	var names []string
	for k, vs := range resp.Headers {
		names = append(names, k)
		parts["header name "+k] = k
		parts["header name without X- "+k] = strings.TrimPrefix(k, "X-")
		for _, v := range vs {
			parts["header "+k] = v
		}
	}
	sort.Strings(names)
	var joined strings.Builder
	for _, k := range names {
		if strings.HasPrefix(k, "X-") {
			joined.WriteString(resp.Headers[k][0])
		}
	}
	parts["X- headers joined"] = joined.String()
	var obj map[string]any
	if json.Unmarshal(resp.Body, &obj) == nil {
		for k, v := range obj {
			if s, ok := v.(string); ok {
				parts["json "+k] = s
			}
		}
	}
	for name, p := range parts {
		for dec, c := range decodings(p) {
			if sum(c) == want || sum(strings.ToLower(c)) == want {
				return name + " (" + dec + ")", true
			}
		}
	}
	return "", false
}

func decodings(p string) map[string]string {
	out := map[string]string{"as is": p, "reversed": reverse(p), "swapped case": swapCase(p)}
	if s, err := url.QueryUnescape(p); err == nil {
		out["url-unescaped"] = s
	}
	for name, enc := range map[string]*base64.Encoding{"base64": base64.StdEncoding, "base64url": base64.URLEncoding, "raw base64": base64.RawStdEncoding, "raw base64url": base64.RawURLEncoding} {
		if b, err := enc.DecodeString(strings.TrimPrefix(p, "Basic ")); err == nil {
			out[name] = string(b)
			if _, pw, ok := strings.Cut(string(b), ":"); ok {
				out[name+" basic"] = pw
			}
		}
	}
	if b, err := hex.DecodeString(p); err == nil {
		out["hex"] = string(b)
	}
	var s string
	if json.Unmarshal([]byte(`"`+p+`"`), &s) == nil {
		out["json string"] = s
	}
	return out
}

func sum(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func reverse(s string) string {
	b := []byte(s)
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
	return string(b)
}

func swapCase(s string) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z':
			b[i] = c - 32
		case c >= 'A' && c <= 'Z':
			b[i] = c + 32
		}
	}
	return string(b)
}

type deadlineOut struct {
	// UntilMS is how long the action's context had left when the action started.
	UntilMS int64 `json:"until_ms"`
	Has     bool  `json:"has"`
}

func deadline(ctx context.Context, _ empty) (deadlineOut, error) {
	d, ok := ctx.Deadline()
	if !ok {
		return deadlineOut{}, nil
	}
	return deadlineOut{Has: true, UntilMS: time.Until(d).Milliseconds()}, nil
}

// places, set with -ldflags "-X main.places=declared", makes the variant whose manifest
// declares where its secrets go (ABI revision 1.5): token in X-Api-Key, the key query
// parameter and Basic auth, and signing as an HMAC in X-Signature-256.
var places string

func secretSpecs() []plugin.SecretSpec {
	if places != "declared" {
		return []plugin.SecretSpec{{Name: "token"}}
	}
	return []plugin.SecretSpec{
		{Name: "token", Places: []plugin.SecretPlace{{Header: "X-Api-Key"}, {Query: "key"}, {Basic: true}}},
		{Name: "signing", Places: []plugin.SecretPlace{{HMAC: "X-Signature-256"}}},
	}
}
