package bolt_test

import (
	"testing"

	"github.com/aquascene/aquahub/internal/partners"
	"github.com/aquascene/aquahub/internal/partners/storetest"
	"github.com/aquascene/aquahub/internal/storage/bolt"
)

func TestPartnersContract(t *testing.T) {
	storetest.Run(t, func(t testing.TB) partners.Store { return openDB(t, bolt.Config{}).Partners() })
}
