package plugin_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/aquascene/aquahub/sdk/abi"
	"github.com/aquascene/aquahub/sdk/plugin"
)

type usageIn struct {
	Used int64 `json:"used"`
	Fail bool  `json:"fail,omitempty"`
}

// TestReportUsage: the last report of each quota in one invoke goes back with the response,
// from failed items too (a rate-limit answer says the quota is spent).
func TestReportUsage(t *testing.T) {
	c := &plugin.Connector{ID: "x", Version: "1", Actions: []plugin.Handler{
		plugin.Action[usageIn, struct{}]{Name: "call", Handle: func(ctx context.Context, in usageIn) (struct{}, error) {
			plugin.ReportUsage(ctx, "api_requests", in.Used, 15000)
			if in.Fail {
				plugin.ReportUsage(ctx, "concurrent", 25, 25)
				return struct{}{}, plugin.RateLimited(0, errors.New("limit"))
			}
			return struct{}{}, nil
		}},
	}}
	tests := []struct {
		name   string
		inputs []string
		want   []abi.Usage
	}{
		{"one call", []string{`{"used":18}`}, []abi.Usage{{Quota: "api_requests", Used: 18, Limit: 15000}}},
		{"the last report wins", []string{`{"used":18}`, `{"used":19}`}, []abi.Usage{{Quota: "api_requests", Used: 19, Limit: 15000}}},
		{"a failed item reports too", []string{`{"used":20,"fail":true}`}, []abi.Usage{{Quota: "api_requests", Used: 20, Limit: 15000}, {Quota: "concurrent", Used: 25, Limit: 25}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := &abi.InvokeRequest{Action: "call"}
			for _, in := range tt.inputs {
				req.Inputs = append(req.Inputs, json.RawMessage(in))
			}
			resp := c.Invoke(context.Background(), nil, req)
			if !reflect.DeepEqual(resp.Usage, tt.want) {
				t.Fatalf("usage %+v, want %+v", resp.Usage, tt.want)
			}
		})
	}
	// Outside an invoke there is nowhere to report to, and nothing breaks.
	plugin.ReportUsage(context.Background(), "api_requests", 1, 2)
}
