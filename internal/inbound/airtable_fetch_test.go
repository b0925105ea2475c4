package inbound

import (
	"context"
	"errors"
	"net"
	"net/http"
	"testing"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/sdk/netguard"
)

// TestAirtableFetchDialGuard: a name that resolves to a refused address is stopped when
// dialing, not only when the URL is checked.
func TestAirtableFetchDialGuard(t *testing.T) {
	f, err := newAirtableFetcher(SourceConfig{Verifier: "airtable", BaseURL: "http://guard.test", Token: "x", BaseID: "appAquaSceneDev01", WebhookID: "achAquaSceneDev01"},
		IntakeDeps{Policy: netguard.Policy{AllowHTTP: true}})
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
