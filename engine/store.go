package engine

import (
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"

	"github.com/devflow/dwf-policy/engine/config"
)

// NewStore returns the data policies read: the configuration's values as
// data.dwf.config (nil means config.Default()). The engine, `dwf-policy
// test` and the rule tests all build their store here, so policies see the
// same data everywhere.
func NewStore(cfg map[string]any) storage.Store {
	if cfg == nil {
		cfg = config.Default()
	}
	return inmem.NewFromObjectWithOpts(map[string]any{"dwf": map[string]any{"config": cfg}}, inmem.OptRoundTripOnWrite(false))
}
