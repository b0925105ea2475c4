package sim

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aquascene/aquahub/connectors/simkit/simtest"

	"github.com/aquascene/aquahub/sdk/signature"
)

func newTestServer(t testing.TB, opts ...Option) (*Server, *httptest.Server) {
	t.Helper()
	return simtest.Start(t, New, WithClock, opts...)
}

// response is a simulator answer.
type response = simtest.Response

func send(t testing.TB, ts *httptest.Server, auth, body string) response {
	t.Helper()
	req, _ := http.NewRequest("POST", ts.URL+"/v3/mail/send", strings.NewReader(body))
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	req.Header.Set("Content-Type", "application/json")
	return simtest.Do(t, ts.Client(), req)
}

const good = `{"personalizations":[{"to":[{"email":"reader@example.com","name":"Reader"}]}],
 "from":{"email":"newsletter@aquascene.bg","name":"AquaScene"},"reply_to":{"email":"hello@aquascene.bg"},
 "subject":"This Week in Aquascaping",
 "content":[{"type":"text/plain","value":"hi"},{"type":"text/html","value":"<p>hi</p>"}],
 "custom_args":{"content_id":"c-1","campaign_type":"newsletter"},"categories":["newsletter"]}`

func firstError(r response) (string, string) {
	errs, _ := r.Body["errors"].([]any)
	if len(errs) == 0 {
		return "", ""
	}
	e := errs[0].(map[string]any)
	f, _ := e["field"].(string)
	m, _ := e["message"].(string)
	return f, m
}

func TestSendAccepted(t *testing.T) {
	s, ts := newTestServer(t)
	r := send(t, ts, "Bearer "+DefaultKey, good)
	if r.Status != 202 || r.Raw != "" {
		t.Fatalf("send = %d %q", r.Status, r.Raw)
	}
	id := r.Header.Get("X-Message-Id")
	if len(id) != 22 {
		t.Fatalf("X-Message-Id = %q", id)
	}
	msgs := s.Messages()
	if len(msgs) != 1 || msgs[0].ID != id || msgs[0].Recipients[0] != "reader@example.com" {
		t.Fatalf("messages = %+v", msgs)
	}
}

func TestSendErrors(t *testing.T) {
	_, ts := newTestServer(t)
	many := make([]string, 1001)
	for i := range many {
		many[i] = fmt.Sprintf(`{"to":[{"email":"r%d@example.com"}]}`, i)
	}
	manyTo := make([]string, 1001)
	for i := range manyTo {
		manyTo[i] = fmt.Sprintf(`{"email":"r%d@example.com"}`, i)
	}
	tests := []struct {
		name       string
		auth       string
		body       string
		wantStatus int
		wantField  string
		wantMsg    string
	}{
		{"no auth", "", good, 401, "", "authorization required"},
		{"wrong key", "Bearer SG.nope", good, 401, "", "The provided authorization grant is invalid"},
		{"basic auth", "Basic " + DefaultKey, good, 401, "", "The provided authorization grant"},
		{"bad JSON", "", "{", 401, "", "authorization required"},
		{"bad JSON authorized", "Bearer " + DefaultKey, "{", 400, "", "Bad Request"},
		{"wrong type", "Bearer " + DefaultKey, `{"personalizations":"x"}`, 400, "", "Bad Request"},
		{"custom_args number", "Bearer " + DefaultKey, strings.Replace(good, `"c-1"`, `1`, 1), 400, "", "Bad Request"},
		{"no personalizations", "Bearer " + DefaultKey, `{"from":{"email":"a@b.co"},"subject":"s","content":[{"type":"text/plain","value":"x"}]}`, 400, "personalizations", "at least one personalization"},
		{"1001 personalizations", "Bearer " + DefaultKey, `{"personalizations":[` + strings.Join(many, ",") + `],"from":{"email":"a@b.co"},"subject":"s","content":[{"type":"text/plain","value":"x"}]}`, 400, "personalizations", "between 1 and 1000"},
		{"1001 recipients", "Bearer " + DefaultKey, `{"personalizations":[{"to":[` + strings.Join(manyTo, ",") + `]}],"from":{"email":"a@b.co"},"subject":"s","content":[{"type":"text/plain","value":"x"}]}`, 400, "personalizations", "total number of recipients"},
		{"no from", "Bearer " + DefaultKey, `{"personalizations":[{"to":[{"email":"a@b.co"}]}],"subject":"s","content":[{"type":"text/plain","value":"x"}]}`, 400, "from.email", "The from object must be provided"},
		{"no to", "Bearer " + DefaultKey, `{"personalizations":[{"cc":[{"email":"a@b.co"}]}],"from":{"email":"a@b.co"},"subject":"s","content":[{"type":"text/plain","value":"x"}]}`, 400, "personalizations.0.to", "The to array is required"},
		{"bad address", "Bearer " + DefaultKey, `{"personalizations":[{"to":[{"email":"nope"}]}],"from":{"email":"a@b.co"},"subject":"s","content":[{"type":"text/plain","value":"x"}]}`, 400, "personalizations.0.to.0.email", "Does not contain a valid address."},
		{"duplicate recipient", "Bearer " + DefaultKey, `{"personalizations":[{"to":[{"email":"x@b.co"}],"cc":[{"email":"X@b.co"}]}],"from":{"email":"a@b.co"},"subject":"s","content":[{"type":"text/plain","value":"x"}]}`, 400, "personalizations.0", "should be unique"},
		{"no subject", "Bearer " + DefaultKey, `{"personalizations":[{"to":[{"email":"x@b.co"}]}],"from":{"email":"a@b.co"},"content":[{"type":"text/plain","value":"x"}]}`, 400, "subject", "The subject is required"},
		{"no content", "Bearer " + DefaultKey, `{"personalizations":[{"to":[{"email":"x@b.co"}]}],"from":{"email":"a@b.co"},"subject":"s"}`, 400, "content", "the content parameter is required"},
		{"html before text", "Bearer " + DefaultKey, `{"personalizations":[{"to":[{"email":"x@b.co"}]}],"from":{"email":"a@b.co"},"subject":"s","content":[{"type":"text/html","value":"<p>x</p>"},{"type":"text/plain","value":"x"}]}`, 400, "content", "text/plain must be first"},
		{"send_at too far", "Bearer " + DefaultKey, `{"personalizations":[{"to":[{"email":"x@b.co"}]}],"from":{"email":"a@b.co"},"subject":"s","content":[{"type":"text/plain","value":"x"}],"send_at":` + strconv.FormatInt(simtest.Now.Add(73*time.Hour).Unix(), 10) + `}`, 400, "send_at", "72 hours"},
		{"eleven categories", "Bearer " + DefaultKey, strings.Replace(good, `["newsletter"]`, `["1","2","3","4","5","6","7","8","9","10","11"]`, 1), 400, "categories", "more than 10 categories"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := send(t, ts, tt.auth, tt.body)
			f, m := firstError(r)
			if r.Status != tt.wantStatus || f != tt.wantField || !strings.Contains(m, tt.wantMsg) {
				t.Fatalf("= %d %s, want %d field %q message %q", r.Status, r.Raw, tt.wantStatus, tt.wantField, tt.wantMsg)
			}
		})
	}
}

func TestTooLarge(t *testing.T) {
	_, ts := newTestServer(t, WithMaxBody(100))
	r := send(t, ts, "Bearer "+DefaultKey, good)
	if _, m := firstError(r); r.Status != 413 || m != "content too large" {
		t.Fatalf("= %d %s", r.Status, r.Raw)
	}
}

func TestRateLimit(t *testing.T) {
	_, ts := newTestServer(t, WithRateLimit(2, time.Minute))
	for i := 0; i < 2; i++ {
		if r := send(t, ts, "Bearer "+DefaultKey, good); r.Status != 202 {
			t.Fatalf("send %d = %d", i, r.Status)
		}
	}
	r := send(t, ts, "Bearer "+DefaultKey, good)
	if r.Status != 429 {
		t.Fatalf("third send = %d", r.Status)
	}
	if got, want := r.Header.Get("X-RateLimit-Reset"), strconv.FormatInt(simtest.Now.Add(time.Minute).Unix(), 10); got != want {
		t.Fatalf("X-RateLimit-Reset = %s, want %s", got, want)
	}
	if _, m := firstError(r); m != "too many requests" || r.Header.Get("X-RateLimit-Remaining") != "0" {
		t.Fatalf("429 = %s %v", r.Raw, r.Header)
	}
}

func TestInjectedFaults(t *testing.T) {
	s, ts := newTestServer(t)
	s.Injector().Inject(429, 1)
	s.Injector().Inject(500, 1)
	if r := send(t, ts, "Bearer "+DefaultKey, good); r.Status != 429 || r.Header.Get("X-RateLimit-Reset") == "" {
		t.Fatalf("first = %d %v", r.Status, r.Header)
	}
	if r := send(t, ts, "Bearer "+DefaultKey, good); r.Status != 500 {
		t.Fatalf("second = %d", r.Status)
	}
	if r := send(t, ts, "Bearer "+DefaultKey, good); r.Status != 202 {
		t.Fatalf("third = %d", r.Status)
	}
	if n := len(s.Messages()); n != 1 {
		t.Fatalf("%d messages recorded, want 1 (faults do not send)", n)
	}
}

func TestEventWebhook(t *testing.T) {
	type post struct {
		sig, ts string
		body    []byte
	}
	posts := make(chan post, 10)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		posts <- post{r.Header.Get(signature.SendGridSignatureHeader), r.Header.Get(signature.SendGridTimestampHeader), b}
	}))
	defer hook.Close()
	s, ts := newTestServer(t, WithEventWebhook(hook.URL, hook.Client()))

	// The public key is served where SendGrid serves it.
	req, _ := http.NewRequest("GET", ts.URL+"/v3/user/webhooks/event/settings/signed", nil)
	req.Header.Set("Authorization", "Bearer "+DefaultKey)
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var keyBody struct {
		PublicKey string `json:"public_key"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&keyBody)
	resp.Body.Close()

	r := send(t, ts, "Bearer "+DefaultKey, good)
	msgID := r.Header.Get("X-Message-Id")
	p := <-posts
	if err := verifyEvents(keyBody.PublicKey, p.sig, p.ts, p.body); err != nil {
		t.Fatalf("delivery events signature: %v", err)
	}
	var events []map[string]any
	if err := json.Unmarshal(p.body, &events); err != nil {
		t.Fatal(err)
	}
	if len(events) != 2 || events[0]["event"] != "processed" || events[1]["event"] != "delivered" ||
		events[1]["content_id"] != "c-1" || !strings.HasPrefix(events[1]["sg_message_id"].(string), msgID+".") {
		t.Fatalf("events = %v", events)
	}
	s.WaitEvents()

	// An engagement event through the control endpoint.
	creq, _ := http.NewRequest("POST", ts.URL+"/_sim/events", strings.NewReader(`{"message_id":"`+msgID+`","event":"open","email":"reader@example.com"}`))
	creq.Header.Set("Authorization", "Bearer "+DefaultKey)
	cresp, err := ts.Client().Do(creq)
	if err != nil || cresp.StatusCode != 200 {
		t.Fatalf("emit open: %v %v", err, cresp.Status)
	}
	cresp.Body.Close()
	p = <-posts
	if err := verifyEvents(s.PublicKey(), p.sig, p.ts, p.body); err != nil || !strings.Contains(string(p.body), `"event":"open"`) {
		t.Fatalf("open event: %v %s", err, p.body)
	}
	if errs := s.EmitErrors(); len(errs) != 0 {
		t.Fatalf("emit errors: %v", errs)
	}
}

// verifyEvents checks an Event Webhook post's signature with publicKey. The simulator's
// clock is fixed in these tests, so the timestamp's freshness is not checked.
func verifyEvents(publicKey, sig, ts string, body []byte) error {
	pk, err := signature.ParseSendGridKey(publicKey)
	if err != nil {
		return err
	}
	return signature.VerifySendGrid(pk, sig, ts, body, time.Time{}, -1)
}
