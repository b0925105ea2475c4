package main

import (
	"github.com/aquascene/aquahub/core"
	"github.com/aquascene/aquahub/internal/analytics"
)

// analyticsModule builds content analytics; without storage it can only check analytics
// steps.
func analyticsModule(h *hub) (core.Module, error) {
	deps := analytics.Deps{Logger: h.log.With("feature", "analytics")}
	if h.db != nil {
		deps.Store = h.db.Analytics()
	}
	return analytics.New(deps), nil
}
