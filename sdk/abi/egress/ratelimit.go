package egress

import (
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/aquascene/aquahub/sdk/abi"
)

// Limiters holds the token buckets of connectors' declared rate limits. One value serves
// every Client of a host, so that all pooled instances of a connector (and clients rebuilt
// by a reload) share a tenant's buckets. Buckets are grouped by scope (Policy.LimitScope:
// the host's tenant and connector) and each scope keeps at most a fixed number, dropping
// the least recently used past it, so that a connector keying its limit by a path it
// invents per request holds a bounded amount of host memory and cannot evict another
// connector's buckets. It is safe for concurrent use.
type Limiters struct {
	mu       sync.Mutex
	perScope int
	scopes   map[string]*bucketSet
}

// bucketSet is one scope's buckets, most recently used first.
type bucketSet struct {
	order *list.List // of *bucket
	byKey map[string]*list.Element
}

type bucket struct {
	key string
	lim *rate.Limiter
}

// DefaultScopeBuckets is how many buckets NewLimiters keeps per scope.
const DefaultScopeBuckets = 1024

// MaxRateLimitKeyBytes bounds a bucket key: a longer one (a path of long segments) keeps
// its beginning and a digest of the whole, so that distinct keys stay distinct while the
// memory each costs stays bounded.
const MaxRateLimitKeyBytes = 256

// NewLimiters returns an empty set of buckets keeping DefaultScopeBuckets per scope.
func NewLimiters() *Limiters { return NewLimitersBounded(DefaultScopeBuckets) }

// NewLimitersBounded returns an empty set of buckets keeping at most perScope per scope
// (at least 1).
func NewLimitersBounded(perScope int) *Limiters {
	return &Limiters{perScope: max(perScope, 1), scopes: map[string]*bucketSet{}}
}

// Len returns the number of buckets held for scope.
func (l *Limiters) Len(scope string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if set, ok := l.scopes[scope]; ok {
		return set.order.Len()
	}
	return 0
}

func (l *Limiters) get(scope, key string, rl abi.RateLimit) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	set, ok := l.scopes[scope]
	if !ok {
		set = &bucketSet{order: list.New(), byKey: map[string]*list.Element{}}
		l.scopes[scope] = set
	}
	if e, ok := set.byKey[key]; ok {
		set.order.MoveToFront(e)
		return e.Value.(*bucket).lim
	}
	for set.order.Len() >= l.perScope {
		oldest := set.order.Back()
		set.order.Remove(oldest)
		delete(set.byKey, oldest.Value.(*bucket).key)
	}
	lim := rate.NewLimiter(rate.Limit(rl.PerSecond), rl.EffectiveBurst())
	set.byKey[key] = set.order.PushFront(&bucket{key: key, lim: lim})
	return lim
}

// RateLimitedError is returned when a declared rate limit would delay a request past the
// call's deadline.
type RateLimitedError struct {
	// Key is the bucket: origin and leading path segments.
	Key string
	// Wait is the delay the request would have needed.
	Wait time.Duration
	// Limit is the declared limit.
	Limit abi.RateLimit
}

func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("rate limit of %v requests/s (burst %d) for %s would delay the request %s, past the call deadline",
		e.Limit.PerSecond, e.Limit.EffectiveBurst(), e.Key, e.Wait.Round(time.Millisecond))
}

// rateLimit is a parsed abi.RateLimit.
type rateLimit struct {
	abi.RateLimit
	index  int
	any    bool
	origin abi.Origin
}

func parseRateLimits(list []abi.RateLimit) ([]rateLimit, error) {
	out := make([]rateLimit, 0, len(list))
	for i, r := range list {
		if err := r.Check(); err != nil {
			return nil, fmt.Errorf("rate_limits[%d].%w", i, err)
		}
		p := rateLimit{RateLimit: r, index: i, any: r.Origin == "" || r.Origin == "*"}
		if !p.any {
			p.origin, _ = abi.ParseOrigin(r.Origin)
		}
		out = append(out, p)
	}
	return out, nil
}

// RateLimitKey returns the bucket key of u under a limit keeping n path segments:
// "scheme://host:port" plus "/seg1/.../segn" (fewer when the path is shorter). Segments are
// written in one canonical escaping, so that "/%61pp" and "/app" share a bucket, and a key
// longer than MaxRateLimitKeyBytes keeps its beginning and a digest of the whole.
func RateLimitKey(u *url.URL, n int) string {
	port := u.Port()
	if port == "" {
		port = abi.DefaultPort(u.Scheme)
	}
	var b strings.Builder
	b.WriteString(u.Scheme + "://" + strings.ToLower(u.Hostname()) + ":" + port)
	path := u.EscapedPath()
	for range n {
		path = strings.TrimPrefix(path, "/")
		if path == "" {
			break
		}
		seg := path
		if i := strings.IndexByte(path, '/'); i >= 0 {
			seg, path = path[:i], path[i:]
		} else {
			path = ""
		}
		if raw, err := url.PathUnescape(seg); err == nil {
			seg = url.PathEscape(raw)
		}
		b.WriteString("/" + seg)
		if b.Len() > 2*MaxRateLimitKeyBytes {
			break // the digest below covers what was read; the rest adds nothing
		}
	}
	key := b.String()
	if len(key) > MaxRateLimitKeyBytes {
		sum := sha256.Sum256([]byte(key))
		key = key[:MaxRateLimitKeyBytes-34] + "~" + hex.EncodeToString(sum[:16]) + "~"
	}
	return key
}

// wait blocks until the request to u may go under the first matching limit, or returns a
// *RateLimitedError at once when that would be after ctx's deadline.
func (c *Client) wait(ctx context.Context, u *url.URL) error {
	if len(c.limits) == 0 {
		return nil
	}
	port := u.Port()
	if port == "" {
		port = abi.DefaultPort(u.Scheme)
	}
	for _, rl := range c.limits {
		if !rl.any && !rl.origin.Matches(u.Scheme, u.Hostname(), port) {
			continue
		}
		key := RateLimitKey(u, rl.PathSegments)
		// The limit's own parameters are part of the bucket name, so a connector version
		// declaring different figures starts fresh buckets.
		bucket := strconv.Itoa(rl.index) + "\x00" +
			strconv.FormatFloat(rl.PerSecond, 'g', -1, 64) + "/" + strconv.Itoa(rl.EffectiveBurst()) + "\x00" + key
		lim := c.limiters.get(c.policy.LimitScope, bucket, rl.RateLimit)
		now := time.Now()
		r := lim.ReserveN(now, 1)
		delay := r.DelayFrom(now)
		if delay == 0 {
			return nil
		}
		if deadline, ok := ctx.Deadline(); ok && now.Add(delay).After(deadline) {
			r.CancelAt(now)
			return &RateLimitedError{Key: key, Wait: delay, Limit: rl.RateLimit}
		}
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-t.C:
			return nil
		case <-ctx.Done():
			r.Cancel()
			return ctx.Err()
		}
	}
	return nil
}

// limitedTransport applies the declared rate limits to every request the client sends,
// redirects included, before the connection is dialled.
type limitedTransport struct {
	c    *Client
	next http.RoundTripper
}

func (t limitedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := t.c.wait(req.Context(), req.URL); err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	return t.next.RoundTrip(req)
}
