package inbound

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	airtablesim "github.com/aquascene/aquahub/connectors/airtable/sim"
	"github.com/aquascene/aquahub/connectors/airtable/webhook"
	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/sdk/netguard"
	bbolt "go.etcd.io/bbolt"
)

// airtableRig is the Airtable simulator with one webhook whose pings go to a Receiver.
type airtableRig struct {
	sim       *airtablesim.Server
	api       string
	recv      *Receiver
	pub       *recPublisher
	db        *bbolt.DB
	hookID    string
	secret    string
	mu        sync.Mutex
	pingErrs  []error
	responses []Result
}

var loopback = netguard.Policy{AllowHTTP: true, AllowLoopback: true}

func newAirtableRig(t *testing.T, autoPing bool) *airtableRig {
	t.Helper()
	rig := &airtableRig{}
	var ready = make(chan struct{})
	notify := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-ready
		body, _ := io.ReadAll(r.Body)
		res, err := rig.recv.Receive(r.Context(), "aquascene", "airtable", r.Header, body)
		rig.mu.Lock()
		defer rig.mu.Unlock()
		if err != nil {
			rig.pingErrs = append(rig.pingErrs, err)
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		rig.responses = append(rig.responses, res)
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(notify.Close)
	var client *http.Client
	if autoPing {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	rig.sim = airtablesim.New(airtablesim.WithRateLimit(0, 0), airtablesim.WithWebhookClient(client))
	api := httptest.NewServer(rig.sim)
	t.Cleanup(api.Close)
	t.Cleanup(rig.sim.WaitPings)
	rig.api = api.URL

	var created struct {
		ID              string `json:"id"`
		MacSecretBase64 string `json:"macSecretBase64"`
	}
	rig.call(t, http.MethodPost, "/v0/bases/"+airtablesim.DefaultBase+"/webhooks", map[string]any{
		"notificationUrl": notify.URL + "/hooks/aquascene/airtable",
		"specification": map[string]any{"options": map[string]any{
			"filters":  map[string]any{"dataTypes": []string{"tableData"}},
			"includes": map[string]any{"includeCellValuesInFieldIds": "all", "includePreviousCellValues": true},
		}},
	}, &created)
	rig.hookID, rig.secret = created.ID, created.MacSecretBase64

	src, err := NewSource("aquascene", "airtable", Spec{
		Verifier: VerifierAirtable, Secret: rig.secret,
		Airtable: &AirtableFetch{BaseURL: rig.api, Token: airtablesim.DefaultKey, BaseID: airtablesim.DefaultBase, WebhookID: rig.hookID, Policy: loopback},
	})
	if err != nil {
		t.Fatal(err)
	}
	rig.recv, rig.pub = newReceiver(t, &clock{t: time.Now()}, src)
	rig.db = rig.recv.db
	close(ready)
	return rig
}

// call sends an authenticated request to the simulator's API and decodes a 200 answer.
func (rig *airtableRig) call(t *testing.T, method, path string, body, out any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, rig.api+path, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+airtablesim.DefaultKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: %s %s", method, path, resp.Status, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatal(err)
		}
	}
}

func (rig *airtableRig) events(t *testing.T) []core.Event {
	t.Helper()
	rig.sim.WaitPings()
	rig.mu.Lock()
	defer rig.mu.Unlock()
	if len(rig.pingErrs) > 0 {
		t.Fatalf("ping errors: %v", rig.pingErrs)
	}
	rig.pub.mu.Lock()
	defer rig.pub.mu.Unlock()
	return slices.Clone(rig.pub.events)
}

type recordEvent struct {
	Base           string         `json:"base"`
	Table          string         `json:"table"`
	TableID        string         `json:"table_id"`
	RecordID       string         `json:"record_id"`
	Fields         map[string]any `json:"fields"`
	ChangedFields  []string       `json:"changed_fields"`
	PreviousFields map[string]any `json:"previous_fields"`
}

func decodeRecordEvent(t *testing.T, ev core.Event) recordEvent {
	t.Helper()
	var d recordEvent
	if err := json.Unmarshal(ev.Data, &d); err != nil {
		t.Fatalf("event data %s: %v", ev.Data, err)
	}
	return d
}

func TestAirtableRecordChangesBecomeEvents(t *testing.T) {
	rig := newAirtableRig(t, true)
	var rec airtablesim.Record
	rig.call(t, http.MethodPost, "/v0/"+airtablesim.DefaultBase+"/Content_Master", map[string]any{
		"fields": map[string]any{"Content_ID": "CNT-1", "Title": "CO2 basics", "Status": "Draft"},
	}, &rec)
	evs := rig.events(t)
	if len(evs) != 1 {
		t.Fatalf("%d events after a create, want 1: %+v", len(evs), evs)
	}
	created := evs[0]
	d := decodeRecordEvent(t, created)
	if created.Type != AirtableRecordCreated || created.Subject != rec.ID || created.Source != "aquahub/hooks/airtable" || created.Tenant != "aquascene" {
		t.Fatalf("created event %+v", created)
	}
	if d.Base != airtablesim.DefaultBase || d.Table != "Content_Master" || !strings.HasPrefix(d.TableID, "tbl") || d.RecordID != rec.ID ||
		d.Fields["Title"] != "CO2 basics" || d.Fields["Status"] != "Draft" || strings.Join(d.ChangedFields, ",") != "Content_ID,Status,Title" {
		t.Fatalf("created data %+v", d)
	}
	if !strings.HasPrefix(created.ID, rig.hookID+"-") || !strings.HasSuffix(created.ID, "-"+rec.ID) {
		t.Fatalf("event id %q is not webhook-transaction-record", created.ID)
	}

	rig.call(t, http.MethodPatch, "/v0/"+airtablesim.DefaultBase+"/Content_Master/"+rec.ID, map[string]any{
		"fields": map[string]any{"Status": "Scheduled"},
	}, nil)
	rig.call(t, http.MethodDelete, "/v0/"+airtablesim.DefaultBase+"/Content_Master/"+rec.ID, nil, nil)
	evs = rig.events(t)
	if len(evs) != 3 {
		t.Fatalf("%d events, want created, updated, deleted", len(evs))
	}
	up := decodeRecordEvent(t, evs[1])
	if evs[1].Type != AirtableRecordUpdated || strings.Join(up.ChangedFields, ",") != "Status" || up.Fields["Status"] != "Scheduled" ||
		up.Fields["Title"] != "CO2 basics" || up.PreviousFields["Status"] != "Draft" {
		t.Fatalf("updated event %s %s", evs[1].Type, evs[1].Data)
	}
	if evs[2].Type != AirtableRecordDeleted || evs[2].Subject != rec.ID || decodeRecordEvent(t, evs[2]).Table != "Content_Master" {
		t.Fatalf("deleted event %s %s", evs[2].Type, evs[2].Data)
	}

	// A re-delivered ping finds nothing after the stored cursor.
	if err := rig.sim.Ping(t.Context(), airtablesim.DefaultBase, rig.hookID); err != nil {
		t.Fatal(err)
	}
	if n := len(rig.events(t)); n != 3 {
		t.Fatalf("%d events after a repeated ping, want 3", n)
	}
	// Even with the cursor lost, the same changes publish the same ids: nothing is doubled.
	if err := rig.db.Update(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketAirtableCursor).Delete([]byte("aquascene\x00airtable\x00" + rig.hookID))
	}); err != nil {
		t.Fatal(err)
	}
	if err := rig.sim.Ping(t.Context(), airtablesim.DefaultBase, rig.hookID); err != nil {
		t.Fatal(err)
	}
	if n := len(rig.events(t)); n != 3 {
		t.Fatalf("%d events after replaying from cursor 1, want 3", n)
	}
	rig.mu.Lock()
	last := rig.responses[len(rig.responses)-1]
	rig.mu.Unlock()
	if len(last.Events) != 3 || !last.Events[0].Duplicate {
		t.Fatalf("replayed ping result %+v, want 3 duplicates", last)
	}
}

func TestAirtablePingsRefused(t *testing.T) {
	rig := newAirtableRig(t, false)
	ping := func(webhookID string) []byte {
		return fmt.Appendf(nil, `{"base":{"id":%q},"webhook":{"id":%q},"timestamp":"2025-08-06T10:00:00.000Z"}`, airtablesim.DefaultBase, webhookID)
	}
	good, _ := webhook.Sign(rig.secret, ping(rig.hookID))
	otherSecret, _ := webhook.Sign("b3RoZXItc2VjcmV0", ping(rig.hookID))
	otherHook, _ := webhook.Sign(rig.secret, ping("achOtherHook000001"))
	tests := []struct {
		name    string
		header  http.Header
		body    []byte
		wantErr error
	}{
		{"no MAC", hdr(), ping(rig.hookID), ErrUnauthorized},
		{"MAC of another secret", hdr(webhook.Header, otherSecret), ping(rig.hookID), ErrUnauthorized},
		{"MAC of another body", hdr(webhook.Header, good), ping(rig.hookID + "x"), ErrUnauthorized},
		{"MAC not hex", hdr(webhook.Header, "hmac-sha256=zz"), ping(rig.hookID), ErrUnauthorized},
		{"another webhook", hdr(webhook.Header, otherHook), ping("achOtherHook000001"), core.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rig.sim.ResetRequests()
			_, err := rig.recv.Receive(t.Context(), "aquascene", "airtable", tt.header, tt.body)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Receive = %v, want %v", err, tt.wantErr)
			}
			if n := len(rig.sim.Requests()); n != 0 {
				t.Fatalf("a refused ping made %d requests to Airtable", n)
			}
		})
	}
	if _, err := rig.recv.Receive(t.Context(), "aquascene", "airtable", hdr(webhook.Header, good), ping(rig.hookID)); err != nil {
		t.Fatalf("the signed ping: %v", err)
	}
}

// TestAirtableFollowsCursor: one ping reads every page (mightHaveMore), and a failed fetch
// keeps the cursor so the next ping publishes what the failed one could not.
func TestAirtableFollowsCursor(t *testing.T) {
	rig := newAirtableRig(t, false)
	for i := range 60 { // 60 transactions: more than one page of 50 payloads
		rig.call(t, http.MethodPost, "/v0/"+airtablesim.DefaultBase+"/Email_Events", map[string]any{
			"fields": map[string]any{"Event_ID": fmt.Sprint("e", i)},
		}, nil)
	}
	rig.sim.Injector().Inject(http.StatusServiceUnavailable, 1)
	err := rig.sim.Ping(t.Context(), airtablesim.DefaultBase, rig.hookID)
	if err == nil {
		t.Fatal("ping succeeded while Airtable answered 503")
	}
	rig.mu.Lock()
	perr := rig.pingErrs
	rig.pingErrs = nil
	rig.mu.Unlock()
	if len(perr) != 1 || core.Classify(perr[0]).Class != core.ClassTransient {
		t.Fatalf("ping errors %v, want one transient", perr)
	}
	if n := len(rig.events(t)); n != 0 {
		t.Fatalf("%d events published by a failed fetch", n)
	}
	if err := rig.sim.Ping(t.Context(), airtablesim.DefaultBase, rig.hookID); err != nil {
		t.Fatal(err)
	}
	evs := rig.events(t)
	if len(evs) != 60 {
		t.Fatalf("%d events, want 60", len(evs))
	}
	seen := map[string]bool{}
	for _, ev := range evs {
		if seen[ev.ID] || ev.Type != AirtableRecordCreated || decodeRecordEvent(t, ev).Table != "Email_Events" {
			t.Fatalf("event %s %s (seen %v)", ev.ID, ev.Type, seen[ev.ID])
		}
		seen[ev.ID] = true
	}
	payloadGets := 0
	for _, r := range rig.sim.Requests() {
		if strings.HasSuffix(r.Path, "/payloads") {
			payloadGets++
		}
	}
	if payloadGets < 3 { // the failed one and two pages
		t.Fatalf("%d payload requests, want at least 3", payloadGets)
	}
}

func TestAirtableFetchPolicy(t *testing.T) {
	spec := func(base string, p netguard.Policy) Spec {
		return Spec{Verifier: VerifierAirtable, Secret: airtableSecret, Airtable: &AirtableFetch{
			BaseURL: base, Token: "patX", BaseID: "appAquaSceneDev01", WebhookID: "achAquaSceneDev01", Policy: p,
		}}
	}
	tests := []struct {
		name string
		spec Spec
		ok   bool
	}{
		{"loopback refused by default", spec("https://127.0.0.1:8781", netguard.Policy{}), false},
		{"localhost refused by default", spec("https://localhost:8781", netguard.Policy{}), false},
		{"metadata address refused even with loopback", spec("http://169.254.169.254", loopback), false},
		{"plain http refused by default", spec("http://api.airtable.com", netguard.Policy{}), false},
		{"loopback when allowed", spec("http://127.0.0.1:8781", loopback), true},
		{"public https", spec("", netguard.Policy{}), true},
		{"bad webhook id", Spec{Verifier: VerifierAirtable, Secret: airtableSecret, Airtable: &AirtableFetch{Token: "x", BaseID: "appAquaSceneDev01", WebhookID: "nope"}}, false},
		{"bad base id", Spec{Verifier: VerifierAirtable, Secret: airtableSecret, Airtable: &AirtableFetch{Token: "x", BaseID: "base", WebhookID: "achAquaSceneDev01"}}, false},
		{"no token", Spec{Verifier: VerifierAirtable, Secret: airtableSecret, Airtable: &AirtableFetch{BaseID: "appAquaSceneDev01", WebhookID: "achAquaSceneDev01"}}, false},
		{"other verifier", Spec{Verifier: VerifierHMAC, Secret: "k", Airtable: &AirtableFetch{Token: "x", BaseID: "appAquaSceneDev01", WebhookID: "achAquaSceneDev01"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewSource("aquascene", "airtable", tt.spec)
			if (err == nil) != tt.ok {
				t.Fatalf("NewSource = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

// TestAirtableFetchDialGuard: a name that resolves to a refused address is stopped when
// dialing, not only when the URL is checked.
func TestAirtableFetchDialGuard(t *testing.T) {
	f, err := newAirtableFetcher(AirtableFetch{BaseURL: "http://guard.test", Token: "x", BaseID: "appAquaSceneDev01", WebhookID: "achAquaSceneDev01", Policy: netguard.Policy{AllowHTTP: true}})
	if err != nil {
		t.Fatal(err)
	}
	// Point the transport's resolution at loopback the way a hostile DNS answer would.
	tr := f.client.Transport.(*http.Transport)
	inner := tr.DialContext
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return inner(ctx, network, "127.0.0.1:9")
	}
	var v any
	err = f.get(t.Context(), "/v0/meta/bases/appAquaSceneDev01/tables", nil, &v)
	if !errors.Is(err, netguard.ErrBlocked) || core.Classify(err).Class != core.ClassPermanent {
		t.Fatalf("get = %v (class %s), want a permanent ErrBlocked", err, core.Classify(err).Class)
	}
}
