package bolt

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aquascene/aquahub/core"
)

func TestEventRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{"every attribute", `{"specversion":"1.0","id":"1","source":"s","type":"t","subject":"x","time":"2025-08-06T12:00:00+02:00","datacontenttype":"application/json","dataschema":"https://x/s","data":{"a":[1,2],"html":"<p>&</p>"},"partition":3,"traceparent":"00-ab"}`},
		{"required only", `{"specversion":"1.0","id":"1","source":"s","type":"t"}`},
		{"indented data", "{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"s\",\"type\":\"t\",\"data\": {\n  \"a\": 1\n}}"},
		{"binary data", `{"specversion":"1.0","id":"1","source":"s","type":"t","data_base64":"AAEC"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := core.DecodeEvent([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			ev.Tenant, ev.Seq, ev.ReceivedAt = "acme", 7, time.Date(2025, 8, 6, 10, 0, 0, 123, time.UTC)
			stored, err := encodeEvent(&ev)
			if err != nil {
				t.Fatal(err)
			}
			back, live, err := decodeEvent(be64(7), stored)
			if err != nil || !live {
				t.Fatalf("decode: live %v, %v", live, err)
			}
			a, _ := json.Marshal(ev)
			b, _ := json.Marshal(back)
			if string(a) != string(b) || back.Tenant != "acme" || back.Seq != 7 || !back.ReceivedAt.Equal(ev.ReceivedAt) {
				t.Fatalf("round trip changed the event:\n%s\n%s", a, b)
			}
			if strings.Contains(string(stored), `\u003c`) {
				t.Errorf("the stored data escapes HTML: %q", stored)
			}
		})
	}
}

func TestTombstoneKeepsWhatFindsTheDedupKey(t *testing.T) {
	ev := core.Event{ID: "e1", Source: "app", Type: "t", SpecVersion: "1.0", Tenant: "acme", ReceivedAt: time.Unix(100, 5).UTC(), Data: json.RawMessage(`{"big":true}`)}
	back, live, err := decodeEvent(be64(9), encodeTombstone(&ev))
	if err != nil || live {
		t.Fatalf("decode tombstone: live %v, %v", live, err)
	}
	if back.ID != "e1" || back.Source != "app" || back.Tenant != "acme" || back.Seq != 9 || !back.ReceivedAt.Equal(ev.ReceivedAt) || back.Data != nil {
		t.Fatalf("tombstone reads back as %+v", back)
	}
}

func TestRunRoundTrip(t *testing.T) {
	created := time.Date(2025, 8, 6, 12, 0, 0, 1, time.UTC)
	tests := []struct {
		name string
		run  core.Run
	}{
		{"queued", core.Run{ID: newRunID(), Tenant: "acme", RuleID: "r", Status: core.RunQueued, EventSeq: 3, EventID: "e", EventSource: "s", EventType: "t",
			Lane: "connector:http", CreatedAt: created, UpdatedAt: created, NextAt: created}},
		{"dead with an error", core.Run{ID: "run_legacy", Tenant: "acme", RuleID: "r", Status: core.RunDead, EventSeq: 1 << 40, Attempts: 8,
			LastError: "boom", ErrorClass: "permanent", CreatedAt: created, UpdatedAt: created.Add(time.Hour), NextAt: created.Add(-time.Second), FinishedAt: created.Add(time.Hour)}},
		{"a status this version does not know", core.Run{ID: newRunID(), Tenant: "acme", Status: "paused", CreatedAt: created, UpdatedAt: created}},
		{"succeeded, its lane dropped", core.Run{ID: newRunID(), Tenant: "acme", RuleID: "r", Status: core.RunSucceeded, Attempts: 1,
			Lane: "connector:http", CreatedAt: created, UpdatedAt: created.Add(time.Millisecond), FinishedAt: created.Add(time.Millisecond)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k := key(tc.run.Tenant, tc.run.ID)
			back, err := decodeRun(k, encodeRun(&tc.run))
			if err != nil {
				t.Fatal(err)
			}
			// The event's attributes come from the event (readRun); a finished run has no lane.
			want := tc.run
			want.EventID, want.EventSource, want.EventType = "", "", ""
			if want.Status == core.RunSucceeded {
				want.Lane = ""
			}
			if !reflect.DeepEqual(back, want) {
				t.Fatalf("round trip changed the run:\n%+v\n%+v", want, back)
			}
		})
	}
}

func TestStepRoundTrip(t *testing.T) {
	start := time.Date(2025, 8, 6, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		step core.StepRecord
	}{
		{"succeeded with output", core.StepRecord{StepID: "send", Kind: "connector", Status: core.StepSucceeded, Attempts: 1,
			Output: json.RawMessage(`{"status":202}`), StartedAt: start, FinishedAt: start.Add(1500 * time.Microsecond), DurationMS: 1.5}},
		{"failed without output", core.StepRecord{StepID: "x", Kind: "log", Status: core.StepFailed, Attempts: 3, Error: "no", ErrorClass: "transient",
			StartedAt: start, FinishedAt: start, DurationMS: 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k := key("acme", "run_1", tc.step.StepID)
			back, err := decodeStep(k, encodeStep(&tc.step))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back, tc.step) {
				t.Fatalf("round trip changed the step:\n%+v\n%+v", tc.step, back)
			}
		})
	}
}

func TestDedupRoundTrip(t *testing.T) {
	a := core.Accepted{ID: "e1", Source: "app/x", Seq: 42, Runs: []string{newRunID(), "run_not-a-uuid", newRunID()}}
	k := key("acme", a.ID, a.Source)
	back, err := decodeDedup(k, encodeDedup(a))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.accepted(), a) {
		t.Fatalf("round trip changed the dedup record:\n%+v\n%+v", a, back.accepted())
	}
}

// TestVersion2RecordsStillRead: records written as JSON by format version 2 decode to the
// same domain values.
func TestVersion2RecordsStillRead(t *testing.T) {
	at := time.Date(2025, 8, 6, 12, 0, 0, 0, time.UTC)
	ev, _, err := decodeEvent(be64(5), []byte(`{"event":{"id":"e1","source":"s","type":"t","specversion":"1.0","data":{"n":1}},"tenant":"acme","seq":5,"received_at":"2025-08-06T12:00:00Z"}`))
	if err != nil || ev.ID != "e1" || ev.Tenant != "acme" || ev.Seq != 5 || string(ev.Data) != `{"n":1}` || !ev.ReceivedAt.Equal(at) {
		t.Fatalf("event: %+v %v", ev, err)
	}
	run, err := decodeRun(key("acme", "run_1"), []byte(`{"id":"run_1","tenant":"acme","rule":"r","status":"succeeded","event_seq":5,"event_id":"e1","event_source":"s","event_type":"t","attempts":1,"created_at":"2025-08-06T12:00:00Z","updated_at":"2025-08-06T12:00:00Z","finished_at":"2025-08-06T12:00:00Z"}`))
	if err != nil || run.ID != "run_1" || run.Status != core.RunSucceeded || !run.FinishedAt.Equal(at) {
		t.Fatalf("run: %+v %v", run, err)
	}
	step, err := decodeStep(key("acme", "run_1", "a"), []byte(`{"id":"a","kind":"log","status":"succeeded","attempts":1,"output":{"ok":true},"started_at":"2025-08-06T12:00:00Z","finished_at":"2025-08-06T12:00:00Z","duration_ms":0.5}`))
	if err != nil || step.StepID != "a" || string(step.Output) != `{"ok":true}` || step.DurationMS != 0.5 {
		t.Fatalf("step: %+v %v", step, err)
	}
	acc, err := decodeDedup(key("acme", "e1", "s"), []byte(`{"id":"e1","source":"s","seq":5,"runs":["run_1"]}`))
	if err != nil || acc.Seq != 5 || len(acc.Runs) != 1 {
		t.Fatalf("dedup: %+v %v", acc, err)
	}
}

func TestMalformedRecordsAreErrors(t *testing.T) {
	run := core.Run{ID: newRunID(), Tenant: "acme", RuleID: "rule", Status: core.RunQueued, CreatedAt: time.Now()}
	good := encodeRun(&run)
	tests := []struct {
		name string
		v    []byte
	}{
		{"empty", nil},
		{"unknown tag", []byte{0x7f, 1, 2}},
		{"truncated", good[:len(good)/2]},
		{"trailing bytes", append(append([]byte(nil), good...), 9, 9)},
		{"string longer than the record", []byte{tagBinary, 0x7f}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := decodeRun(key("acme", run.ID), tc.v); err == nil {
				t.Fatalf("decodeRun(%x) succeeded", tc.v)
			}
		})
	}
}

// FuzzDecodeRecords: no byte string makes a record decoder panic.
func FuzzDecodeRecords(f *testing.F) {
	ev := core.Event{ID: "e", Source: "s", Type: "t", SpecVersion: "1.0", Tenant: "acme", Data: json.RawMessage(`{}`)}
	b, _ := encodeEvent(&ev)
	f.Add(b)
	f.Add(encodeTombstone(&ev))
	f.Add(encodeRun(&core.Run{ID: newRunID(), Tenant: "acme", Status: core.RunDead}))
	f.Add(encodeStep(&core.StepRecord{StepID: "s", Status: core.StepSucceeded, Output: json.RawMessage(`{}`)}))
	f.Add(encodeDedup(core.Accepted{Seq: 1, Runs: []string{newRunID()}}))
	f.Fuzz(func(t *testing.T, v []byte) {
		_, _, _ = decodeEvent(be64(1), v)
		_, _ = decodeRun(key("acme", "run_1"), v)
		_, _ = decodeStep(key("acme", "run_1", "s"), v)
		_, _ = decodeDedup(key("acme", "e", "s"), v)
	})
}
