package sim

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aquascene/aquahub/connectors/simkit/simtest"
)

func newTestServer(t testing.TB, opts ...Option) (*Server, *httptest.Server) {
	t.Helper()
	s := New(opts...)
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return s, ts
}

func get(t testing.TB, ts *httptest.Server, path string, header ...string) simtest.Response {
	t.Helper()
	req, _ := http.NewRequest("GET", ts.URL+path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return simtest.Do(t, ts.Client(), req)
}

func skus(r simtest.Response) []string {
	var out []string
	data, _ := r.Body["data"].([]any)
	for _, d := range data {
		out = append(out, d.(map[string]any)["sku"].(string))
	}
	return out
}

func TestAuth(t *testing.T) {
	_, ts := newTestServer(t)
	tests := []struct {
		name   string
		header []string
		want   int
	}{
		{"api key header", []string{"X-Api-Key", DefaultKey}, 200},
		{"bearer", []string{"Authorization", "Bearer " + DefaultKey}, 200},
		{"none", nil, 401},
		{"wrong", []string{"X-Api-Key", "nope"}, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if r := get(t, ts, ProductsPath, tt.header...); r.Status != tt.want {
				t.Fatalf("status %d, want %d: %s", r.Status, tt.want, r.Raw)
			}
		})
	}
}

// Every paging style the answers offer walks the whole catalog once, in order.
func TestPaging(t *testing.T) {
	_, ts := newTestServer(t)
	all := Catalog()
	tests := []struct {
		name string
		next func(r simtest.Response) string
	}{
		{"page numbers", func(r simtest.Response) string {
			m := r.Body["meta"].(map[string]any)
			if m["page"].(float64) >= m["total_pages"].(float64) {
				return ""
			}
			return ProductsPath + "?per_page=7&page=" + strconv.Itoa(int(m["page"].(float64))+1)
		}},
		{"cursor", func(r simtest.Response) string {
			c, _ := r.Body["meta"].(map[string]any)["next_cursor"].(string)
			if c == "" {
				return ""
			}
			return ProductsPath + "?per_page=7&cursor=" + c
		}},
		{"links.next", func(r simtest.Response) string {
			n, _ := r.Body["links"].(map[string]any)["next"].(string)
			return strings.TrimPrefix(n, ts.URL)
		}},
		{"Link header", func(r simtest.Response) string {
			l := r.Header.Get("Link")
			if l == "" {
				return ""
			}
			return strings.TrimPrefix(l[1:strings.Index(l, ">")], ts.URL)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			path := ProductsPath + "?per_page=7"
			for pages := 0; path != ""; pages++ {
				if pages > 10 {
					t.Fatal("paging does not end")
				}
				r := get(t, ts, path, "X-Api-Key", DefaultKey)
				if r.Status != 200 {
					t.Fatalf("%s: %d %s", path, r.Status, r.Raw)
				}
				got = append(got, skus(r)...)
				path = tt.next(r)
			}
			if len(got) != len(all) || got[0] != all[0].SKU || got[len(got)-1] != all[len(all)-1].SKU {
				t.Fatalf("walked %d products %v", len(got), got)
			}
		})
	}
}

func TestListAndGet(t *testing.T) {
	_, ts := newTestServer(t)
	tests := []struct {
		name       string
		path       string
		wantStatus int
		wantSKUs   string
	}{
		{"category by slug", ProductsPath + "?category=lights", 200, "GA-LED-WRGB2-60,GA-LED-WRGB2-90,GA-LED-UNIV"},
		{"category by name", ProductsPath + "?category=CO2%20Systems&in_stock=false", 200, "GA-CO2-DROP"},
		{"search", ProductsPath + "?q=carpet&per_page=2", 200, "GA-PLT-MONTE,GA-PLT-HCCUBA"},
		{"per_page too large", ProductsPath + "?per_page=101", 400, ""},
		{"bad cursor", ProductsPath + "?cursor=zzz", 400, ""},
		{"one product", ProductsPath + "/GA-SOIL-AMZ-9", 200, ""},
		{"unknown product", ProductsPath + "/GA-NOPE", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := get(t, ts, tt.path, "X-Api-Key", DefaultKey)
			if r.Status != tt.wantStatus {
				t.Fatalf("status %d: %s", r.Status, r.Raw)
			}
			if tt.wantSKUs != "" && strings.Join(skus(r), ",") != tt.wantSKUs {
				t.Fatalf("skus %v, want %s", skus(r), tt.wantSKUs)
			}
			if tt.name == "one product" && r.Body["data"].(map[string]any)["price"].(map[string]any)["label"] != "€39.90" {
				t.Fatalf("product: %s", r.Raw)
			}
		})
	}
}

func sign(t testing.TB, key crypto.Signer, alg string, claims Claims) string {
	t.Helper()
	h, _ := json.Marshal(map[string]string{"alg": alg, "typ": "JWT"})
	c, _ := json.Marshal(claims)
	input := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	digest := sha256.Sum256([]byte(input))
	var sig []byte
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		r, s, err := ecdsa.Sign(rand.Reader, k, digest[:])
		if err != nil {
			t.Fatal(err)
		}
		sig = append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...)
	case *rsa.PrivateKey:
		var err error
		if sig, err = rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, digest[:]); err != nil {
			t.Fatal(err)
		}
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func TestNotifications(t *testing.T) {
	devKey, err := ParsePrivateKey([]byte(DevSigningKeyPEM))
	if err != nil {
		t.Fatal(err)
	}
	otherKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	body := []byte(`{"type":"content.published","data":{"content_id":"c-1","product_id":"GA-SOIL-AMZ-9"}}`)
	sum := sha256.Sum256(body)
	now := time.Now()
	good := func(ts *httptest.Server) Claims {
		return Claims{Issuer: "aquahub/aquascene", Audience: ts.URL + NotificationsPath, IssuedAt: now.Unix(), Expires: now.Unix() + 300,
			ID: "msg_1", BodySHA256: base64.RawURLEncoding.EncodeToString(sum[:])}
	}
	tests := []struct {
		name    string
		opts    []Option
		key     crypto.Signer
		alg     string
		edit    func(c *Claims)
		body    []byte
		want    int
		wantErr string
	}{
		{"dev key", nil, devKey, "ES256", nil, body, 202, ""},
		{"configured RSA key", []Option{WithNotificationKey(rsaKey.Public())}, rsaKey, "RS256", nil, body, 202, ""},
		{"other key", nil, otherKey, "ES256", nil, body, 401, "does not verify"},
		{"alg mismatch", []Option{WithNotificationKey(rsaKey.Public())}, devKey, "ES256", nil, body, 401, "does not match"},
		{"body changed", nil, devKey, "ES256", nil, []byte(`{"type":"content.published"}`), 401, "body_sha256"},
		{"expired", nil, devKey, "ES256", func(c *Claims) { c.Expires = now.Unix() - 1 }, body, 401, "expired"},
		{"other id", nil, devKey, "ES256", func(c *Claims) { c.ID = "msg_2" }, body, 401, "jti"},
		{"other endpoint", nil, devKey, "ES256", func(c *Claims) { c.Audience = "https://x.test/other" }, body, 401, "aud"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, ts := newTestServer(t, tt.opts...)
			c := good(ts)
			if tt.edit != nil {
				tt.edit(&c)
			}
			post := func() simtest.Response {
				req, _ := http.NewRequest("POST", ts.URL+NotificationsPath, strings.NewReader(string(tt.body)))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Webhook-Id", "msg_1")
				req.Header.Set("Webhook-Timestamp", strconv.FormatInt(now.Unix(), 10))
				req.Header.Set(SignatureHeader, sign(t, tt.key, tt.alg, c))
				return simtest.Do(t, ts.Client(), req)
			}
			r := post()
			if r.Status != tt.want || (tt.wantErr != "" && !strings.Contains(r.Raw, tt.wantErr)) {
				t.Fatalf("status %d %s, want %d %q", r.Status, r.Raw, tt.want, tt.wantErr)
			}
			n := s.Notifications()
			if len(n) != 1 || n[0].Verified != (tt.want == 202) {
				t.Fatalf("recorded %+v", n)
			}
			if tt.want == 202 {
				if r := post(); r.Status != 200 || r.Body["duplicate"] != true {
					t.Fatalf("redelivery: %d %s", r.Status, r.Raw)
				}
			}
		})
	}
}
