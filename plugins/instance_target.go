package plugins

import (
	"context"
	"fmt"
	"regexp"
	"strings"
)

// An instance is one connector run under a name of its own with settings of its own: the
// step `connector: partner/green-aqua` runs the partner connector with the settings
// Deps.Instances returns for instance green-aqua, where `connector: partner` runs it with the
// tenant's configured settings. The hub uses instances for settings that live in a feature's
// records rather than in the configuration file (a registered partner's catalog API). Each
// instance has its own kv scope, egress client and rate-limit buckets.

// Instance is what Deps.Instances returns for one instance of a connector.
type Instance struct {
	// Grant is the config, secrets and egress the instance runs with.
	Grant TenantConfig
	// Version changes whenever Grant does (a record's update time); the host keeps egress
	// clients per version, so a changed secret or grant takes effect at the next call.
	Version string
	// Output, when set, rewrites each successful output of a rule step (Execute) before the
	// rule sees it, for work the guest cannot do itself (expressions over the partner's own
	// fields). Its error fails the step as it returns it.
	Output func(action string, output map[string]any) (map[string]any, error)
}

// instanceName is what may follow the connector id and its slash.
var instanceName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// splitTarget splits a step target into the connector id and the instance ("" for none).
func splitTarget(target string) (id, instance string) {
	id, instance, _ = strings.Cut(target, "/")
	return id, instance
}

// checkInstanceName refuses an instance name a store key or a log line could not carry.
func checkInstanceName(target string) error {
	if _, inst, ok := strings.Cut(target, "/"); ok && !instanceName.MatchString(inst) {
		return fmt.Errorf("connector %q: the instance after / must match %s", target, instanceName)
	}
	return nil
}

// resolve returns the grant of a call's target and, for an instance, the instance.
func (c *Catalog) resolve(ctx context.Context, tenant, target string) (TenantConfig, *Instance, error) {
	id, name := splitTarget(target)
	if name == "" {
		grant, _ := c.grant(tenant, id)
		return grant, nil, nil
	}
	if err := checkInstanceName(target); err != nil {
		return TenantConfig{}, nil, err
	}
	if c.deps.Instances == nil {
		return TenantConfig{}, nil, fmt.Errorf("connector %q: this hub has no instances of %s", target, id)
	}
	inst, err := c.deps.Instances(ctx, tenant, id, name)
	if err != nil {
		return TenantConfig{}, nil, fmt.Errorf("connector %q: %w", target, err)
	}
	return inst.Grant, &inst, nil
}
