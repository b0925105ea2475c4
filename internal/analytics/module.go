package analytics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"time"

	"github.com/aquascene/aquahub/core"
)

// Deps are what the analytics module needs from the hub.
type Deps struct {
	// Store keeps targets and observations. Nil makes a module that can only check rule
	// steps (rules lint, rules test): it has no routes.
	Store Store
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Now defaults to time.Now.
	Now func() time.Time
}

// Module is content analytics as a hub feature: the `analytics` step kind and the
// /api/v1/analytics routes over one Store. It has no background work: rules decide when
// sources are read.
type Module struct {
	st  Store
	log *slog.Logger
	now func() time.Time
}

// New builds the module.
func New(deps Deps) *Module {
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	return &Module{st: deps.Store, log: deps.Logger, now: deps.Now}
}

// Name implements core.Module.
func (m *Module) Name() string { return "analytics" }

// StepKinds implements core.StepKindProvider: the `analytics` step.
func (m *Module) StepKinds() []core.StepKind { return []core.StepKind{StepKind{m: m}} }

// errNoStore is what a module built to check rules answers to work.
var errNoStore = errors.New("analytics: this hub has no storage (checking rules only)")

// Track merges what a rule knows of where a content piece lives into its target: a page
// path replaces the stored one, media ids are added.
func (m *Module) Track(ctx context.Context, tenant string, in Target) (Target, error) {
	if m.st == nil {
		return Target{}, errNoStore
	}
	if err := checkTarget(in); err != nil {
		return Target{}, err
	}
	now := m.now().UTC()
	return m.st.UpdateTarget(ctx, tenant, in.ContentID, func(t *Target, exists bool) error {
		if !exists {
			*t = Target{ContentID: in.ContentID, TrackedAt: now}
		}
		if in.ExternalID != "" {
			t.ExternalID = in.ExternalID
		}
		if in.PagePath != "" {
			t.PagePath = in.PagePath
		}
		for _, id := range in.InstagramMediaIDs {
			if !slices.Contains(t.InstagramMediaIDs, id) {
				t.InstagramMediaIDs = append(t.InstagramMediaIDs, id)
			}
		}
		t.UpdatedAt = now
		return nil
	})
}

// Targets returns the tenant's tracked pieces; with maxAge > 0 only those first tracked
// within it.
func (m *Module) Targets(ctx context.Context, tenant string, maxAge time.Duration) ([]Target, error) {
	if m.st == nil {
		return nil, errNoStore
	}
	all, err := m.st.Targets(ctx, tenant)
	if err != nil || maxAge <= 0 {
		return all, err
	}
	since := m.now().Add(-maxAge)
	out := all[:0]
	for _, t := range all {
		if !t.TrackedAt.Before(since) {
			out = append(out, t)
		}
	}
	return out, nil
}

// Record stores one source's observations of one content piece.
func (m *Module) Record(ctx context.Context, tenant string, obs []Observation) error {
	if m.st == nil {
		return errNoStore
	}
	now := m.now().UTC()
	for i := range obs {
		obs[i].RecordedAt = now
	}
	return m.st.Record(ctx, tenant, obs)
}

// ContentTotals returns the totals over p of each content piece (those with no
// observations are absent).
func (m *Module) ContentTotals(ctx context.Context, tenant string, contentIDs []string, p Period) (map[string]Totals, error) {
	if m.st == nil {
		return nil, errNoStore
	}
	if len(contentIDs) == 0 {
		return map[string]Totals{}, nil
	}
	obs, err := m.st.Observations(ctx, tenant, contentIDs, p.To)
	if err != nil {
		return nil, fmt.Errorf("reading observations: %w", err)
	}
	return totalsByContent(obs, p), nil
}

func totalsByContent(obs []Observation, p Period) map[string]Totals {
	out := map[string]Totals{}
	for i := 0; i < len(obs); {
		j := i
		for j < len(obs) && obs[j].ContentID == obs[i].ContentID {
			j++
		}
		out[obs[i].ContentID] = TotalsOf(obs[i:j], p)
		i = j
	}
	return out
}

// Ranked is one content piece in a ranking.
type Ranked struct {
	Target Target
	Totals Totals
}

// Rank orders sort values.
const (
	SortViews      = "views"
	SortClicks     = "clicks"
	SortEngagement = "engagement"
)

// Ranking returns the tenant's content pieces (tracked, or with observations) ordered by
// by (views, clicks or engagement) over p, highest first, at most limit of them.
func (m *Module) Ranking(ctx context.Context, tenant string, p Period, by string, limit int) ([]Ranked, error) {
	if m.st == nil {
		return nil, errNoStore
	}
	measure, ok := measures[by]
	if !ok {
		return nil, core.Invalid("sort", "must be views, clicks or engagement (got %q)", by)
	}
	targets, err := m.st.Targets(ctx, tenant)
	if err != nil {
		return nil, err
	}
	obs, err := m.st.Observations(ctx, tenant, nil, p.To)
	if err != nil {
		return nil, err
	}
	totals := totalsByContent(obs, p)
	byID := map[string]*Ranked{}
	for _, t := range targets {
		byID[t.ContentID] = &Ranked{Target: t}
	}
	for id, t := range totals {
		r := byID[id]
		if r == nil {
			r = &Ranked{Target: Target{ContentID: id}}
			byID[id] = r
		}
		r.Totals = t
	}
	out := make([]Ranked, 0, len(byID))
	for _, r := range byID {
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := measure(out[i].Totals), measure(out[j].Totals)
		if a != b {
			return a > b
		}
		return out[i].Target.ContentID < out[j].Target.ContentID
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

var measures = map[string]func(Totals) float64{
	SortViews:      Totals.Views,
	SortClicks:     func(t Totals) float64 { return t.Clicks },
	SortEngagement: Totals.Engagement,
}

// Detail is one content piece's target, totals over a period and observations.
type Detail struct {
	Target       Target
	Tracked      bool
	Totals       Totals
	Observations []Observation
}

// Content returns one piece's detail over p; a piece neither tracked nor observed is not
// found.
func (m *Module) Content(ctx context.Context, tenant, contentID string, p Period) (Detail, error) {
	if m.st == nil {
		return Detail{}, errNoStore
	}
	d := Detail{Target: Target{ContentID: contentID}}
	t, err := m.st.Target(ctx, tenant, contentID)
	switch {
	case err == nil:
		d.Target, d.Tracked = t, true
	case !errors.Is(err, core.ErrNotFound):
		return Detail{}, err
	}
	obs, err := m.st.Observations(ctx, tenant, []string{contentID}, p.To)
	if err != nil {
		return Detail{}, err
	}
	if !d.Tracked && len(obs) == 0 {
		return Detail{}, fmt.Errorf("content %q has no analytics: %w", contentID, core.ErrNotFound)
	}
	d.Totals = TotalsOf(obs, p)
	for _, o := range obs {
		if !o.Day.Before(p.From) {
			d.Observations = append(d.Observations, o)
		}
	}
	return d, nil
}

var (
	_ core.Module           = (*Module)(nil)
	_ core.StepKindProvider = (*Module)(nil)
)
