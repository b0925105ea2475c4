package bolt

import (
	"encoding/json"
	"testing"

	"github.com/aquascene/aquahub/core"
)

func TestEventRoundTrip(t *testing.T) {
	in := `{"specversion":"1.0","id":"1","source":"s","type":"t","subject":"x","time":"2025-08-06T12:00:00Z","data":{"a":[1,2]},"partition":3,"traceparent":"00-ab"}`
	ev, err := core.DecodeEvent([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	ev.Tenant, ev.Seq = "acme", 7
	stored, err := encodeEvent(&ev)
	if err != nil {
		t.Fatal(err)
	}
	back, err := decodeEvent(stored)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(ev)
	b, _ := json.Marshal(back)
	if string(a) != string(b) || back.Tenant != "acme" || back.Seq != 7 {
		t.Fatalf("round trip changed the event:\n%s\n%s", a, b)
	}
}
