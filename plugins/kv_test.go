package plugins_test

import (
	"testing"

	"github.com/aquascene/aquahub/plugins"
	"github.com/aquascene/aquahub/plugins/storetest"
)

// The in-memory store the package's tests use behaves as the bbolt one does.
func TestMemKVContract(t *testing.T) {
	storetest.Run(t, func(testing.TB) plugins.KVStore { return plugins.NewMemKV() })
}
