package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/signal"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"time"

	airtablesim "github.com/aquascene/aquahub/connectors/airtable/sim"
	ga4sim "github.com/aquascene/aquahub/connectors/ga4/sim"
	instagramsim "github.com/aquascene/aquahub/connectors/instagram/sim"
	mailchimpsim "github.com/aquascene/aquahub/connectors/mailchimp/sim"
	partnersim "github.com/aquascene/aquahub/connectors/partner/sim"
	sendgridsim "github.com/aquascene/aquahub/connectors/sendgrid/sim"
	"github.com/aquascene/aquahub/connectors/simkit"
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
	// eventWebhook is where the SendGrid simulator posts signed Event Webhook batches.
	eventWebhook string
}

// simInfo describes a running simulator.
type simInfo struct {
	handler http.Handler
	// notes are extra lines printed after the address (public keys, default ids).
	notes []string
	// publicKey is the SendGrid Event Webhook verification key (base64 DER).
	publicKey string
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
				return simInfo{handler: s, notes: notes, publicKey: s.PublicKey()}
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
		"mailchimp": {
			name: "mailchimp", defaultAddr: mailchimpsim.DefaultAddr, defaultKey: mailchimpsim.DefaultKey,
			build: func(o simOptions) simInfo {
				s := mailchimpsim.New(mailchimpsim.WithKey(o.key), mailchimpsim.WithFaults(o.faults))
				return simInfo{handler: s, notes: []string{"audience: " + mailchimpsim.DefaultList}}
			},
			connector: func(baseURL, key string) plugins.TenantConfig {
				cfg := map[string]any{"base_url": baseURL + "/3.0", "list_id": mailchimpsim.DefaultList}
				if dc := mailchimpDataCenter(key); dc != "" {
					cfg["dc"] = dc // what a real tenant's config needs; base_url overrides it here
				}
				return plugins.TenantConfig{
					Config:  cfg,
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
					Secrets: map[string]string{"api_key": key, "notification_key": partnersim.DevSigningKeyPEM,
						"green_aqua_api_key": key, "green_aqua_notification_key": partnersim.DevSigningKeyPEM},
					Egress: []string{baseURL},
				}
			},
			curl: func(baseURL, key string) string {
				return fmt.Sprintf("curl -H 'X-Api-Key: %s' '%s%s?category=co2-systems'", key, baseURL, partnersim.ProductsPath)
			},
		},
	}
}

// mailchimpDataCenter returns the data center of a Mailchimp API key, its suffix after the
// last '-' (us21 for …-us21), or "" when the key has none. The connector cannot do this
// itself: the host injects the key into requests and the guest never sees it.
func mailchimpDataCenter(key string) string {
	i := strings.LastIndexByte(key, '-')
	if i < 0 || !dataCenter.MatchString(key[i+1:]) {
		return ""
	}
	return key[i+1:]
}

var dataCenter = regexp.MustCompile(`^[a-z]+[0-9]+$`)

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
tokens for the service account whose email --key names; partner: X-Api-Key), and answers
anything else with the vendor's 401. Faults can be injected with the flags below or at run time through PUT /_sim/faults.`,
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
	f.StringVar(&o.eventWebhook, "event-webhook", "", "sendgrid: URL to post signed Event Webhook batches to")
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
