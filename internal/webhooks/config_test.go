package webhooks

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aquascene/aquahub/core"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name  string
		apply func(*Config)
		field string
	}{
		{name: "defaults", apply: func(*Config) {}},
		{name: "timeout too short", apply: func(c *Config) { c.Timeout = time.Millisecond }, field: "timeout"},
		{name: "timeout too long", apply: func(c *Config) { c.Timeout = time.Hour }, field: "timeout"},
		{name: "empty schedule", apply: func(c *Config) { c.Schedule = nil }, field: "schedule"},
		{name: "negative delay", apply: func(c *Config) { c.Schedule = []time.Duration{0, -time.Second} }, field: "schedule[1]"},
		{name: "delay over a week", apply: func(c *Config) { c.Schedule = []time.Duration{200 * time.Hour} }, field: "schedule[0]"},
		{name: "disable too soon", apply: func(c *Config) { c.DisableAfter = time.Second }, field: "disable_after"},
		{name: "overlap negative", apply: func(c *Config) { c.RotationOverlap = -time.Hour }, field: "rotation_overlap"},
		{name: "no workers", apply: func(c *Config) { c.Workers = 0 }, field: "workers"},
		{name: "too many workers", apply: func(c *Config) { c.Workers = 5000 }, field: "workers"},
		{name: "no endpoint concurrency", apply: func(c *Config) { c.EndpointConcurrency = -1 }, field: "endpoint_concurrency"},
		{name: "endpoint concurrency too high", apply: func(c *Config) { c.EndpointConcurrency = 1000 }, field: "endpoint_concurrency"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.apply(&c)
			err := c.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate = %v", err)
				}
				return
			}
			var fe *core.FieldError
			if !errors.As(err, &fe) || fe.Path != tt.field {
				t.Fatalf("Validate = %v, want an error on %q", err, tt.field)
			}
		})
	}
}

// TestNewFillsDefaultsFromDefaultConfig: the module's defaults are DefaultConfig's, written
// nowhere else.
func TestNewFillsDefaultsFromDefaultConfig(t *testing.T) {
	m, err := New(Config{AllowHTTP: true}, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultConfig()
	want.AllowHTTP = true
	if !reflect.DeepEqual(m.cfg, want) {
		t.Fatalf("filled config = %+v\nwant %+v", m.cfg, want)
	}
	if m.lease != 2*want.Timeout+leaseMargin {
		t.Fatalf("lease = %s, want twice the timeout + %s", m.lease, leaseMargin)
	}
	if _, err := New(Config{Schedule: []time.Duration{-time.Second}}, Deps{}); err == nil || !strings.Contains(err.Error(), "schedule[0]") {
		t.Fatalf("New with a negative delay = %v, want an error naming schedule[0]", err)
	}
	if _, err := New(Config{Circuit: core.BreakerConfig{FailureRatio: 2}}, Deps{}); err == nil || !strings.Contains(err.Error(), "circuit: failure_ratio") {
		t.Fatalf("New with a bad breaker ratio = %v, want an error naming circuit: failure_ratio", err)
	}
}
