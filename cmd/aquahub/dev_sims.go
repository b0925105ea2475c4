package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/aquascene/aquahub/core/config"
)

// devSimulators is the devSetup that starts every vendor simulator on loopback (on its
// default port, or any free port when that one is taken) and configures the dev tenant's
// connectors against them: base URL in config, the simulator's key as the api_key secret,
// and an egress grant naming the simulator's loopback address and nothing else. The SendGrid
// simulator posts its signed Event Webhook to the hub's /hooks/{tenant}/sendgrid, which is
// configured with the simulator's public key.
func devSimulators(_ context.Context, cfg *config.Config, out io.Writer) (func(), error) {
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
		o := simOptions{key: sim.defaultKey, rateLimit: 5, penalty: rateLimitPenalty}
		if name == "sendgrid" {
			o.eventWebhook = hubURL + "/hooks/" + DevTenant + "/sendgrid"
		}
		url, info, stop, err := startSim(sim, sim.defaultAddr, o)
		if err != nil {
			url, info, stop, err = startSim(sim, "127.0.0.1:0", o)
		}
		if err != nil {
			stopAll()
			return nil, err
		}
		stops = append(stops, stop)
		for i := range cfg.Tenants {
			t := &cfg.Tenants[i]
			if t.ID != DevTenant {
				continue
			}
			if t.Connectors == nil {
				t.Connectors = map[string]config.TenantConnector{}
			}
			t.Connectors[name] = sim.connector(url, o.key)
			if info.publicKey != "" {
				if t.Sources == nil {
					t.Sources = map[string]config.Source{}
				}
				t.Sources[name] = config.Source{Verifier: "sendgrid", Secret: info.publicKey}
			}
		}
		fmt.Fprintf(out, "  %-10s %s  (key %s)\n", name+":", url, o.key)
	}
	return stopAll, nil
}

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
