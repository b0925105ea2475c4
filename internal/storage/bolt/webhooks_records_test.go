package bolt

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/aquascene/aquahub/internal/webhooks"
)

// Records as the webhooks package wrote them before it moved behind webhooks.Store: files
// holding them must read the same.
const (
	oldEndpointRecord = `{"id":"ep_00000000000000017f3a9c21","url":"https://partner.example/hook","events":["content.*"],` +
		`"headers":{"X-Team":"growth"},"description":"partner","enabled":false,"disabled_reason":"the receiver answered 410 Gone",` +
		`"failing_since":"2025-08-06T12:00:00Z","rotation_ends_at":"2025-08-07T12:00:00Z","created_at":"2025-08-01T09:00:00Z",` +
		`"updated_at":"2025-08-06T12:00:01Z","tenant":"aquascene","secret":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",` +
		`"previous_secret":"whsec_b2xkLXNlY3JldC1vbGQtc2VjcmV0LW9sZA=="}`
	oldDeliveryRecord = `{"id":"msg_0000000000000003deadbeef","endpoint_id":"ep_00000000000000017f3a9c21","event_type":"newsletter.sent",` +
		`"event_id":"ev-9","event_seq":9,"state":"pending","attempts":1,"next_attempt_at":"2025-08-06T12:00:05Z","last_error":"HTTP 500",` +
		`"created_at":"2025-08-06T12:00:00Z","updated_at":"2025-08-06T12:00:00.5Z","attempt_log":[{"n":1,"at":"2025-08-06T12:00:00Z",` +
		`"url":"https://partner.example/hook","status":500,"latency_ms":3.25,"response":"boom","error":"HTTP 500","trigger":"schedule"}],` +
		`"tenant":"aquascene","body":{"specversion":"1.0","id":"ev-9"},"round":1,"due_at":"2025-08-06T12:00:05Z","trigger":"replay"}`
)

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestDeliveryRecordsReadTheOldFormat(t *testing.T) {
	var dr deliveryRecord
	if err := json.Unmarshal([]byte(oldDeliveryRecord), &dr); err != nil {
		t.Fatal(err)
	}
	wantD := webhooks.Delivery{
		Tenant: "aquascene", ID: "msg_0000000000000003deadbeef", EndpointID: "ep_00000000000000017f3a9c21", EventType: "newsletter.sent",
		EventID: "ev-9", EventSeq: 9, State: webhooks.StatePending, Attempts: 1, NextAt: at("2025-08-06T12:00:05Z"), LastError: "HTTP 500",
		CreatedAt: at("2025-08-06T12:00:00Z"), UpdatedAt: at("2025-08-06T12:00:00.5Z"),
		Log:  []webhooks.Attempt{{N: 1, At: at("2025-08-06T12:00:00Z"), URL: "https://partner.example/hook", Status: 500, LatencyMS: 3.25, Response: "boom", Error: "HTTP 500", Trigger: "schedule"}},
		Body: []byte(`{"specversion":"1.0","id":"ev-9"}`), Round: 1, DueAt: at("2025-08-06T12:00:05Z"), Trigger: "replay",
	}
	got := dr.delivery()
	if string(got.Body) != string(wantD.Body) {
		t.Errorf("body = %s, want %s", got.Body, wantD.Body)
	}
	got.Body, wantD.Body = nil, nil
	if !reflect.DeepEqual(got, wantD) {
		t.Errorf("delivery = %+v\nwant %+v", got, wantD)
	}
	b, err := json.Marshal(toDeliveryRecord(dr.delivery()))
	if err != nil {
		t.Fatal(err)
	}
	var written, old map[string]any
	_ = json.Unmarshal(b, &written)
	_ = json.Unmarshal([]byte(oldDeliveryRecord), &old)
	if !reflect.DeepEqual(written, old) {
		t.Errorf("written:\n%s\nwant the old form:\n%s", b, oldDeliveryRecord)
	}
}
