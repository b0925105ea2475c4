package webhooks_test

import (
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/sdk/api"
	"github.com/aquascene/aquahub/sdk/client"
)

// TestGoClientAgainstTheRoutes drives every webhook method of sdk/client against the module
// served over a loopback listener: the client and the server share the sdk/api types, and
// this checks they also agree on paths, methods and statuses.
func TestGoClientAgainstTheRoutes(t *testing.T) {
	rig := newRouteRig(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go rig.srv.Serve(ln)
	t.Cleanup(func() { rig.srv.Shutdown(t.Context()) })
	c := client.New("http://"+ln.Addr().String(), "dev-key")
	ctx := t.Context()
	rc := newReceiver(t, status(http.StatusGone))

	created, err := c.CreateWebhook(ctx, api.WebhookEndpointInput{URL: rc.URL + "/in", Events: []string{"*"}, Description: "partner"})
	if err != nil || !strings.HasPrefix(created.Secret, "whsec_") || created.Status != "registered" || created.WebhookID != created.ID {
		t.Fatalf("CreateWebhook = %+v, %v", created, err)
	}
	if eps, err := c.Webhooks(ctx); err != nil || len(eps) != 1 || eps[0].ID != created.ID || eps[0].Description != "partner" {
		t.Fatalf("Webhooks = %+v, %v", eps, err)
	}
	off := false
	if ep, err := c.UpdateWebhook(ctx, created.ID, api.WebhookEndpointInput{URL: rc.URL + "/v2", Events: []string{"content.*"}, Enabled: &off}); err != nil || ep.URL != rc.URL+"/v2" || ep.Enabled {
		t.Fatalf("UpdateWebhook = %+v, %v", ep, err)
	}
	if _, err := c.UpdateWebhook(ctx, created.ID, api.WebhookEndpointInput{URL: rc.URL, Events: []string{"*"}}); err != nil {
		t.Fatal(err)
	}
	rotated, err := c.RotateWebhookSecret(ctx, created.ID, "")
	if err != nil || rotated.Secret == created.Secret || rotated.Status != "rotating" || rotated.RotationEndsAt.IsZero() {
		t.Fatalf("RotateWebhookSecret = %+v, %v", rotated, err)
	}
	// One message, answered 410: dead, and the endpoint disabled.
	if _, err := rig.mod.Send(ctx, "aquascene", created.ID, testEvent(), "k1"); err != nil {
		t.Fatal(err)
	}
	if _, err := rig.mod.DeliverDue(ctx); err != nil {
		t.Fatal(err)
	}
	ds, err := c.WebhookDeliveries(ctx, created.ID, client.WebhookDeliveryFilter{State: "dead", Limit: 5})
	if err != nil || len(ds) != 1 || ds[0].Log[0].Status != 410 {
		t.Fatalf("WebhookDeliveries = %+v, %v", ds, err)
	}
	if d, err := c.WebhookDelivery(ctx, created.ID, ds[0].ID); err != nil || d.ID != ds[0].ID || d.State != "dead" {
		t.Fatalf("WebhookDelivery = %+v, %v", d, err)
	}
	var problem *client.Error
	if _, err := c.ReplayWebhookDelivery(ctx, created.ID, ds[0].ID); !errors.As(err, &problem) || problem.Status != 409 {
		t.Fatalf("replay to a disabled endpoint = %v, want 409", err)
	}
	if _, err := c.UpdateWebhook(ctx, created.ID, api.WebhookEndpointInput{URL: rc.URL, Events: []string{"*"}}); err != nil {
		t.Fatal(err) // enabling clears the disabled state
	}
	if d, err := c.ReplayWebhookDelivery(ctx, created.ID, ds[0].ID); err != nil || d.State != "pending" {
		t.Fatalf("ReplayWebhookDelivery = %+v, %v", d, err)
	}
	if n, err := c.RecoverWebhook(ctx, created.ID, time.Now().Add(-time.Hour)); err != nil || n != 0 {
		t.Fatalf("RecoverWebhook = %d, %v (the only dead message was replayed)", n, err)
	}
	if err := c.DeleteWebhook(ctx, created.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Webhook(ctx, created.ID); !client.IsNotFound(err) {
		t.Fatalf("Webhook after delete = %v, want not found", err)
	}
}

func testEvent() core.Event {
	return core.Event{ID: "e1", Source: "test", Type: "newsletter.sent", SpecVersion: "1.0"}
}
