package bolt_test

import (
	"testing"

	"github.com/aquascene/aquahub/internal/inbound"
	"github.com/aquascene/aquahub/internal/inbound/storetest"
)

func TestInboundContract(t *testing.T) {
	storetest.Run(t, func(t testing.TB) inbound.Store { return openDB(t).Inbound() })
}
