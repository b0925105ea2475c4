package identity

import (
	"maps"
	"slices"
	"time"

	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/sdk/api"
)

// The conversions between the domain's types and the API's. Secret values go one way only:
// from an input into the domain; answers carry their names.

func apiKey(k Key, now time.Time) api.APIKey {
	status := "active"
	switch {
	case !k.RevokedAt.IsZero():
		status = "revoked"
	case !k.Active(now):
		status = "expired"
	}
	return api.APIKey{ID: k.ID, Prefix: k.Prefix(), Name: k.Name, Role: k.Role, CreatedBy: k.CreatedBy, CreatedAt: k.CreatedAt,
		ExpiresAt: k.ExpiresAt, RevokedAt: k.RevokedAt, Status: status}
}

func apiAudit(e core.AuditEntry) api.AuditEntry {
	return api.AuditEntry{ID: e.ID, Tenant: e.Tenant, Time: e.Time, Actor: e.Actor, Action: e.Action, Target: e.Target,
		Outcome: e.Outcome, Detail: e.Detail, RemoteAddr: e.RemoteAddr}
}

func apiAuditList(es []core.AuditEntry, limit int) api.AuditList {
	out := api.AuditList{Entries: make([]api.AuditEntry, 0, len(es))}
	for _, e := range es {
		out.Entries = append(out.Entries, apiAudit(e))
	}
	if len(es) == limit && limit > 0 {
		out.Next = es[len(es)-1].ID
	}
	return out
}

func apiTenant(t *core.Tenant) api.Tenant {
	out := api.Tenant{
		ID: t.ID, Name: t.Name, Suspended: t.Suspended,
		Brand: api.TenantBrand{Voice: t.Brand.Voice, TargetAudience: t.Brand.TargetAudience, KeyMessages: t.Brand.KeyMessages},
		Limits: api.TenantLimits{DailyRequests: t.Limits.DailyRequests, IngestRate: t.Limits.IngestRate, IngestBurst: t.Limits.IngestBurst,
			LLMDailyTokens: t.Limits.LLMDailyTokens, LLMDailyUSD: t.Limits.LLMDailyUSD, MaxQueuedRuns: t.Limits.MaxQueuedRuns},
		Features: t.Features, Pinned: t.Pinned, Revision: t.Revision, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt,
	}
	if len(t.Connectors) > 0 {
		out.Connectors = map[string]api.TenantConnector{}
		for id, g := range t.Connectors {
			out.Connectors[id] = api.TenantConnector{Config: g.Config, Egress: g.Egress, SecretOrigins: g.SecretOrigins, Secrets: slices.Sorted(maps.Keys(g.Secrets))}
		}
	}
	if len(t.Sources) > 0 {
		out.Sources = map[string]api.TenantSource{}
		for name, s := range t.Sources {
			settings := s.Settings
			if settings == nil {
				settings = map[string]string{}
			}
			out.Sources[name] = api.TenantSource{Settings: settings, Secrets: slices.Sorted(maps.Keys(s.Secrets))}
		}
	}
	return out
}

func brand(b api.TenantBrand) core.BrandGuidelines {
	return core.BrandGuidelines{Voice: b.Voice, TargetAudience: b.TargetAudience, KeyMessages: b.KeyMessages}
}

func tenantLimits(l api.TenantLimits) core.TenantLimits {
	return core.TenantLimits{DailyRequests: l.DailyRequests, IngestRate: l.IngestRate, IngestBurst: l.IngestBurst,
		LLMDailyTokens: l.LLMDailyTokens, LLMDailyUSD: l.LLMDailyUSD, MaxQueuedRuns: l.MaxQueuedRuns}
}

func connectorInputs(in map[string]api.TenantConnectorInput, remove []string) map[string]*core.ConnectorGrant {
	if len(in) == 0 && len(remove) == 0 {
		return nil
	}
	out := map[string]*core.ConnectorGrant{}
	for id, c := range in {
		out[id] = &core.ConnectorGrant{Config: c.Config, Secrets: c.Secrets, Egress: c.Egress, SecretOrigins: c.SecretOrigins}
	}
	for _, id := range remove {
		out[id] = nil
	}
	return out
}

func sourceInputs(in map[string]api.TenantSourceInput, remove []string) map[string]*core.SourceSettings {
	if len(in) == 0 && len(remove) == 0 {
		return nil
	}
	out := map[string]*core.SourceSettings{}
	for name, s := range in {
		out[name] = &core.SourceSettings{Settings: s.Settings, Secrets: s.Secrets}
	}
	for _, name := range remove {
		out[name] = nil
	}
	return out
}

// patchOf converts a creation's or a patch's sections.
func tenantInputPatch(in api.TenantInput) TenantPatch {
	p := TenantPatch{Connectors: connectorInputs(in.Connectors, nil), Sources: sourceInputs(in.Sources, nil)}
	if in.Name != "" {
		p.Name = &in.Name
	}
	if in.Brand != nil {
		b := brand(*in.Brand)
		p.Brand = &b
	}
	if in.Limits != nil {
		l := tenantLimits(*in.Limits)
		p.Limits = &l
	}
	if in.Features != nil {
		p.Features = &in.Features
	}
	return p
}

func tenantPatch(in api.TenantPatch) TenantPatch {
	p := TenantPatch{Name: in.Name, Connectors: connectorInputs(in.Connectors, in.RemoveConnectors), Sources: sourceInputs(in.Sources, in.RemoveSources)}
	if in.Brand != nil {
		b := brand(*in.Brand)
		p.Brand = &b
	}
	if in.Limits != nil {
		l := tenantLimits(*in.Limits)
		p.Limits = &l
	}
	if in.Features != nil {
		p.Features = &in.Features
	}
	return p
}
