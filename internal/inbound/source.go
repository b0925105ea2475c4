package inbound

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/sdk/signature"
	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"
)

// Source is one configured source, compiled: POST /hooks/{Tenant}/{Name}.
type Source struct {
	Tenant, Name string
	verifier     Verifier
	// intake, when set, replaces the default one-event handling (a SendGrid batch, an
	// Airtable payload fetch).
	intake    Intake
	tolerance time.Duration
	mapping
}

// mapping is a source's compiled expressions; nil ones take the defaults.
type mapping struct {
	typ, id, subject, data *vm.Program
}

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

// compileMapping compiles cfg's type, id, subject and data expressions; errors name the
// field.
func compileMapping(cfg SourceConfig) (mapping, error) {
	var m mapping
	var errs []error
	for _, f := range []struct {
		dst  **vm.Program
		code string
		path string
	}{{&m.typ, cfg.Type, "type"}, {&m.id, cfg.ID, "id"}, {&m.subject, cfg.Subject, "subject"}, {&m.data, cfg.Data, "data"}} {
		if strings.TrimSpace(f.code) == "" {
			continue
		}
		p, err := expr.Compile(f.code, expr.Env(exprEnv{}))
		if err != nil {
			errs = append(errs, core.Invalid(f.path, "%v", err))
			continue
		}
		*f.dst = p
	}
	return m, errors.Join(errs...)
}

// compileSource builds the source name of tenant from cfg through the schemes.
func compileSource(tenant, name string, cfg SourceConfig, schemes *Schemes, deps IntakeDeps) (*Source, error) {
	if !ValidSourceName(name) {
		return nil, fmt.Errorf("source name %q: use lowercase letters, digits, - and _", name)
	}
	if err := schemes.Validate(cfg); err != nil {
		return nil, err
	}
	scheme, v, err := schemes.verifier(cfg)
	if err != nil {
		return nil, err
	}
	m, err := compileMapping(cfg)
	if err != nil {
		return nil, err
	}
	s := &Source{Tenant: tenant, Name: name, verifier: v, tolerance: cfg.Tolerance, mapping: m}
	if s.tolerance == 0 {
		s.tolerance = signature.DefaultTolerance
	}
	if scheme.Intake != nil {
		if s.intake, err = scheme.Intake(cfg, deps); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// event maps a verified request to a CloudEvent (without tenant and sequence).
func (s *Source) event(req Request, ver Verified) (core.Event, error) {
	var parsed any
	if len(bytes.TrimSpace(req.Body)) > 0 {
		if err := json.Unmarshal(req.Body, &parsed); err != nil {
			parsed = string(req.Body)
		}
	}
	verified := map[string]any{"id": ver.ID}
	if !ver.Timestamp.IsZero() {
		verified["timestamp"] = ver.Timestamp.Unix()
	}
	env := exprEnv{Body: parsed, Headers: headerMap(req.Header), Tenant: s.Tenant, Source: s.Name, Verified: verified, Raw: string(req.Body)}
	defID := ver.ID
	if defID == "" {
		defID = hashID(req.Body)
	}
	return s.mapEvent(env, s.Name+".received", defID, "", req.Now)
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

func eventSource(name string) string { return "aquahub/hooks/" + name }

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
	ev := core.Event{Source: eventSource(s.Name), SpecVersion: core.SpecVersion, DataContentType: "application/json"}
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
