package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	airtablesim "github.com/aquascene/aquahub/connectors/airtable/sim"
	"github.com/aquascene/aquahub/internal/inbound"
	"github.com/aquascene/aquahub/plugins"
)

// devSimulators is the devSetup that starts every vendor simulator on loopback (on its
// default port, or any free port when that one is taken) and configures the dev tenant's
// connectors against them: base URL in config, the simulator's key as the api_key secret,
// and an egress grant naming the simulator's loopback address and nothing else. A simulator
// that signs what it posts gets /hooks/{tenant}/{name} as its webhook and the source that
// verifies it (simInfo.source): SendGrid's Event Webhook with the simulator's public key,
// WooCommerce's product and order webhooks with their secret. The Airtable simulator gets a
// webhook on the dev base whose pings go to /hooks/{tenant}/airtable, a source that verifies
// them with the webhook's MAC secret and turns the fetched payloads into airtable.record.*
// events.
func devSimulators(ctx context.Context, cfg *Config, out io.Writer) (func(), error) {
	var stops []func()
	stopAll := func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	hubURL := "http://" + loopbackAddr(cfg.Server.Addr)
	sims := simulators()
	for _, name := range simNames() {
		sim := sims[name]
		o := simOptions{key: sim.defaultKey, rateLimit: devAirtableRate, penalty: rateLimitPenalty,
			eventWebhook: hubURL + "/hooks/" + DevTenant + "/" + name}
		url, info, stop, err := startSim(sim, sim.defaultAddr, o)
		if err != nil {
			url, info, stop, err = startSim(sim, "127.0.0.1:0", o)
		}
		if err != nil {
			stopAll()
			return nil, err
		}
		stops = append(stops, stop)
		var airtableSource *inbound.SourceConfig
		if name == "airtable" {
			src, err := registerAirtableWebhook(ctx, url, o.key, hubURL+"/hooks/"+DevTenant+"/airtable")
			if err != nil {
				stopAll()
				return nil, err
			}
			airtableSource = &src
		}
		for i := range cfg.Tenants {
			t := &cfg.Tenants[i]
			if t.ID != DevTenant {
				continue
			}
			if t.Connectors == nil {
				t.Connectors = map[string]plugins.TenantConfig{}
			}
			conn := sim.connector(url, o.key)
			if conn.Secrets == nil && len(info.secrets) > 0 {
				conn.Secrets = map[string]string{}
			}
			for k, v := range info.secrets {
				conn.Secrets[k] = v
			}
			t.Connectors[name] = conn
			if info.source != nil {
				if t.Sources == nil {
					t.Sources = map[string]inbound.SourceConfig{}
				}
				t.Sources[name] = *info.source
			}
			if airtableSource != nil {
				if t.Sources == nil {
					t.Sources = map[string]inbound.SourceConfig{}
				}
				t.Sources[name] = *airtableSource
			}
		}
		fmt.Fprintf(out, "  %-10s %s  (key %s)\n", name+":", url, o.key)
		if info.source != nil {
			fmt.Fprintf(out, "  %-10s signs what it posts to %s (verifier %s)\n", "", o.eventWebhook, info.source.Verifier)
		}
		if airtableSource != nil {
			fmt.Fprintf(out, "  %-10s webhook %s on %s pings %s/hooks/%s/airtable\n", "", airtableSource.WebhookID, devWebhookTable, hubURL, DevTenant)
		}
	}
	return stopAll, nil
}

// devWebhookTable is the table the dev sandbox's Airtable webhook watches. Watching the whole
// base would make every row the hub writes (Email_Events above all) cost a payload fetch
// against the simulator's 5 requests/s, which the connectors need.
const devWebhookTable = "Content_Master"

// registerAirtableWebhook creates a webhook on the Airtable simulator at api that watches
// devWebhookTable of the dev base (cell values of all fields, previous values of changed
// ones) and pings notify, and returns the inbound source that verifies those pings and
// fetches the payloads.
func registerAirtableWebhook(ctx context.Context, api, key, notify string) (inbound.SourceConfig, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var meta struct {
		Tables []struct{ ID, Name string } `json:"tables"`
	}
	if err := simCall(ctx, http.MethodGet, api+"/v0/meta/bases/"+airtablesim.DefaultBase+"/tables", key, nil, &meta); err != nil {
		return inbound.SourceConfig{}, fmt.Errorf("reading the Airtable simulator's tables: %w", err)
	}
	scope := ""
	for _, t := range meta.Tables {
		if t.Name == devWebhookTable {
			scope = t.ID
		}
	}
	if scope == "" {
		return inbound.SourceConfig{}, fmt.Errorf("the Airtable simulator's base has no %s table", devWebhookTable)
	}
	var created struct {
		ID              string `json:"id"`
		MacSecretBase64 string `json:"macSecretBase64"`
	}
	err := simCall(ctx, http.MethodPost, api+"/v0/bases/"+airtablesim.DefaultBase+"/webhooks", key, map[string]any{
		"notificationUrl": notify,
		"specification": map[string]any{"options": map[string]any{
			"filters":  map[string]any{"dataTypes": []string{"tableData"}, "recordChangeScope": scope},
			"includes": map[string]any{"includeCellValuesInFieldIds": "all", "includePreviousCellValues": true},
		}},
	}, &created)
	if err != nil {
		return inbound.SourceConfig{}, fmt.Errorf("creating the Airtable simulator's webhook: %w", err)
	}
	return inbound.SourceConfig{
		Verifier: "airtable", Secret: created.MacSecretBase64,
		BaseURL: api, Token: key, BaseID: airtablesim.DefaultBase, WebhookID: created.ID,
	}, nil
}

// simCall sends a Bearer-authenticated JSON request to a simulator and decodes a 200 answer.
func simCall(ctx context.Context, method, url, key string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
		return fmt.Errorf("%s %s: %s: %s", method, url, resp.Status, b)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(out)
}

// devAirtableRate is the dev simulator's per-base limit. Airtable allows 5 requests/s per
// base to one client; in the sandbox three clients share the one base (the connector, which
// the host holds to 5/s, the hub's webhook payload fetcher, and a person with curl), so the
// simulator allows each of them Airtable's rate. `aquahub sim airtable` keeps 5/s.
const devAirtableRate = 15

// rateLimitPenalty is Airtable's wait after a 429, kept in the dev sandbox.
const rateLimitPenalty = 30 * time.Second

// loopbackAddr turns a listen address such as ":8080" into one a client can dial.
func loopbackAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return host + ":" + port
}
