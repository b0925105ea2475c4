package signature_test

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aquascene/aquahub/sdk/signature"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// The Standard Webhooks specification's test vector.
const (
	vectorSecret = signature.Secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	vectorID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorTS     = int64(1614265330)
	vectorBody   = `{"test": 2432232314}`
	vectorSig    = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func mustKey(tb testing.TB, s signature.Secret) []byte {
	tb.Helper()
	k, err := s.Key()
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

func TestSignV1Vector(t *testing.T) {
	got := signature.SignV1(mustKey(t, vectorSecret), vectorID, vectorTS, []byte(vectorBody))
	if got != vectorSig {
		t.Fatalf("SignV1 = %s, want %s", got, vectorSig)
	}
}

// TestReferenceLibraryInterop signs with SignStandard and verifies with the Standard Webhooks
// reference Go library, during a rotation too, and verifies the reference library's
// signature with VerifyStandard.
func TestReferenceLibraryInterop(t *testing.T) {
	oldSecret, newSecret := signature.NewSecret(), signature.NewSecret()
	body := []byte(`{"specversion":"1.0","id":"e1","source":"s","type":"newsletter.sent","data":{"n":1}}`)
	now := time.Now()
	h := http.Header{}
	h.Set(signature.WebhookIDHeader, "msg_1")
	h.Set(signature.WebhookTimestampHeader, strconv.FormatInt(now.Unix(), 10))
	h.Set(signature.WebhookSignatureHeader, signature.SignStandard([][]byte{mustKey(t, newSecret), mustKey(t, oldSecret)}, "msg_1", now.Unix(), body))
	if n := len(strings.Fields(h.Get(signature.WebhookSignatureHeader))); n != 2 {
		t.Fatalf("webhook-signature has %d entries during rotation, want 2", n)
	}
	for name, sec := range map[string]signature.Secret{"new": newSecret, "old": oldSecret} {
		wh, err := standardwebhooks.NewWebhook(string(sec))
		if err != nil {
			t.Fatal(err)
		}
		if err := wh.Verify(body, h); err != nil {
			t.Errorf("reference library rejects the %s secret's signature: %v", name, err)
		}
	}
	wh, _ := standardwebhooks.NewWebhook(string(vectorSecret))
	sig, err := wh.Sign(vectorID, time.Unix(vectorTS, 0), []byte(vectorBody))
	if err != nil {
		t.Fatal(err)
	}
	if sig != vectorSig {
		t.Fatalf("reference library signs %s, want %s", sig, vectorSig)
	}
	if err := signature.VerifyStandard([][]byte{mustKey(t, vectorSecret)}, vectorID, strconv.FormatInt(vectorTS, 10), sig, []byte(vectorBody), time.Unix(vectorTS, 0), 0); err != nil {
		t.Fatalf("VerifyStandard rejects the reference signature: %v", err)
	}
}

func TestVerifyStandard(t *testing.T) {
	key := mustKey(t, vectorSecret)
	now := time.Unix(vectorTS, 0)
	ts := strconv.FormatInt(vectorTS, 10)
	body := []byte(vectorBody)
	tests := []struct {
		name      string
		id        string
		ts        string
		sig       string
		body      []byte
		now       time.Time
		tolerance time.Duration
		want      error
	}{
		{name: "valid", id: vectorID, ts: ts, sig: vectorSig, body: body, now: now},
		{name: "valid among others", id: vectorID, ts: ts, sig: "v2,abc v1,Zm9v " + vectorSig, body: body, now: now},
		{name: "empty header", id: vectorID, ts: ts, sig: "", body: body, now: now, want: signature.ErrMissing},
		{name: "empty v1 signature", id: vectorID, ts: ts, sig: "v1,", body: body, now: now, want: signature.ErrMissing},
		{name: "wrong version only", id: vectorID, ts: ts, sig: "v2," + vectorSig[3:], body: body, now: now, want: signature.ErrMissing},
		{name: "no comma", id: vectorID, ts: ts, sig: vectorSig[3:], body: body, now: now, want: signature.ErrMissing},
		{name: "tampered body", id: vectorID, ts: ts, sig: vectorSig, body: []byte(`{"test": 2432232315}`), now: now, want: signature.ErrMismatch},
		{name: "other id", id: "msg_other", ts: ts, sig: vectorSig, body: body, now: now, want: signature.ErrMismatch},
		{name: "stale", id: vectorID, ts: ts, sig: vectorSig, body: body, now: now.Add(6 * time.Minute), want: signature.ErrStale},
		{name: "future", id: vectorID, ts: ts, sig: vectorSig, body: body, now: now.Add(-6 * time.Minute), want: signature.ErrStale},
		{name: "wider tolerance", id: vectorID, ts: ts, sig: vectorSig, body: body, now: now.Add(6 * time.Minute), tolerance: 10 * time.Minute},
		{name: "no time check", id: vectorID, ts: ts, sig: vectorSig, body: body, now: now.Add(48 * time.Hour), tolerance: -1},
		{name: "non-integer timestamp", id: vectorID, ts: "1614265330.5", sig: vectorSig, body: body, now: now, want: signature.ErrBadTimestamp},
		{name: "negative timestamp", id: vectorID, ts: "-1614265330", sig: vectorSig, body: body, now: now, want: signature.ErrBadTimestamp},
		{name: "empty timestamp", id: vectorID, ts: "", sig: vectorSig, body: body, now: now, want: signature.ErrBadTimestamp},
		{name: "signature with other key", id: vectorID, ts: ts, sig: signature.SignV1(mustKey(t, signature.NewSecret()), vectorID, vectorTS, body), body: body, now: now, want: signature.ErrMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := signature.VerifyStandard([][]byte{key}, tt.id, tt.ts, tt.sig, tt.body, tt.now, tt.tolerance)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("VerifyStandard = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestSecretKey(t *testing.T) {
	tests := []struct {
		name string
		s    signature.Secret
		ok   bool
	}{
		{name: "generated", s: signature.NewSecret(), ok: true},
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
			if err != nil && !errors.Is(err, signature.ErrBadKey) {
				t.Fatalf("error %v does not wrap ErrBadKey", err)
			}
		})
	}
}

func FuzzParseStandardSignature(f *testing.F) {
	for _, s := range []string{vectorSig, "", "v1,", "v1,a v2,b", "v1,,,", " v1,Zm9v  v1,YmFy ", "v1", ",", "v1,====" + strings.Repeat(" v1,Zm9v", 20)} {
		f.Add(s)
	}
	key := mustKey(f, vectorSecret)
	f.Fuzz(func(t *testing.T, h string) {
		entries := signature.ParseStandardSignature(h)
		if len(entries) > 16 {
			t.Fatalf("%d entries", len(entries))
		}
		for _, e := range entries {
			if e.Version == "v1" && len(e.Signature) == 0 {
				t.Fatalf("empty v1 signature kept from %q", h)
			}
		}
		err := signature.VerifyStandard([][]byte{key}, vectorID, strconv.FormatInt(vectorTS, 10), h, []byte(vectorBody), time.Unix(vectorTS, 0), 0)
		if err == nil && !strings.Contains(h, vectorSig[3:]) {
			t.Fatalf("header %q verified without the right signature", h)
		}
	})
}
