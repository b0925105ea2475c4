package core_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/aquascene/aquahub/core"
)

func TestDecodeEvent(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		field   string // expected FieldError path; "" means success
		message string
	}{
		{name: "minimal", in: `{"specversion":"1.0","id":"1","source":"s","type":"t"}`},
		{name: "with data and extension", in: `{"specversion":"1.0","id":"1","source":"s","type":"t","data":{"a":1},"traceparent":"00-x","partition":3}`},
		{name: "not an object", in: `[1,2]`, field: "", message: "must be a JSON object"},
		{name: "malformed JSON", in: `{"id":`, field: "", message: "malformed JSON"},
		{name: "id not a string", in: `{"specversion":"1.0","id":5,"source":"s","type":"t"}`, field: "id", message: "must be a string"},
		{name: "bad time", in: `{"specversion":"1.0","id":"1","source":"s","type":"t","time":"yesterday"}`, field: "time", message: "RFC 3339"},
		{name: "unknown attribute", in: `{"specversion":"1.0","id":"1","source":"s","type":"t","Tenant":"x"}`, field: "Tenant", message: "unknown attribute"},
		{name: "hub attribute", in: `{"specversion":"1.0","id":"1","source":"s","type":"t","aquahubtenant":"x"}`, field: "aquahubtenant", message: "set by the hub"},
		{name: "object extension", in: `{"specversion":"1.0","id":"1","source":"s","type":"t","ext":{"a":1}}`, field: "ext", message: "string, number or boolean"},
		{name: "data and data_base64", in: `{"specversion":"1.0","id":"1","source":"s","type":"t","data":1,"data_base64":"AA=="}`, field: "data_base64", message: "mutually exclusive"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := core.DecodeEvent([]byte(tc.in))
			if tc.message == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if err := ev.Validate(); err != nil {
					t.Fatalf("unexpected validation error: %v", err)
				}
				return
			}
			var fe *core.FieldError
			if !errors.As(err, &fe) || !errors.Is(err, core.ErrInvalid) {
				t.Fatalf("want a FieldError, got %v", err)
			}
			if fe.Path != tc.field || !strings.Contains(fe.Reason, tc.message) {
				t.Fatalf("got %q at %q; want %q at %q", fe.Reason, fe.Path, tc.message, tc.field)
			}
		})
	}
}

func TestValidateRequiredAttributes(t *testing.T) {
	tests := []struct {
		name, in, field string
	}{
		{"missing id", `{"specversion":"1.0","source":"s","type":"t"}`, "id"},
		{"missing source", `{"specversion":"1.0","id":"1","type":"t"}`, "source"},
		{"missing type", `{"specversion":"1.0","id":"1","source":"s"}`, "type"},
		{"missing specversion", `{"id":"1","source":"s","type":"t"}`, "specversion"},
		{"unsupported specversion", `{"specversion":"0.3","id":"1","source":"s","type":"t"}`, "specversion"},
		{"empty id", `{"specversion":"1.0","id":"","source":"s","type":"t"}`, "id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := core.DecodeEvent([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			var fe *core.FieldError
			if err := ev.Validate(); !errors.As(err, &fe) || fe.Path != tc.field {
				t.Fatalf("want error at %s, got %v", tc.field, err)
			}
		})
	}
}

func FuzzDecodeEvent(f *testing.F) {
	for _, s := range []string{
		`{"specversion":"1.0","id":"1","source":"s","type":"t"}`,
		`{"specversion":"1.0","id":"1","source":"s","type":"t","data":{"a":1},"ext":"x"}`,
		`{"specversion":"1.0","id":"1","source":"s","type":"t","data_base64":"AAEC"}`,
		`{"time":"2025-08-06T12:00:00Z"}`, `[]`, `{`, `null`, `{"id":null}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		ev, err := core.DecodeEvent(raw)
		if err != nil {
			if !errors.Is(err, core.ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		if ev.Validate() != nil {
			return
		}
		// A valid event survives its JSON form unchanged.
		raw2, err := json.Marshal(&ev)
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		back, err := core.DecodeEvent(raw2)
		if err != nil {
			t.Fatalf("decode again: %v", err)
		}
		if back.ID != ev.ID || back.Source != ev.Source || back.Type != ev.Type || string(back.Data) != string(ev.Data) && len(ev.Data) > 0 && json.Valid(ev.Data) {
			t.Fatalf("round trip changed the event: %+v vs %+v", ev, back)
		}
	})
}

func TestRetryDelay(t *testing.T) {
	p := core.RetryPolicy{Attempts: 8, Initial: 5_000_000_000, Max: 7_200_000_000_000, Backoff: "exponential"}
	tests := []struct {
		name    string
		next    int
		ceiling int64
	}{
		{"second attempt up to initial", 2, 5e9},
		{"third attempt up to twice", 3, 10e9},
		{"capped at max", 30, 7200e9},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for range 200 {
				d := p.Delay(tc.next, 0, nil)
				if d < 0 || int64(d) > tc.ceiling {
					t.Fatalf("delay %s outside [0, %d]", d, tc.ceiling)
				}
			}
		})
	}
	if d := p.Delay(2, 3_600_000_000_000, nil); d < 3_600_000_000_000 {
		t.Fatalf("retry_after is a floor, got %s", d)
	}
}
