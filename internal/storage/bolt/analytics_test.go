package bolt_test

import (
	"testing"

	"github.com/aquascene/aquahub/internal/analytics"
	"github.com/aquascene/aquahub/internal/analytics/storetest"
	"github.com/aquascene/aquahub/internal/storage/bolt"
)

func TestAnalyticsContract(t *testing.T) {
	storetest.Run(t, func(t testing.TB) analytics.Store { return openDB(t, bolt.Config{}).Analytics() })
}
