package bolt_test

import (
	"testing"

	"github.com/aquascene/aquahub/internal/storage/bolt"
	"github.com/aquascene/aquahub/internal/webhooks"
	"github.com/aquascene/aquahub/internal/webhooks/storetest"
)

func TestWebhooksContract(t *testing.T) {
	storetest.Run(t, func(t testing.TB) webhooks.Store { return openDB(t, bolt.Config{}).Webhooks() })
}
