package inbound

import (
	"reflect"
	"testing"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/sdk/api"
)

func TestHookAccepted(t *testing.T) {
	tests := []struct {
		name string
		res  Result
		want api.HookAccepted
	}{
		{name: "one event", res: Result{Accepted: core.Accepted{ID: "e1", Source: "aquahub/hooks/s", Seq: 4, Runs: []string{"r1"}}},
			want: api.HookAccepted{Status: "accepted", Event: api.Accepted{ID: "e1", Source: "aquahub/hooks/s", Seq: 4, Runs: []string{"r1"}}}},
		{name: "a repeated message id", res: Result{Duplicate: true, Accepted: core.Accepted{ID: "e1", Source: "aquahub/hooks/s", Duplicate: true}},
			want: api.HookAccepted{Status: "duplicate", Event: api.Accepted{ID: "e1", Source: "aquahub/hooks/s", Duplicate: true}}},
		{name: "a batch", res: Result{Accepted: core.Accepted{ID: "b", Seq: 2}, Events: []core.Accepted{{ID: "a", Seq: 1}, {ID: "b", Seq: 2}}},
			want: api.HookAccepted{Status: "accepted", Event: api.Accepted{ID: "b", Seq: 2}, Events: []api.Accepted{{ID: "a", Seq: 1}, {ID: "b", Seq: 2}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := hookAccepted(tt.res); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("hookAccepted = %+v, want %+v", got, tt.want)
			}
		})
	}
}
