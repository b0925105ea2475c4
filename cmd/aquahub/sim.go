package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	airtablesim "github.com/aquascene/aquahub/connectors/airtable/sim"
	ga4sim "github.com/aquascene/aquahub/connectors/ga4/sim"
	hubspotsim "github.com/aquascene/aquahub/connectors/hubspot/sim"
	instagramsim "github.com/aquascene/aquahub/connectors/instagram/sim"
	mailchimpsim "github.com/aquascene/aquahub/connectors/mailchimp/sim"
	partnersim "github.com/aquascene/aquahub/connectors/partner/sim"
	salesforcesim "github.com/aquascene/aquahub/connectors/salesforce/sim"
	sendgridsim "github.com/aquascene/aquahub/connectors/sendgrid/sim"
	"github.com/aquascene/aquahub/connectors/simkit"
	woocommercesim "github.com/aquascene/aquahub/connectors/woocommerce/sim"
	"github.com/aquascene/aquahub/internal/inbound"
	"github.com/aquascene/aquahub/plugins"
	"github.com/spf13/cobra"
)

// simOptions are what the `sim` flags and `aquahub dev` pass to a simulator constructor.
type simOptions struct {
	key    string
	faults simkit.Faults
	// rateLimit and penalty configure Airtable's per-base limit (requests per second; 0 off).
	rateLimit int
	penalty   time.Duration
	// eventWebhook is where a simulator posts what it signs: SendGrid's Event Webhook
	// batches, WooCommerce's product and order webhooks.
	eventWebhook string
}

// simInfo describes a running simulator.
type simInfo struct {
	handler http.Handler
	// notes are extra lines printed after the address (public keys, default ids).
	notes []string
	// source, when set, is the hub's inbound source for what the simulator posts to
	// eventWebhook, verified with the simulator's key or secret.
	source *inbound.SourceConfig
	// secrets are credentials the simulator made when it started (the Salesforce connected
	// app's private key), added to the connector's secrets.
	secrets map[string]string
}

// simulator is one vendor simulator the CLI can run.
type simulator struct {
	name        string
	defaultAddr string
	defaultKey  string
	build       func(o simOptions) simInfo
	// connector returns the tenant connector settings pointing the connector at a simulator
	// listening at baseURL with key.
	connector func(baseURL, key string) plugins.TenantConfig
	// curl shows how to call the simulator by hand.
	curl func(baseURL, key string) string
}

// simulators lists the vendor simulators by name.
func simulators() map[string]simulator {
	return map[string]simulator{
		"airtable": {
			name: "airtable", defaultAddr: airtablesim.DefaultAddr, defaultKey: airtablesim.DefaultKey,
			build: func(o simOptions) simInfo {
				s := airtablesim.New(airtablesim.WithKey(o.key), airtablesim.WithFaults(o.faults),
					airtablesim.WithRateLimit(o.rateLimit, o.penalty))
				return simInfo{handler: s, notes: []string{"base: " + airtablesim.DefaultBase + " (Content_Master, Content_Templates, Publishing_Calendar, Email_Events)"}}
			},
			connector: func(baseURL, key string) plugins.TenantConfig {
				return plugins.TenantConfig{
					Config:  map[string]any{"base_url": baseURL, "base_id": airtablesim.DefaultBase},
					Secrets: map[string]string{"api_key": key},
					Egress:  []string{baseURL},
				}
			},
			curl: func(baseURL, key string) string {
				return fmt.Sprintf("curl -H 'Authorization: Bearer %s' %s/v0/%s/Content_Master", key, baseURL, airtablesim.DefaultBase)
			},
		},
		"sendgrid": {
			name: "sendgrid", defaultAddr: sendgridsim.DefaultAddr, defaultKey: sendgridsim.DefaultKey,
			build: func(o simOptions) simInfo {
				s := sendgridsim.New(sendgridsim.WithKey(o.key), sendgridsim.WithFaults(o.faults),
					sendgridsim.WithEventWebhook(o.eventWebhook, nil))
				notes := []string{"event webhook public key: " + s.PublicKey()}
				if o.eventWebhook != "" {
					notes = append(notes, "event webhook: "+o.eventWebhook)
				}
				return simInfo{handler: s, notes: notes, source: &inbound.SourceConfig{Verifier: "sendgrid", Secret: s.PublicKey()}}
			},
			connector: func(baseURL, key string) plugins.TenantConfig {
				return plugins.TenantConfig{
					Config:  map[string]any{"base_url": baseURL},
					Secrets: map[string]string{"api_key": key},
					Egress:  []string{baseURL},
				}
			},
			curl: func(baseURL, key string) string {
				return fmt.Sprintf("curl -H 'Authorization: Bearer %s' %s/_sim/messages", key, baseURL)
			},
		},
		"hubspot": {
			name: "hubspot", defaultAddr: hubspotsim.DefaultAddr, defaultKey: hubspotsim.DefaultKey,
			build: func(o simOptions) simInfo {
				s := hubspotsim.New(hubspotsim.WithKey(o.key), hubspotsim.WithFaults(o.faults))
				return simInfo{handler: s, notes: []string{fmt.Sprintf("hub id: %d (event names pe%d_<name>)", s.HubID(), s.HubID())}}
			},
			connector: func(baseURL, key string) plugins.TenantConfig {
				return plugins.TenantConfig{
					Config:  map[string]any{"base_url": baseURL, "hub_id": fmt.Sprint(hubspotsim.DefaultHubID)},
					Secrets: map[string]string{"access_token": key},
					Egress:  []string{baseURL},
				}
			},
			curl: func(baseURL, key string) string {
				return fmt.Sprintf("curl -H 'Authorization: Bearer %s' '%s/crm/v3/objects/contacts?properties=email,lead_score'", key, baseURL)
			},
		},
		"salesforce": {
			// The one credential is the connected app's consumer secret. The connector logs in
			// with the JWT bearer flow, signed by the host with the key pair the simulator
			// generates at start (simInfo.secrets); the password flow works too, by hand.
			name: "salesforce", defaultAddr: salesforcesim.DefaultAddr, defaultKey: salesforcesim.DefaultClientSecret,
			build: func(o simOptions) simInfo {
				s := salesforcesim.New(salesforcesim.WithConsumer(salesforcesim.DefaultClientID, o.key), salesforcesim.WithFaults(o.faults))
				return simInfo{handler: s, notes: []string{"consumer key: " + salesforcesim.DefaultClientID,
					"user: " + salesforcesim.DefaultUsername + " (password + security token: " + salesforcesim.DefaultPassword + salesforcesim.DefaultSecurityToken + ")",
					"JWT bearer: the connected app's key pair is generated at each start"},
					secrets: map[string]string{"private_key": string(s.PrivateKeyPEM())}}
			},
			connector: func(baseURL, key string) plugins.TenantConfig {
				return plugins.TenantConfig{
					Config: map[string]any{"login_url": baseURL, "auth_flow": "jwt", "client_id": salesforcesim.DefaultClientID,
						"username": salesforcesim.DefaultUsername},
					Secrets: map[string]string{},
					Egress:  []string{baseURL},
				}
			},
			curl: func(baseURL, key string) string {
				return fmt.Sprintf("curl -d grant_type=password -d client_id=%s -d client_secret=%s -d username=%s -d password=%s%s %s/services/oauth2/token",
					salesforcesim.DefaultClientID, key, salesforcesim.DefaultUsername, salesforcesim.DefaultPassword, salesforcesim.DefaultSecurityToken, baseURL)
			},
		},
		"woocommerce": {
			// The one credential is the consumer secret; the consumer key is fixed.
			name: "woocommerce", defaultAddr: woocommercesim.DefaultAddr, defaultKey: woocommercesim.DefaultSecret,
			build: func(o simOptions) simInfo {
				opts := []woocommercesim.Option{woocommercesim.WithKey(woocommercesim.DefaultKey, o.key, woocommercesim.ReadWrite), woocommercesim.WithFaults(o.faults)}
				notes := []string{"consumer key: " + woocommercesim.DefaultKey, "webhooks: POST " + woocommercesim.APIPath + "/webhooks {topic, delivery_url, secret}"}
				var source *inbound.SourceConfig
				if o.eventWebhook != "" {
					opts = append(opts, woocommercesim.WithWebhooks(o.eventWebhook, woocommercesim.DefaultWebhookSecret))
					notes = append(notes, "product.created, product.updated and order.created webhooks: "+o.eventWebhook+" (secret "+woocommercesim.DefaultWebhookSecret+")")
					source = &inbound.SourceConfig{Verifier: "woocommerce", Secret: woocommercesim.DefaultWebhookSecret}
				}
				return simInfo{handler: woocommercesim.New(opts...), notes: notes, source: source}
			},
			connector: func(baseURL, key string) plugins.TenantConfig {
				return plugins.TenantConfig{
					Config:  map[string]any{"base_url": baseURL, "consumer_key": woocommercesim.DefaultKey},
					Secrets: map[string]string{"consumer_secret": key},
					Egress:  []string{baseURL},
				}
			},
			curl: func(baseURL, key string) string {
				return fmt.Sprintf("curl -u %s:%s '%s%s/products?per_page=5'", woocommercesim.DefaultKey, key, baseURL, woocommercesim.APIPath)
			},
		},
		"mailchimp": {
			name: "mailchimp", defaultAddr: mailchimpsim.DefaultAddr, defaultKey: mailchimpsim.DefaultKey,
			build: func(o simOptions) simInfo {
				s := mailchimpsim.New(mailchimpsim.WithKey(o.key), mailchimpsim.WithFaults(o.faults))
				return simInfo{handler: s, notes: []string{"audience: " + mailchimpsim.DefaultList}}
			},
			connector: func(baseURL, key string) plugins.TenantConfig {
				// A real tenant needs no dc either: the host derives it from the key's suffix.
				return plugins.TenantConfig{
					Config:  map[string]any{"base_url": baseURL + "/3.0", "list_id": mailchimpsim.DefaultList},
					Secrets: map[string]string{"api_key": key},
					Egress:  []string{baseURL},
				}
			},
			curl: func(baseURL, key string) string {
				return fmt.Sprintf("curl -u any:%s %s/3.0/campaigns", key, baseURL)
			},
		},
		"instagram": {
			name: "instagram", defaultAddr: instagramsim.DefaultAddr, defaultKey: instagramsim.DefaultKey,
			build: func(o simOptions) simInfo {
				s := instagramsim.New(instagramsim.WithKey(o.key), instagramsim.WithFaults(o.faults))
				return simInfo{handler: s, notes: []string{"account: " + instagramsim.DefaultUser + " (" + instagramsim.DefaultUsername + ")"}}
			},
			connector: func(baseURL, key string) plugins.TenantConfig {
				return plugins.TenantConfig{
					Config:  map[string]any{"base_url": baseURL + "/" + instagramsim.APIVersion, "ig_user_id": instagramsim.DefaultUser},
					Secrets: map[string]string{"access_token": key},
					Egress:  []string{baseURL},
				}
			},
			curl: func(baseURL, key string) string {
				return fmt.Sprintf("curl '%s/%s/%s/content_publishing_limit?fields=quota_usage,config&access_token=%s'", baseURL, instagramsim.APIVersion, instagramsim.DefaultUser, key)
			},
		},
		"ga4": {
			name: "ga4", defaultAddr: ga4sim.DefaultAddr, defaultKey: ga4sim.DefaultKey,
			build: func(o simOptions) simInfo {
				s := ga4sim.New(ga4sim.WithClientEmail(o.key), ga4sim.WithFaults(o.faults))
				return simInfo{handler: s, notes: []string{"property: " + ga4sim.DefaultProperty, "service account key file: GET /_sim/service-account"}}
			},
			connector: func(baseURL, key string) plugins.TenantConfig {
				return plugins.TenantConfig{
					Config:  map[string]any{"base_url": baseURL, "property_id": ga4sim.DefaultProperty},
					Secrets: map[string]string{"service_account": string(ga4sim.DevServiceAccountJSON(key, baseURL))},
					Egress:  []string{baseURL},
				}
			},
			curl: func(baseURL, _ string) string {
				return fmt.Sprintf("curl %s/_sim/service-account > sa.json", baseURL)
			},
		},
		"partner": {
			name: "partner", defaultAddr: partnersim.DefaultAddr, defaultKey: partnersim.DefaultKey,
			build: func(o simOptions) simInfo {
				s := partnersim.New(partnersim.WithKey(o.key), partnersim.WithFaults(o.faults))
				return simInfo{handler: s, notes: []string{"catalog: Green Aqua, " + partnersim.ProductsPath, "notifications: POST " + partnersim.NotificationsPath}}
			},
			connector: func(baseURL, key string) plugins.TenantConfig {
				// Under the connector's own names for `connector: partner`, and under the names
				// the registered Green Aqua partner gives them (examples/aquascene/partners).
				return plugins.TenantConfig{
					Config: partnersim.ConnectorConfig(baseURL),
					Secrets: map[string]string{"api_key": key, "notification_secret": partnersim.DevNotificationSecret,
						"notification_key":   partnersim.DevSigningKeyPEM,
						"green_aqua_api_key": key, "green_aqua_notification_secret": partnersim.DevNotificationSecret},
					Egress: []string{baseURL},
				}
			},
			curl: func(baseURL, key string) string {
				return fmt.Sprintf("curl -H 'X-Api-Key: %s' '%s%s?category=co2-systems'", key, baseURL, partnersim.ProductsPath)
			},
		},
	}
}

func simNames() []string {
	var names []string
	for n := range simulators() {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func newSimCmd() *cobra.Command {
	var (
		addr, key string
		o         simOptions
	)
	cmd := &cobra.Command{
		Use:   "sim <" + strings.Join(simNames(), "|") + ">",
		Short: "Run a vendor API simulator on its own",
		Long: `Run one vendor API simulator in the foreground. It accepts exactly one credential, in the
vendor's own auth scheme (Airtable: Bearer token; SendGrid: Bearer API key; Mailchimp: HTTP
Basic with any user name and the key as password; Instagram: the access_token parameter; GA4:
tokens for the service account whose email --key names; partner: X-Api-Key; Salesforce: the
connected app's consumer secret in the token request, or a JWT signed with its generated key;
HubSpot: Bearer private-app token; WooCommerce: the consumer secret, over Basic, the query
string or OAuth 1.0a), and answers anything else with the vendor's 401. Faults can be injected with the flags below or at run time through PUT /_sim/faults.`,
		Args:      cobra.ExactArgs(1),
		ValidArgs: simNames(),
		RunE: func(cmd *cobra.Command, args []string) error {
			sim, ok := simulators()[args[0]]
			if !ok {
				return fmt.Errorf("unknown simulator %q (want one of %s)", args[0], strings.Join(simNames(), ", "))
			}
			if addr == "" {
				addr = sim.defaultAddr
			}
			if key == "" {
				key = sim.defaultKey
			}
			if o.faults.ErrorRatio < 0 || o.faults.ErrorRatio > 1 {
				return fmt.Errorf("--error-ratio: must be between 0 and 1 (got %v)", o.faults.ErrorRatio)
			}
			o.key = key
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return runSim(ctx, sim, addr, o, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&addr, "addr", "", "listen address (default: the simulator's, see its README)")
	f.StringVar(&key, "key", "", "the one credential accepted (default: the simulator's, see its README)")
	f.DurationVar(&o.faults.Latency, "latency", 0, "delay every API response by this much")
	f.Float64Var(&o.faults.ErrorRatio, "error-ratio", 0, "share of API requests (0..1) answered with --error-status")
	f.IntVar(&o.faults.ErrorStatus, "error-status", 503, "status of --error-ratio failures")
	f.IntVar(&o.faults.RateLimitEvery, "rate-limit-every", 0, "after this many served requests answer a burst of 429s (0 off)")
	f.IntVar(&o.faults.RateLimitBurst, "rate-limit-burst", 1, "length of each 429 burst")
	f.IntVar(&o.rateLimit, "rate-limit", 5, "airtable: requests per second per base before 429 (0 off)")
	f.DurationVar(&o.penalty, "rate-limit-penalty", 30*time.Second, "airtable: how long a base keeps answering 429 after going over")
	f.StringVar(&o.eventWebhook, "event-webhook", "", "sendgrid: URL to post signed Event Webhook batches to; woocommerce: URL its product and order webhooks deliver to")
	return cmd
}

// startSim listens on addr and serves sim until ctx ends; it returns the base URL, the info
// and a function that stops the server.
func startSim(sim simulator, addr string, o simOptions) (string, simInfo, func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", simInfo{}, nil, fmt.Errorf("%s simulator: %w", sim.name, err)
	}
	info := sim.build(o)
	srv := &http.Server{Handler: info.handler, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	stop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}
	return "http://" + ln.Addr().String(), info, stop, nil
}

func runSim(ctx context.Context, sim simulator, addr string, o simOptions, out io.Writer) error {
	url, info, stop, err := startSim(sim, addr, o)
	if err != nil {
		return err
	}
	defer stop()
	fmt.Fprintf(out, "%s simulator listening on %s\n  key:  %s\n", sim.name, url, o.key)
	for _, n := range info.notes {
		fmt.Fprintf(out, "  %s\n", n)
	}
	fmt.Fprintf(out, "  try:  %s\n", sim.curl(url, o.key))
	<-ctx.Done()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}
