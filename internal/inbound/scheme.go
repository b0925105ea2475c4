package inbound

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/sdk/netguard"
)

// Scheme is one way of authenticating inbound webhooks, selected by SourceConfig.Verifier.
// A scheme is a value; the Schemes registry lists them, and configuration validation and
// module construction both ask it, so a scheme is added in one place (see the package
// documentation).
type Scheme struct {
	// Name is the SourceConfig.Verifier value that selects the scheme.
	Name string
	// Fields are the scheme-specific SourceConfig fields it reads, by configuration name
	// (header, algorithm, tolerance, base_url…). Setting a field that another scheme reads
	// and this one does not is an error naming the field.
	Fields []string
	// New checks the scheme's fields of cfg, its secret above all, and returns its
	// Verifier. Errors are core.Invalid naming the field, joined when there are several.
	New func(cfg SourceConfig) (Verifier, error)
	// Intake, when set, returns how a verified request of the source becomes events, for
	// schemes whose requests are not one event each (a SendGrid batch, an Airtable ping
	// that makes the hub fetch the changes). It may return nil: the request is then one
	// event, mapped by the source's expressions.
	Intake func(cfg SourceConfig, deps IntakeDeps) (Intake, error)
}

// Intake turns a verified request into events and publishes them.
type Intake interface {
	Receive(ctx context.Context, src *Source, req Request, ver Verified) (Result, error)
}

// IntakeDeps are what an Intake may use: the module's store, publisher and the address
// policy for requests the hub makes on a sender's behalf.
type IntakeDeps struct {
	Store     Store
	Publisher core.Publisher
	Policy    netguard.Policy
}

// Schemes is a registry of schemes by name. It is a value built at start, not a global.
type Schemes struct {
	byName map[string]Scheme
	// owners maps each scheme-specific field to the schemes that read it.
	owners map[string][]string
}

// NewSchemes returns a registry holding schemes; a name given twice is an error.
func NewSchemes(schemes ...Scheme) (*Schemes, error) {
	r := &Schemes{byName: map[string]Scheme{}, owners: map[string][]string{}}
	for _, s := range schemes {
		if s.Name == "" || s.New == nil {
			return nil, fmt.Errorf("inbound scheme %q: a name and New are required", s.Name)
		}
		if _, dup := r.byName[s.Name]; dup {
			return nil, fmt.Errorf("inbound scheme %q is registered twice", s.Name)
		}
		r.byName[s.Name] = s
		for _, f := range s.Fields {
			r.owners[f] = append(r.owners[f], s.Name)
		}
	}
	return r, nil
}

// Names lists the registered schemes in order.
func (r *Schemes) Names() []string {
	out := make([]string, 0, len(r.byName))
	for n := range r.byName {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// NewVerifier checks the scheme's part of cfg and returns its verifier.
func (r *Schemes) NewVerifier(cfg SourceConfig) (Verifier, error) {
	_, v, err := r.verifier(cfg)
	return v, err
}

// verifier looks up cfg's scheme, checks the fields it owns and builds its verifier; the
// errors of all three are joined.
func (r *Schemes) verifier(cfg SourceConfig) (Scheme, Verifier, error) {
	s, err := r.scheme(cfg)
	if err != nil {
		return s, nil, err
	}
	ferr := r.checkFields(s, cfg)
	if cfg.Secret == "" {
		return s, nil, ferr // every scheme needs its secret first
	}
	v, verr := s.New(cfg)
	if err := errors.Join(ferr, verr); err != nil {
		return s, nil, err
	}
	return s, v, nil
}

// Validate checks a source's whole configuration as the module will build it: the
// verifier's scheme and its fields, the tolerance and the mapping expressions. Errors are
// core.Invalid naming the field relative to the source.
func (r *Schemes) Validate(cfg SourceConfig) error {
	_, _, err := r.verifier(cfg)
	errs := []error{err}
	if cfg.Tolerance < 0 || cfg.Tolerance > 24*time.Hour {
		errs = append(errs, core.Invalid("tolerance", "must be between 0s and 24h (got %s)", cfg.Tolerance))
	}
	_, perr := compileMapping(cfg)
	return errors.Join(append(errs, perr)...)
}

func (r *Schemes) scheme(cfg SourceConfig) (Scheme, error) {
	if cfg.Verifier == "" {
		return Scheme{}, core.Invalid("verifier", "required (one of %s)", strings.Join(r.Names(), ", "))
	}
	s, ok := r.byName[cfg.Verifier]
	if !ok {
		return Scheme{}, core.Invalid("verifier", "must be one of %s (got %q)", strings.Join(r.Names(), ", "), cfg.Verifier)
	}
	return s, nil
}

// checkFields refuses a missing secret and fields of other schemes.
func (r *Schemes) checkFields(s Scheme, cfg SourceConfig) error {
	var errs []error
	if cfg.Secret == "" {
		errs = append(errs, core.Invalid("secret", "required by verifier %s", s.Name))
	}
	values := cfg.schemeFields()
	names := make([]string, 0, len(values))
	for f := range values {
		names = append(names, f)
	}
	sort.Strings(names)
	for _, f := range names {
		if values[f] == "" || slices.Contains(s.Fields, f) {
			continue
		}
		if owners := r.owners[f]; len(owners) > 0 {
			errs = append(errs, core.Invalid(f, "applies only to verifier %s", strings.Join(owners, " or ")))
		}
	}
	return errors.Join(errs...)
}

// DefaultSchemes returns the schemes aquahub ships, one line each. Adding a scheme is a new
// file defining it and one line here.
func DefaultSchemes() *Schemes {
	r, err := NewSchemes(
		hmacScheme(),
		standardWebhooksScheme(),
		basicScheme(),
		apiKeyScheme(),
		airtableScheme(),
		sendgridScheme(),
		wooCommerceScheme(),
	)
	if err != nil {
		panic(err) // the list above is fixed: a duplicate is a programming error caught by every test
	}
	return r
}
