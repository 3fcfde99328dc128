package memstore_test

import (
	"testing"

	"github.com/imstatus/imstatus/server/presence"
	"github.com/imstatus/imstatus/server/presence/memstore"
	"github.com/imstatus/imstatus/server/presence/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(*testing.T) presence.Backend { return memstore.NewBackend() })
}
