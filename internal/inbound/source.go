package inbound

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/webhooks"
	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"
	bbolt "go.etcd.io/bbolt"
)

// Spec configures one inbound source; it mirrors config.Source.
type Spec struct {
	// Verifier is one of Verifiers.
	Verifier string
	// Secret is the verifier's key: the HMAC key (hmac), whsec_ secret (standard-webhooks),
	// "user:password" (basic), the key (api_key), macSecretBase64 (airtable), or the
	// base64 DER public key (sendgrid).
	Secret string
	// Header overrides the header that carries the signature or key (hmac, api_key).
	Header string
	// Algorithm is sha256 (default) or sha512 (hmac).
	Algorithm string
	// Encoding is hex (default) or base64 (hmac).
	Encoding string
	// Prefix precedes the encoded signature, such as "sha256=" (hmac).
	Prefix string
	// Tolerance bounds signed timestamps' distance from now (default 5m).
	Tolerance time.Duration
	// Type, ID, Subject and Data are expr-lang expressions over body, headers, tenant,
	// source and verified. Type defaults to "<source>.received", ID to the sender's message
	// id or a hash of the body, Data to body. With verifier sendgrid each item of the batch
	// becomes an event and the expressions run per item with body bound to the item; the
	// defaults are then email.<event> (open, click, bounce as opened, clicked, bounced),
	// sg_event_id, the address and the item.
	Type, ID, Subject, Data string
	// Airtable, with verifier airtable, fetches the webhook's payloads after each verified
	// ping and publishes one event per changed record instead of the ping itself.
	Airtable *AirtableFetch
}

// Source is a compiled Spec.
type Source struct {
	Tenant, Name string
	verifier     Verifier
	tolerance    time.Duration
	typ, id      *vm.Program
	subject      *vm.Program
	data         *vm.Program
	airtable     *airtableFetcher
}

var sourceName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// exprEnv is what mapping expressions see.
type exprEnv struct {
	// Body is the JSON-decoded body (a string when it is not JSON).
	Body any `expr:"body"`
	// Headers maps lower-case header names to their first value.
	Headers map[string]string `expr:"headers"`
	Tenant  string            `expr:"tenant"`
	Source  string            `expr:"source"`
	// Verified holds the sender's message id and timestamp when the scheme signs them.
	Verified map[string]any `expr:"verified"`
	// Raw is the body as received.
	Raw string `expr:"raw"`
}

func compile(code, path string) (*vm.Program, error) {
	if strings.TrimSpace(code) == "" {
		return nil, nil
	}
	p, err := expr.Compile(code, expr.Env(exprEnv{}))
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return p, nil
}

// NewVerifier builds the verifier spec names; errors name the field.
func NewVerifier(spec Spec) (Verifier, error) {
	if spec.Secret == "" {
		return nil, fmt.Errorf("secret: required by verifier %q", spec.Verifier)
	}
	switch spec.Verifier {
	case VerifierHMAC:
		if spec.Algorithm != "" && spec.Algorithm != "sha256" && spec.Algorithm != "sha512" {
			return nil, fmt.Errorf("algorithm: must be sha256 or sha512 (got %q)", spec.Algorithm)
		}
		if spec.Encoding != "" && spec.Encoding != "hex" && spec.Encoding != "base64" {
			return nil, fmt.Errorf("encoding: must be hex or base64 (got %q)", spec.Encoding)
		}
		return HMAC{Header: spec.Header, Secret: []byte(spec.Secret), Hash: spec.Algorithm, Encoding: spec.Encoding, Prefix: spec.Prefix}, nil
	case VerifierStandardWebhooks:
		var keys [][]byte
		for _, s := range strings.Fields(spec.Secret) { // several while the sender rotates
			k, err := webhooks.Secret(s).Key()
			if err != nil {
				return nil, fmt.Errorf("secret: %v", err)
			}
			keys = append(keys, k)
		}
		return StandardWebhooks{Keys: keys, Tolerance: spec.Tolerance}, nil
	case VerifierBasic:
		user, pass, ok := strings.Cut(spec.Secret, ":")
		if !ok || user == "" || pass == "" {
			return nil, errors.New(`secret: must be "user:password" for verifier basic`)
		}
		return Basic{Username: user, Password: pass}, nil
	case VerifierAPIKey:
		if len(spec.Secret) < 16 {
			return nil, errors.New("secret: an API key must have at least 16 characters")
		}
		return APIKey{Header: spec.Header, Key: spec.Secret}, nil
	case VerifierAirtable:
		k, err := base64.StdEncoding.DecodeString(spec.Secret)
		if err != nil || len(k) == 0 {
			return nil, errors.New("secret: must be the webhook's macSecretBase64 (standard base64)")
		}
		return Airtable{Key: k}, nil
	case VerifierSendGrid:
		k, err := ParseSendGridKey(spec.Secret)
		if err != nil {
			return nil, fmt.Errorf("secret: %v", err)
		}
		return SendGrid{Key: k, Tolerance: spec.Tolerance}, nil
	case "":
		return nil, fmt.Errorf("verifier: required (one of %s)", strings.Join(Verifiers, ", "))
	default:
		return nil, fmt.Errorf("verifier: must be one of %s (got %q)", strings.Join(Verifiers, ", "), spec.Verifier)
	}
}

// NewSource compiles spec for the source name of tenant. Errors name the field.
func NewSource(tenant, name string, spec Spec) (*Source, error) {
	if !sourceName.MatchString(name) {
		return nil, fmt.Errorf("source name %q: use lowercase letters, digits, - and _", name)
	}
	v, err := NewVerifier(spec)
	if err != nil {
		return nil, err
	}
	if spec.Tolerance < 0 {
		return nil, fmt.Errorf("tolerance: must not be negative (got %s)", spec.Tolerance)
	}
	s := &Source{Tenant: tenant, Name: name, verifier: v, tolerance: spec.Tolerance}
	if spec.Airtable != nil {
		if spec.Verifier != VerifierAirtable {
			return nil, fmt.Errorf("verifier: fetching Airtable payloads needs verifier airtable (got %q)", spec.Verifier)
		}
		if s.airtable, err = newAirtableFetcher(*spec.Airtable); err != nil {
			return nil, err
		}
	}
	if s.tolerance == 0 {
		s.tolerance = webhooks.DefaultTolerance
	}
	for _, f := range []struct {
		dst  **vm.Program
		code string
		path string
	}{{&s.typ, spec.Type, "type"}, {&s.id, spec.ID, "id"}, {&s.subject, spec.Subject, "subject"}, {&s.data, spec.Data, "data"}} {
		if *f.dst, err = compile(f.code, f.path); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// WithVerifier replaces the source's verifier (vendor schemes outside this package).
func (s *Source) WithVerifier(v Verifier) *Source { s.verifier = v; return s }

// Event verifies the request and maps it to a CloudEvent (without tenant and sequence).
func (s *Source) Event(header http.Header, body []byte, now time.Time) (core.Event, Verified, error) {
	ver, err := s.verifier.Verify(Request{Header: header, Body: body, Now: now})
	if err != nil {
		return core.Event{}, ver, err
	}
	var parsed any
	if len(bytes.TrimSpace(body)) > 0 {
		if err := json.Unmarshal(body, &parsed); err != nil {
			parsed = string(body)
		}
	}
	hdrs := headerMap(header)
	verified := map[string]any{"id": ver.ID}
	if !ver.Timestamp.IsZero() {
		verified["timestamp"] = ver.Timestamp.Unix()
	}
	env := exprEnv{Body: parsed, Headers: hdrs, Tenant: s.Tenant, Source: s.Name, Verified: verified, Raw: string(body)}
	defID := ver.ID
	if defID == "" {
		defID = hashID(body)
	}
	ev, err := s.mapEvent(env, s.Name+".received", defID, "", now)
	return ev, ver, err
}

// headerMap maps lower-case header names to their first value.
func headerMap(header http.Header) map[string]string {
	hdrs := make(map[string]string, len(header))
	for k, v := range header {
		if len(v) > 0 {
			hdrs[strings.ToLower(k)] = v[0]
		}
	}
	return hdrs
}

func hashID(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256-" + hex.EncodeToString(sum[:16])
}

// mapEvent runs the source's mapping expressions over env; the defaults apply where no
// expression is configured (or it gives nil), and the data defaults to env.Body.
func (s *Source) mapEvent(env exprEnv, defType, defID, defSubject string, now time.Time) (core.Event, error) {
	var err error
	str := func(p *vm.Program, field, def string) (string, error) {
		if p == nil {
			return def, nil
		}
		out, err := expr.Run(p, env)
		if err != nil {
			return "", core.Invalid(field, "mapping expression failed: %v", err)
		}
		switch v := out.(type) {
		case string:
			return v, nil
		case nil:
			return def, nil
		case float64, int, int64, bool:
			return fmt.Sprint(v), nil
		default:
			return "", core.Invalid(field, "mapping expression must give a string (got %T)", out)
		}
	}
	ev := core.Event{Source: "aquahub/hooks/" + s.Name, SpecVersion: core.SpecVersion, DataContentType: "application/json"}
	if ev.Type, err = str(s.typ, "type", defType); err != nil {
		return ev, err
	}
	if ev.ID, err = str(s.id, "id", defID); err != nil {
		return ev, err
	}
	if ev.Subject, err = str(s.subject, "subject", defSubject); err != nil {
		return ev, err
	}
	data := env.Body
	if s.data != nil {
		if data, err = expr.Run(s.data, env); err != nil {
			return ev, core.Invalid("data", "mapping expression failed: %v", err)
		}
	}
	if data != nil {
		if ev.Data, err = json.Marshal(data); err != nil {
			return ev, core.Invalid("data", "mapping result is not JSON: %v", err)
		}
	}
	t := now.UTC()
	ev.Time = &t
	if err := ev.Validate(); err != nil {
		return ev, err
	}
	return ev, nil
}

// Result is the Receiver's answer to one request.
type Result struct {
	Accepted core.Accepted `json:"event"`
	// Duplicate is true when the sender's message id was already received.
	Duplicate bool `json:"duplicate,omitempty"`
	// Events lists every event published when one request becomes several (an Airtable
	// ping's changed records, a SendGrid batch's items); Accepted is then the last of them.
	Events []core.Accepted `json:"events,omitempty"`
}

// ReceiverOptions configures a Receiver.
type ReceiverOptions struct {
	// DB keeps the seen message ids (bucket webhooks.inbound). Required.
	DB *bbolt.DB
	// Publisher takes the events (the *core.Engine). Required.
	Publisher webhooks.Publisher
	// Clock defaults to the wall clock.
	Clock webhooks.Clock
	// Retention is how long message ids are remembered (default 72h, at least twice the
	// largest tolerance), covering senders that retry for days with the same id.
	Retention time.Duration
}

// Receiver serves every configured source.
type Receiver struct {
	db        *bbolt.DB
	pub       webhooks.Publisher
	clock     webhooks.Clock
	retention time.Duration
	mu        sync.RWMutex
	sources   map[string]*Source
	lastPrune time.Time
}

var bucketSeen = []byte("webhooks.inbound")

// NewReceiver returns a Receiver serving sources.
func NewReceiver(opts ReceiverOptions, sources ...*Source) (*Receiver, error) {
	if opts.DB == nil || opts.Publisher == nil {
		return nil, errors.New("inbound: DB and Publisher are required")
	}
	r := &Receiver{db: opts.DB, pub: opts.Publisher, clock: opts.Clock, retention: opts.Retention, sources: map[string]*Source{}}
	if r.clock == nil {
		r.clock = webhooks.SystemClock{}
	}
	if r.retention <= 0 {
		r.retention = 72 * time.Hour
	}
	for _, s := range sources {
		r.retention = max(r.retention, 2*s.tolerance)
		r.sources[s.Tenant+"\x00"+s.Name] = s
	}
	err := r.db.Update(func(tx *bbolt.Tx) error {
		for _, b := range [][]byte{bucketSeen, bucketAirtableCursor} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	return r, err
}

// Receive verifies and publishes one request to tenant's source. Unknown sources are
// core.ErrNotFound; failed verification wraps ErrUnauthorized; a repeated message id is
// answered with the first event's id and Duplicate set, publishing nothing.
func (r *Receiver) Receive(ctx context.Context, tenant, source string, header http.Header, body []byte) (Result, error) {
	r.mu.RLock()
	s := r.sources[tenant+"\x00"+source]
	r.mu.RUnlock()
	if s == nil {
		return Result{}, fmt.Errorf("webhook source %q: %w", source, core.ErrNotFound)
	}
	now := r.clock.Now()
	if s.airtable != nil {
		return r.receiveAirtable(ctx, s, header, body, now)
	}
	if _, ok := s.verifier.(SendGrid); ok {
		return r.receiveSendGrid(ctx, s, header, body, now)
	}
	ev, ver, err := s.Event(header, body, now)
	if err != nil {
		return Result{}, err
	}
	seenKey := []byte(tenant + "\x00" + source + "\x00" + ver.ID)
	if ver.ID != "" {
		var dup bool
		_ = r.db.View(func(tx *bbolt.Tx) error {
			v := tx.Bucket(bucketSeen).Get(seenKey)
			dup = len(v) == 8 && int64(binary.BigEndian.Uint64(v)) > now.UnixNano()
			return nil
		})
		if dup {
			return Result{Duplicate: true, Accepted: core.Accepted{ID: ev.ID, Source: ev.Source, Duplicate: true}}, nil
		}
	}
	acc, err := r.pub.Publish(ctx, tenant, ev)
	if err != nil {
		return Result{}, err
	}
	res := Result{Accepted: core.Accepted{ID: ev.ID, Source: ev.Source}}
	if len(acc) == 1 {
		res.Accepted = acc[0]
		res.Duplicate = acc[0].Duplicate
	}
	if ver.ID != "" {
		err := r.db.Batch(func(tx *bbolt.Tx) error {
			var exp [8]byte
			binary.BigEndian.PutUint64(exp[:], uint64(now.Add(r.retention).UnixNano()))
			return tx.Bucket(bucketSeen).Put(seenKey, exp[:])
		})
		if err != nil {
			return res, fmt.Errorf("remembering message id: %w", err)
		}
		r.prune(now)
	}
	return res, nil
}

// prune forgets expired message ids, at most once a minute, in short transactions.
func (r *Receiver) prune(now time.Time) {
	r.mu.Lock()
	if now.Sub(r.lastPrune) < time.Minute {
		r.mu.Unlock()
		return
	}
	r.lastPrune = now
	r.mu.Unlock()
	_ = r.db.Update(func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucketSeen).Cursor()
		n := 0
		for k, v := c.First(); k != nil && n < 1000; k, v = c.Next() {
			if len(v) == 8 && int64(binary.BigEndian.Uint64(v)) <= now.UnixNano() {
				if err := c.Delete(); err != nil {
					return err
				}
				n++
			}
		}
		return nil
	})
}

// Sources lists the served sources as "tenant/name".
func (r *Receiver) Sources() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.sources))
	for _, s := range r.sources {
		out = append(out, s.Tenant+"/"+s.Name)
	}
	return out
}
