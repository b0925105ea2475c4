package webhooks

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

const (
	vectorSecret = Secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	vectorID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorTS     = int64(1614265330)
	vectorBody   = `{"test": 2432232314}`
	vectorSig    = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func mustKey(tb testing.TB, s Secret) []byte {
	tb.Helper()
	k, err := s.Key()
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

func TestSignV1Vector(t *testing.T) {
	got := SignV1(mustKey(t, vectorSecret), vectorID, vectorTS, []byte(vectorBody))
	if got != vectorSig {
		t.Fatalf("SignV1 = %s, want %s", got, vectorSig)
	}
}

// TestReferenceLibraryAcceptsOurRequests signs with BuildRequest and verifies with the
// Standard Webhooks reference Go library, during a rotation too.
func TestReferenceLibraryAcceptsOurRequests(t *testing.T) {
	oldSecret, newSecret := NewSecret(), NewSecret()
	body := []byte(`{"specversion":"1.0","id":"e1","source":"s","type":"newsletter.sent","data":{"n":1}}`)
	req, err := BuildRequest(t.Context(), "https://example.com/hook", "msg_1", time.Now(), body, []Secret{newSecret, oldSecret}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(strings.Fields(req.Header.Get(HeaderSignature))); n != 2 {
		t.Fatalf("webhook-signature has %d entries during rotation, want 2", n)
	}
	for name, sec := range map[string]Secret{"new": newSecret, "old": oldSecret} {
		wh, err := standardwebhooks.NewWebhook(string(sec))
		if err != nil {
			t.Fatal(err)
		}
		if err := wh.Verify(body, req.Header); err != nil {
			t.Errorf("reference library rejects the %s secret's signature: %v", name, err)
		}
	}
	// The vector, signed by the reference library, passes our Verify.
	wh, _ := standardwebhooks.NewWebhook(string(vectorSecret))
	sig, err := wh.Sign(vectorID, time.Unix(vectorTS, 0), []byte(vectorBody))
	if err != nil {
		t.Fatal(err)
	}
	if sig != vectorSig {
		t.Fatalf("reference library signs %s, want %s", sig, vectorSig)
	}
	if err := Verify([][]byte{mustKey(t, vectorSecret)}, vectorID, strconv.FormatInt(vectorTS, 10), sig, []byte(vectorBody), time.Unix(vectorTS, 0), 0); err != nil {
		t.Fatalf("Verify rejects the reference signature: %v", err)
	}
}

func TestSignSHA256HexMatchesSeed(t *testing.T) {
	// python: hmac.new(b"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", b'{"test": 2432232314}', hashlib.sha256).hexdigest()
	got := SignSHA256Hex(string(vectorSecret), []byte(vectorBody))
	if want := "sha256=80ec8a89ce3cd22133a1066caecb4d04fea7467657c8514d717ec42c38a5c94c"; got != want {
		t.Fatalf("SignSHA256Hex = %q, want %q", got, want)
	}
	req, _ := BuildRequest(t.Context(), "https://example.com/", "m", time.Now(), []byte(vectorBody), []Secret{vectorSecret}, nil)
	if req.Header.Get(HeaderSHA256) != got {
		t.Fatalf("X-Signature-256 = %q, want %q", req.Header.Get(HeaderSHA256), got)
	}
}

func TestVerifyRejects(t *testing.T) {
	key := mustKey(t, vectorSecret)
	now := time.Unix(vectorTS, 0)
	ts := strconv.FormatInt(vectorTS, 10)
	body := []byte(vectorBody)
	tests := []struct {
		name string
		id   string
		ts   string
		sig  string
		body []byte
		now  time.Time
		want error
	}{
		{name: "valid", id: vectorID, ts: ts, sig: vectorSig, body: body, now: now},
		{name: "valid among others", id: vectorID, ts: ts, sig: "v2,abc v1,Zm9v " + vectorSig, body: body, now: now},
		{name: "empty header", id: vectorID, ts: ts, sig: "", body: body, now: now, want: ErrNoSignature},
		{name: "empty v1 signature", id: vectorID, ts: ts, sig: "v1,", body: body, now: now, want: ErrNoSignature},
		{name: "wrong version only", id: vectorID, ts: ts, sig: "v2," + vectorSig[3:], body: body, now: now, want: ErrNoSignature},
		{name: "no comma", id: vectorID, ts: ts, sig: vectorSig[3:], body: body, now: now, want: ErrNoSignature},
		{name: "tampered body", id: vectorID, ts: ts, sig: vectorSig, body: []byte(`{"test": 2432232315}`), now: now, want: ErrBadSignature},
		{name: "other id", id: "msg_other", ts: ts, sig: vectorSig, body: body, now: now, want: ErrBadSignature},
		{name: "stale", id: vectorID, ts: ts, sig: vectorSig, body: body, now: now.Add(6 * time.Minute), want: ErrStale},
		{name: "future", id: vectorID, ts: ts, sig: vectorSig, body: body, now: now.Add(-6 * time.Minute), want: ErrStale},
		{name: "non-integer timestamp", id: vectorID, ts: "1614265330.5", sig: vectorSig, body: body, now: now, want: ErrBadTimestamp},
		{name: "negative timestamp", id: vectorID, ts: "-1614265330", sig: vectorSig, body: body, now: now, want: ErrBadTimestamp},
		{name: "empty timestamp", id: vectorID, ts: "", sig: vectorSig, body: body, now: now, want: ErrBadTimestamp},
		{name: "signature with other key", id: vectorID, ts: ts, sig: SignV1(mustKey(t, NewSecret()), vectorID, vectorTS, body), body: body, now: now, want: ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verify([][]byte{key}, tt.id, tt.ts, tt.sig, tt.body, tt.now, 0)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestSecretKey(t *testing.T) {
	tests := []struct {
		name string
		s    Secret
		ok   bool
	}{
		{name: "generated", s: NewSecret(), ok: true},
		{name: "vector", s: vectorSecret, ok: true},
		{name: "no prefix", s: "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", ok: false},
		{name: "not base64", s: "whsec_!!!", ok: false},
		{name: "too short", s: "whsec_c2hvcnQ=", ok: false},
		{name: "empty", s: "", ok: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.s.Key()
			if (err == nil) != tt.ok {
				t.Fatalf("Key() error = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrBadSecret) {
				t.Fatalf("error %v does not wrap ErrBadSecret", err)
			}
		})
	}
}

func TestMatchType(t *testing.T) {
	tests := []struct {
		name, pattern, typ string
		want               bool
	}{
		{name: "exact", pattern: "newsletter.sent", typ: "newsletter.sent", want: true},
		{name: "star all", pattern: "*", typ: "a.b.c", want: true},
		{name: "prefix", pattern: "content.*", typ: "content.generation.completed", want: true},
		{name: "middle", pattern: "content.*.failed", typ: "content.generation.failed", want: true},
		{name: "middle mismatch", pattern: "content.*.failed", typ: "content.generation.completed", want: false},
		{name: "other prefix", pattern: "content.*", typ: "social.posted", want: false},
		{name: "no wildcard mismatch", pattern: "newsletter.sent", typ: "newsletter.sent.x", want: false},
		{name: "double star", pattern: "**.sent", typ: "newsletter.sent", want: true},
		{name: "suffix", pattern: "*.posted", typ: "social.posted", want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MatchType(tt.pattern, tt.typ); got != tt.want {
				t.Fatalf("MatchType(%q, %q) = %v, want %v", tt.pattern, tt.typ, got, tt.want)
			}
		})
	}
}

func FuzzParseSignatureHeader(f *testing.F) {
	for _, s := range []string{vectorSig, "", "v1,", "v1,a v2,b", "v1,,,", " v1,Zm9v  v1,YmFy ", "v1", ",", "v1,====" + strings.Repeat(" v1,Zm9v", 20)} {
		f.Add(s)
	}
	key := mustKey(f, vectorSecret)
	f.Fuzz(func(t *testing.T, h string) {
		entries := ParseSignatureHeader(h)
		if len(entries) > 16 {
			t.Fatalf("%d entries", len(entries))
		}
		for _, e := range entries {
			if e.Version == "v1" && len(e.Signature) == 0 {
				t.Fatalf("empty v1 signature kept from %q", h)
			}
		}
		err := Verify([][]byte{key}, vectorID, strconv.FormatInt(vectorTS, 10), h, []byte(vectorBody), time.Unix(vectorTS, 0), 0)
		if err == nil && !strings.Contains(h, vectorSig[3:]) {
			t.Fatalf("header %q verified without the right signature", h)
		}
	})
}
