package bolt_test

import (
	"testing"

	"github.com/aquascene/aquahub/internal/partners"
	"github.com/aquascene/aquahub/internal/partners/storetest"
)

func TestPartnersContract(t *testing.T) {
	storetest.Run(t, func(t testing.TB) partners.Store { return openDB(t).Partners() })
}
