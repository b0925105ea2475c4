package egress

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/aquascene/aquahub/sdk/abi"
	"github.com/aquascene/aquahub/sdk/abi/scrub"
	"github.com/aquascene/aquahub/sdk/netguard"
)

// Decision records one egress check, for metrics and audit logs.
type Decision struct {
	Allowed bool
	// URL is the request or redirect URL with its query removed (queries may hold secrets).
	URL    string
	Reason string
}

// Policy is the egress configuration of one connector for one tenant.
type Policy struct {
	// Requested is the manifest's egress list ("*" requests whatever is granted).
	Requested []string
	// Granted is the tenant's grant for the connector.
	Granted []string
	// Secrets maps secret names to values, injected into {{secret:NAME}} references.
	// Signing keys (SigningSecrets) among them are dropped: they are never sent.
	Secrets map[string]string
	// SigningSecrets names the secrets the manifest declares as signing keys
	// (abi.SecretUseSign): a request referencing one fails with invalid_request, so a
	// private key only sign_jwt may use never leaves the host.
	SigningSecrets []string
	// Declared are the manifest's secrets (abi.Manifest.Secrets). Their places (ABI
	// revision 1.5) say where a request may carry each one, and signing keys among them
	// are never sent, as with SigningSecrets.
	Declared []abi.SecretSpec
	// SecretOrigins binds secrets to origins (the tenant's secret_origins): a request may
	// carry secret NAME only to an origin SecretOrigins[NAME] covers. A secret without an
	// entry may go to every origin of Granted.
	SecretOrigins map[string][]string
	// MaxResponseBytes caps a response body; zero means abi.DefaultMaxResponseBytes.
	MaxResponseBytes int64
	// MaxRedirects caps redirects followed; zero means 10.
	MaxRedirects int
	// LookupIP resolves host names; nil uses net.DefaultResolver. Tests replace it.
	LookupIP func(ctx context.Context, host string) ([]netip.Addr, error)
	// OnDecision, when set, is told about every allow or deny.
	OnDecision func(Decision)
	// RateLimits are the connector's declared limits (abi.Manifest.RateLimits), applied to
	// every request and redirect before dialing.
	RateLimits []abi.RateLimit
	// Limiters holds the buckets, shared by every client of the host; nil gives the client
	// buckets of its own.
	Limiters *Limiters
	// LimitScope prefixes bucket keys: the host uses tenant and connector id, so that
	// limits are per (tenant, connector, key).
	LimitScope string
	// Circuit, when set, guards each origin with a breaker (see Circuit); nil sends every
	// request.
	Circuit Circuit
}

// Client performs abi.HTTPRequests under a Policy. It is safe for concurrent use.
type Client struct {
	requested []abi.Origin
	anyOrigin bool
	granted   []abi.Origin
	policy    Policy
	limits    []rateLimit
	limiters  *Limiters
	// signing holds the names of signing keys, which requests may not reference.
	signing map[string]bool
	// uses are the manifest's places for secrets.
	uses abi.SecretUses
	// bound holds the parsed SecretOrigins.
	bound map[string][]abi.Origin
	// scrubber finds the sendable secrets in responses and messages.
	scrubber  *scrub.Scrubber
	transport *http.Transport
	client    *http.Client
}

// DeniedError is returned when the egress rules refuse a URL or an address.
type DeniedError struct{ Reason string }

func (e *DeniedError) Error() string { return "egress denied: " + e.Reason }

// NewClient parses the policy's origins and returns a client.
func NewClient(p Policy) (*Client, error) {
	c := &Client{policy: p, uses: (&abi.Manifest{Secrets: p.Declared}).SecretUses(), signing: map[string]bool{}}
	for _, name := range p.SigningSecrets {
		c.signing[name] = true
	}
	for _, s := range p.Declared {
		if s.Signing() {
			c.signing[s.Name] = true
		}
	}
	sendable := make(map[string]string, len(p.Secrets))
	values := make([]string, 0, len(p.Secrets))
	for name, v := range p.Secrets {
		if !c.signing[name] {
			sendable[name] = v
			values = append(values, v)
		}
	}
	c.policy.Secrets = sendable
	c.scrubber = scrub.New(values...)
	for name, list := range p.SecretOrigins {
		if c.bound == nil {
			c.bound = map[string][]abi.Origin{}
		}
		origins := []abi.Origin{}
		for _, s := range list {
			o, err := abi.ParseOrigin(s)
			if err != nil {
				return nil, fmt.Errorf("secret origins of %q: %w", name, err)
			}
			origins = append(origins, o)
		}
		c.bound[name] = origins
	}
	for _, r := range p.Requested {
		if r == "*" {
			c.anyOrigin = true
			continue
		}
		o, err := abi.ParseOrigin(r)
		if err != nil {
			return nil, fmt.Errorf("requested egress: %w", err)
		}
		c.requested = append(c.requested, o)
	}
	for _, g := range p.Granted {
		o, err := abi.ParseOrigin(g)
		if err != nil {
			return nil, fmt.Errorf("granted egress: %w", err)
		}
		c.granted = append(c.granted, o)
	}
	limits, err := parseRateLimits(p.RateLimits)
	if err != nil {
		return nil, err
	}
	c.limits, c.limiters = limits, p.Limiters
	if c.limiters == nil {
		c.limiters = NewLimiters()
	}
	if c.policy.MaxResponseBytes <= 0 {
		c.policy.MaxResponseBytes = abi.DefaultMaxResponseBytes
	}
	if c.policy.MaxRedirects <= 0 {
		c.policy.MaxRedirects = 10
	}
	if c.policy.LookupIP == nil {
		c.policy.LookupIP = func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		}
	}
	c.transport = &http.Transport{
		Proxy:                 nil,
		DialContext:           c.dial,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          64,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	c.client = &http.Client{
		Transport: circuitTransport{c: c, next: limitedTransport{c: c, next: c.transport}},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= c.policy.MaxRedirects {
				return fmt.Errorf("stopped after %d redirects", len(via))
			}
			if err := c.CheckURL(req.URL); err != nil {
				c.decide(false, req.URL, "redirect: "+err.Error())
				return err
			}
			if err := c.checkRedirect(req, via); err != nil {
				c.decide(false, req.URL, "redirect: "+err.Error())
				return err
			}
			return nil
		},
	}
	return c, nil
}

// Scrubber returns what finds the policy's sendable secrets in text, for scrubbing what the
// host keeps from a connector's calls (run records, logs).
func (c *Client) Scrubber() *scrub.Scrubber { return c.scrubber }

// CloseIdleConnections releases pooled connections.
func (c *Client) CloseIdleConnections() { c.transport.CloseIdleConnections() }

// CheckURL applies the origin rules to u: the scheme must be http or https, and scheme, host
// and port must be covered by both a requested and a granted origin.
func (c *Client) CheckURL(u *url.URL) error {
	if u.Scheme != "http" && u.Scheme != "https" {
		return &DeniedError{Reason: fmt.Sprintf("scheme %q is not allowed", u.Scheme)}
	}
	if u.User != nil {
		return &DeniedError{Reason: "credentials in the URL are not allowed"}
	}
	host := u.Hostname()
	if a, canonical, ok := netguard.ParseNumericHost(host); ok && !canonical {
		return &DeniedError{Reason: fmt.Sprintf("%q is a non-canonical numeric address (%s)", host, a)}
	}
	port := u.Port()
	if port == "" {
		port = abi.DefaultPort(u.Scheme)
	}
	origin := u.Scheme + "://" + net.JoinHostPort(host, port)
	if !matchAny(c.granted, u.Scheme, host, port) {
		return &DeniedError{Reason: fmt.Sprintf("%s is not granted to this connector for the tenant", origin)}
	}
	if !c.anyOrigin && !matchAny(c.requested, u.Scheme, host, port) && !loopbackLiteral(host) {
		return &DeniedError{Reason: fmt.Sprintf("%s is not in the connector's requested egress", origin)}
	}
	return nil
}

// loopbackLiteral reports whether host is a loopback IP literal. A grant naming one is the
// operator pointing a connector at a local simulator (aquahub dev, tests), so it need not be
// in the manifest's request list; everything else needs both.
func loopbackLiteral(host string) bool {
	a, err := netip.ParseAddr(strings.Trim(host, "[]"))
	return err == nil && a.Unmap().IsLoopback()
}

func matchAny(list []abi.Origin, scheme, host, port string) bool {
	for _, o := range list {
		if o.Matches(scheme, host, port) {
			return true
		}
	}
	return false
}

// addrAllowed decides whether the dialled host name may connect to addr. A loopback or
// private address is allowed only when the URL and a grant both name it literally (same
// port), or both name "localhost" and the address is loopback. Link-local (cloud metadata), NAT64 and the other
// special ranges are never allowed.
func (c *Client) addrAllowed(host, port string, addr netip.Addr) error {
	blocked := netguard.Policy{}.CheckAddr(addr)
	if blocked == nil {
		return nil
	}
	if err := (netguard.Policy{AllowLoopback: true, AllowPrivate: true}).CheckAddr(addr); err != nil {
		return &DeniedError{Reason: fmt.Sprintf("%s resolves to a refused address: %v", host, err)}
	}
	addr = addr.Unmap()
	for _, g := range c.granted {
		if g.Port != port {
			continue
		}
		// A literal grant covers the URLs that name that address, not host names that
		// happen to resolve to it.
		if ga, err := netip.ParseAddr(strings.Trim(g.Host, "[]")); err == nil && ga.Unmap() == addr {
			if ha, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil && ha.Unmap() == addr {
				return nil
			}
		}
		if g.Host == "localhost" && addr.IsLoopback() && strings.EqualFold(host, "localhost") {
			return nil
		}
	}
	return &DeniedError{Reason: fmt.Sprintf("%s resolves to a refused address: %v", host, blocked)}
}

func (c *Client) dial(ctx context.Context, network, address string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{a}
	} else if isLocalhost(host) {
		// localhost and *.localhost are loopback by definition (RFC 6761), which is how
		// the address rules see them; resolving them through DNS could reach anything.
		addrs = []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.IPv6Loopback()}
	} else {
		addrs, err = c.policy.LookupIP(ctx, host)
		if err != nil {
			return nil, err
		}
	}
	var firstErr error
	for _, a := range addrs {
		if err := c.addrAllowed(host, port, a); err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		d := net.Dialer{
			Timeout: 10 * time.Second,
			// Control sees the address actually dialled; it repeats the check so that no
			// path around the resolution above can reach a blocked address.
			Control: func(_, addr string, _ syscall.RawConn) error {
				ap, err := netip.ParseAddrPort(addr)
				if err != nil {
					return &DeniedError{Reason: "unparsable dial address " + addr}
				}
				return c.addrAllowed(host, port, ap.Addr())
			},
		}
		conn, err := d.DialContext(ctx, network, net.JoinHostPort(a.String(), port))
		if err == nil {
			return conn, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	if firstErr == nil {
		firstErr = fmt.Errorf("no addresses for %s", host)
	}
	return nil, firstErr
}

// isLocalhost reports whether host is localhost or a name under it.
func isLocalhost(host string) bool {
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	return h == "localhost" || strings.HasSuffix(h, ".localhost")
}

func (c *Client) decide(allowed bool, u *url.URL, reason string) {
	if c.policy.OnDecision == nil {
		return
	}
	clean := *u
	clean.RawQuery = ""
	clean.User = nil
	c.policy.OnDecision(Decision{Allowed: allowed, URL: c.scrubber.String(clean.String()), Reason: c.scrubber.String(reason)})
}

// Do performs req under the policy. Failures come back in HTTPResponse.Error, never as a Go
// error, because they are answers to the guest.
func (c *Client) Do(ctx context.Context, req *abi.HTTPRequest) *abi.HTTPResponse {
	fail := func(code, format string, args ...any) *abi.HTTPResponse {
		return &abi.HTTPResponse{Error: &abi.HTTPError{Code: code, Message: c.scrubber.String(fmt.Sprintf(format, args...))}}
	}
	u, err := url.Parse(req.URL)
	if err != nil {
		return fail(abi.HTTPErrorInvalid, "url: %v", err)
	}
	if err := c.CheckURL(u); err != nil {
		c.decide(false, u, err.Error())
		return fail(abi.HTTPErrorDenied, "%s", err.(*DeniedError).Reason)
	}
	x, refused := c.expand(req, u)
	if refused != nil {
		if refused.code == abi.HTTPErrorDenied {
			c.decide(false, u, refused.msg)
		}
		return fail(refused.code, "%s", refused.msg)
	}
	var body io.Reader
	if len(req.Body) > 0 {
		body = bytes.NewReader(req.Body)
	}
	st := &requestState{origin: Origin(u), bearing: x.bearing}
	hreq, err := http.NewRequestWithContext(withState(ctx, st), req.Method, x.url.String(), body)
	if err != nil {
		return fail(abi.HTTPErrorInvalid, "%v", err)
	}
	hreq.Header = x.header
	if hreq.Header.Get("User-Agent") == "" {
		hreq.Header.Set("User-Agent", "aquahub-connector/1")
	}
	// Messages name the guest's URL, with its references, never the expanded one.
	resp, err := c.client.Do(hreq)
	if err != nil {
		var denied *DeniedError
		var limited *RateLimitedError
		var open *CircuitOpenError
		switch {
		case errors.As(err, &open):
			resp := fail(abi.HTTPErrorCircuitOpen, "%s", open.Error())
			resp.Error.RetryAfterMS = max(1, open.RetryAfter.Milliseconds())
			return resp
		case errors.As(err, &limited):
			resp := fail(abi.HTTPErrorRateLimited, "%s", limited.Error())
			resp.Error.RetryAfterMS = max(1, limited.Wait.Milliseconds())
			return resp
		case errors.As(err, &denied):
			c.decide(false, u, denied.Error())
			return fail(abi.HTTPErrorDenied, "%s", denied.Reason)
		case ctx.Err() != nil:
			return fail(abi.HTTPErrorTimeout, "%s %s: call deadline exceeded", req.Method, u.Redacted())
		default:
			return fail(abi.HTTPErrorNetwork, "%v", stripURLError(err))
		}
	}
	defer resp.Body.Close()
	c.decide(true, u, fmt.Sprintf("%s %d", req.Method, resp.StatusCode))
	limit := c.policy.MaxResponseBytes
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		if ctx.Err() != nil {
			return fail(abi.HTTPErrorTimeout, "reading response: call deadline exceeded")
		}
		return fail(abi.HTTPErrorNetwork, "reading response: %v", err)
	}
	if int64(len(b)) > limit {
		return fail(abi.HTTPErrorTooLarge, "response body exceeds the %d byte limit", limit)
	}
	derived := scrub.New(x.derived...)
	clean := func(s string) string { return derived.String(c.scrubber.String(s)) }
	out := &abi.HTTPResponse{
		Status:  resp.StatusCode,
		Headers: make(map[string][]string, len(resp.Header)),
		Body:    derived.Bytes(c.scrubber.Bytes(b)),
		// Without a redirect the final URL is the guest's own, references and all: the
		// expanded one would hand back every value the query carried.
		URL: req.URL,
	}
	if resp.Request != hreq {
		out.URL = clean(resp.Request.URL.String())
	}
	for k, vs := range resp.Header {
		k = clean(k)
		for _, v := range vs {
			out.Headers[k] = append(out.Headers[k], clean(v))
		}
	}
	return out
}

func stripURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}
