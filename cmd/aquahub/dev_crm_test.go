package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/aquascene/aquahub/sdk/client"
)

// simCredentials are the dev sandbox's simulator credentials, as a person with curl uses them.
var simCredentials = map[string]func(*http.Request){
	"salesforce": func(r *http.Request) {
		r.Header.Set("Authorization", "Bearer AQUAHUBDEVSIMULATORCONSUMERSECRET0000000000000000000000000000000000")
	},
	"hubspot":  func(r *http.Request) { r.Header.Set("Authorization", "Bearer pat-na1-aquahub-dev-simulator") },
	"sendgrid": func(r *http.Request) { r.Header.Set("Authorization", "Bearer SG.aquahub-dev.simulator") },
	"woocommerce": func(r *http.Request) {
		r.SetBasicAuth("ck_aquahubdev0000000000000000000000000000", "cs_aquahubdev0000000000000000000000000000")
	},
}

// simDo sends a request to a dev simulator with its credentials and decodes the answer into
// out (when not nil); any status but want fails the test.
func (d *devSandbox) simDo(t *testing.T, sim, method, path string, body any, want int, out any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, d.sims[sim]+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	simCredentials[sim](req)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s %s: %d %s", sim, method, path, resp.StatusCode, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: %v in %s", sim, path, err, raw)
		}
	}
}

// runOf waits for the run of rule that event id started to succeed and returns it with its
// steps.
func (d *devSandbox) runOf(t *testing.T, rule, eventID string) client.Run {
	t.Helper()
	var run client.Run
	eventually(t, rule+" run of "+eventID, func() string {
		runs, err := d.hub.Runs(context.Background(), client.RunFilter{Rule: rule, Event: eventID})
		if err != nil || len(runs) != 1 || runs[0].Status != "succeeded" {
			return fmt.Sprintf("runs %+v %v", runs, err)
		}
		run, err = d.hub.Run(context.Background(), runs[0].ID)
		if err != nil {
			return err.Error()
		}
		return ""
	})
	return run
}

// stepOutput decodes the output of step id of run.
func stepOutput(t *testing.T, run client.Run, id string) map[string]any {
	t.Helper()
	for _, s := range run.Steps {
		if s.ID == id && s.Status == "succeeded" {
			var out map[string]any
			if err := json.Unmarshal(s.Output, &out); err != nil {
				t.Fatalf("step %s output %s: %v", id, s.Output, err)
			}
			return out
		}
	}
	t.Fatalf("run %s has no succeeded step %s: %+v", run.ID, id, run.Steps)
	return nil
}

// devCRMAndShopFlows runs the seed's Salesforce, HubSpot and WooCommerce flows through a
// running sandbox in which TestDevSandboxSeedFlows has synced subscriber reader1 and sent
// the SendGrid newsletter.
func devCRMAndShopFlows(t *testing.T, d *devSandbox) {
	for _, name := range []string{"salesforce", "hubspot", "woocommerce"} {
		if d.sims[name] == "" {
			t.Fatalf("aquahub dev did not print the %s simulator's address", name)
		}
	}
	ctx := context.Background()

	// Subscriber sync: reader1 is a Salesforce contact, upserted by Email__c through the
	// JWT bearer login, and a HubSpot contact.
	d.runOf(t, "salesforce-subscriber-sync", "subscriber-reader1-2025-08-06")
	d.runOf(t, "hubspot-subscriber-sync", "subscriber-reader1-2025-08-06")
	var contacts []map[string]any
	d.simDo(t, "salesforce", "GET", "/_sim/records/Contact", nil, 200, &contacts)
	if !slices.ContainsFunc(contacts, func(c map[string]any) bool {
		return c["Email__c"] == "reader1@example.com" && c["LeadSource"] == "AquaScene Newsletter" && c["LastName"] == "Subscriber"
	}) {
		t.Fatalf("no Salesforce contact for reader1: %v", contacts)
	}
	var hsContacts []struct {
		ID         string            `json:"id"`
		Properties map[string]string `json:"properties"`
	}
	d.simDo(t, "hubspot", "GET", "/_sim/objects/contacts", nil, 200, &hsContacts)
	reader1 := ""
	for _, c := range hsContacts {
		if c.Properties["email"] == "reader1@example.com" && c.Properties["lifecyclestage"] == "subscriber" {
			reader1 = c.ID
		}
	}
	if reader1 == "" {
		t.Fatalf("no HubSpot contact for reader1: %+v", hsContacts)
	}

	// Engagement: reader1 opens the SendGrid newsletter; the signed Event Webhook makes an
	// email.opened event, its engagement announcement a content_engagement event in HubSpot.
	var msgs []struct {
		ID         string   `json:"id"`
		Recipients []string `json:"recipients"`
	}
	d.simDo(t, "sendgrid", "GET", "/_sim/messages", nil, 200, &msgs)
	msgID := ""
	for _, m := range msgs {
		if slices.Contains(m.Recipients, "reader1@example.com") {
			msgID = m.ID
		}
	}
	if msgID == "" {
		t.Fatalf("no SendGrid message to reader1: %+v", msgs)
	}
	d.simDo(t, "sendgrid", "POST", "/_sim/events", map[string]string{"message_id": msgID, "event": "open", "email": "reader1@example.com"}, 200, nil)
	eventually(t, "content_engagement sent to HubSpot", func() string {
		var occ []struct {
			EventName  string         `json:"eventName"`
			ObjectID   string         `json:"objectId"`
			Properties map[string]any `json:"properties"`
		}
		d.simDo(t, "hubspot", "GET", "/_sim/events", nil, 200, &occ)
		for _, o := range occ {
			if o.ObjectID == reader1 && strings.HasSuffix(o.EventName, "_content_engagement") && o.Properties["engagement_type"] == "open" {
				return ""
			}
		}
		return fmt.Sprintf("occurrences %+v", occ)
	})

	// Customer insights from Salesforce, announced for the content rules.
	d.send(t, "customer-insights-requested.json")
	run := d.runOf(t, "salesforce-customer-insights", "insights-maria-2025-08-06")
	if out := stepOutput(t, run, "insights"); fmt.Sprint(out["count"]) != "1" {
		t.Fatalf("insights %v", out)
	}
	stepOutput(t, run, "ready")

	// Lead score: Maria is advanced in HubSpot, so her article is written for advanced readers.
	d.send(t, "content-personalization-requested.json")
	run = d.runOf(t, "hubspot-personalised-content", "personalized-maria-dutch-2025-08-06")
	if got, err := d.hub.Content(ctx, fmt.Sprint(stepOutput(t, run, "draft")["content_id"])); err != nil || got.Request.Audience != "advanced" {
		t.Fatalf("personalised content %+v: %v", got.Request, err)
	}

	// Salesforce's Sforce-Limit-Info usage is in the hub's metrics.
	eventually(t, "Salesforce quota metric", func() string {
		resp, err := http.Get(d.hub.BaseURL + "/metrics")
		if err != nil {
			return err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		m := regexp.MustCompile(`aquahub_connector_quota_used\{connector="salesforce",quota="api_requests",tenant="aquascene"\} (\d+)`).FindSubmatch(b)
		if m == nil {
			return "no aquahub_connector_quota_used for salesforce"
		}
		if n, _ := strconv.Atoi(string(m[1])); n < 2 {
			return "quota used " + string(m[1])
		}
		return ""
	})

	// WooCommerce: a webhook created through the store's API pings the hub, which answers
	// the 200 the store wants.
	d.simDo(t, "woocommerce", "POST", "/wp-json/wc/v3/webhooks", map[string]string{"name": "orders to aquahub",
		"topic": "order.updated", "delivery_url": d.hub.BaseURL + "/hooks/aquascene/woocommerce", "secret": "wc-webhook-aquahub-dev"}, 201, nil)
	type delivery struct {
		Ping   bool   `json:"ping"`
		Topic  string `json:"topic"`
		Status int    `json:"status"`
		Error  string `json:"error"`
	}
	var deliveries []delivery
	d.simDo(t, "woocommerce", "GET", "/_sim/deliveries", nil, 200, &deliveries)
	if !slices.ContainsFunc(deliveries, func(x delivery) bool { return x.Ping && x.Status == 200 && x.Error == "" }) {
		t.Fatalf("the ping was not answered 200: %+v", deliveries)
	}

	// A product with no description gets a review written back: the product.updated
	// webhook, verified by the hub, starts the rule; the review states the shop's price and
	// stock and links the product.
	d.simDo(t, "woocommerce", "PUT", "/wp-json/wc/v3/products/703", map[string]string{"short_description": "<p>RGB LED for 60 cm tanks</p>"}, 200, nil)
	eventually(t, "review written to product 703", func() string {
		var p struct {
			Description string `json:"description"`
			MetaData    []struct {
				Key   string `json:"key"`
				Value any    `json:"value"`
			} `json:"meta_data"`
		}
		d.simDo(t, "woocommerce", "GET", "/wp-json/wc/v3/products/703", nil, 200, &p)
		if len(p.Description) < 500 || !strings.Contains(p.Description, "sells for 219.00") || !strings.Contains(p.Description, "/product/chihiros-wrgb-ii-60/") {
			return fmt.Sprintf("description %q", p.Description)
		}
		for _, m := range p.MetaData {
			if m.Key == "_aquahub_review_content_id" && strings.HasPrefix(fmt.Sprint(m.Value), "gen-") {
				return ""
			}
		}
		return fmt.Sprintf("meta %+v", p.MetaData)
	})

	// An order placed in the store reaches the hub as woocommerce.order.created.
	d.simDo(t, "woocommerce", "POST", "/wp-json/wc/v3/orders", map[string]any{"billing": map[string]string{"email": "reader1@example.com"},
		"line_items": []map[string]any{{"product_id": 703, "quantity": 1}}}, 201, nil)
	eventually(t, "order.created delivered", func() string {
		d.simDo(t, "woocommerce", "GET", "/_sim/deliveries", nil, 200, &deliveries)
		for _, dl := range deliveries {
			if dl.Topic == "order.created" && !dl.Ping {
				if dl.Status != http.StatusAccepted {
					return fmt.Sprintf("order.created delivery answered %d %s", dl.Status, dl.Error)
				}
				return ""
			}
		}
		return fmt.Sprintf("deliveries %+v", deliveries)
	})
}
