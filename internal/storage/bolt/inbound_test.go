package bolt_test

import (
	"testing"

	"github.com/aquascene/aquahub/internal/inbound"
	"github.com/aquascene/aquahub/internal/inbound/storetest"
	"github.com/aquascene/aquahub/internal/storage/bolt"
)

func TestInboundContract(t *testing.T) {
	storetest.Run(t, func(t testing.TB) inbound.Store { return openDB(t, bolt.Config{}).Inbound() })
}
