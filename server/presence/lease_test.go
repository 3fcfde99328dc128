package presence_test

import (
	"testing"

	"github.com/imstatus/imstatus/server/presence"
)

func TestLeaseNames(t *testing.T) {
	for _, c := range []struct {
		node  string
		epoch int64
		name  string
	}{
		{"node-1-1a2b3c", 0, "node-1-1a2b3c"},
		{"node-1-1a2b3c", 1, "node-1-1a2b3c~1"},
		{"n~x", 12, "n~x~12"},
		{"n~x", 0, "n~x"},
	} {
		if got := presence.LeaseName(c.node, c.epoch); got != c.name {
			t.Errorf("LeaseName(%q, %d) = %q, want %q", c.node, c.epoch, got, c.name)
		}
		if got := presence.NodeOf(c.name); got != c.node {
			t.Errorf("NodeOf(%q) = %q, want %q", c.name, got, c.node)
		}
	}
}
