package bolt_test

import (
	"testing"

	"github.com/aquascene/aquahub/internal/identity"
	"github.com/aquascene/aquahub/internal/identity/storetest"
	"github.com/aquascene/aquahub/internal/storage/bolt"
)

func TestIdentityContract(t *testing.T) {
	storetest.Run(t, func(tb testing.TB) identity.Store { return openDB(tb, bolt.Config{}).Identity() })
}
