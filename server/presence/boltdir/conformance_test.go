package boltdir_test

import (
	"path/filepath"
	"testing"

	"github.com/imstatus/imstatus/server/presence"
	"github.com/imstatus/imstatus/server/presence/boltdir"
	"github.com/imstatus/imstatus/server/presence/storetest"
)

// The durable directory obeys the same rules as the one in memory.
func TestConformance(t *testing.T) {
	storetest.RunDirectory(t, func(t *testing.T) presence.Directory {
		db, err := boltdir.Open(filepath.Join(t.TempDir(), "imstatus.db"), boltdir.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db.App(1400000000)
	})
}
