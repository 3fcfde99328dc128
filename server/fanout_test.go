package server

import (
	"testing"
	"time"

	"github.com/imstatus/imstatus/wire"
)

func TestFanoutCap(t *testing.T) {
	t0 := time.Unix(1800000000, 0)
	st := func(user string, v uint64) wire.Status {
		return wire.Status{UserID: user, Type: wire.StatusOnline, Version: v}
	}
	f := newFanoutCap(2, 3) // 2 a second, bursts of 3

	// The burst goes out; past it changes are held, the newest replacing.
	for v := uint64(1); v <= 3; v++ {
		if ok, _ := f.admit(st("x", v), t0); !ok {
			t.Fatalf("change %d of the burst was held", v)
		}
	}
	if ok, merged := f.admit(st("x", 4), t0); ok || merged {
		t.Fatalf("change 4: ok %v merged %v; want held, not merged", ok, merged)
	}
	if ok, merged := f.admit(st("x", 5), t0); ok || !merged {
		t.Fatalf("change 5: ok %v merged %v; want held, merging 4", ok, merged)
	}
	// An older one arriving late does not replace the newer held one.
	if ok, merged := f.admit(st("x", 2), t0); ok || !merged {
		t.Fatalf("a late change 2: ok %v merged %v", ok, merged)
	}
	// Another user is not held back by x.
	if ok, _ := f.admit(st("y", 1), t0); !ok {
		t.Fatal("y was held because of x")
	}
	if due := f.due(t0); len(due) != 0 {
		t.Fatalf("due with no token back: %+v", due)
	}
	// Half a second gives x a token: the newest held change goes, once.
	due := f.due(t0.Add(500 * time.Millisecond))
	if len(due) != 1 || due[0].UserID != "x" || due[0].Version != 5 {
		t.Fatalf("due after 0.5 s: %+v; want x's change 5", due)
	}
	if due := f.due(t0.Add(500 * time.Millisecond)); len(due) != 0 {
		t.Fatalf("due again: %+v", due)
	}
	// While nothing is held, a change with a token goes at once.
	if ok, _ := f.admit(st("x", 6), t0.Add(time.Second)); !ok {
		t.Fatal("x's change 6, with a token back, was held")
	}
	// Quiet users are forgotten once their buckets are full again: y at
	// the last sweep already, x after a while.
	if n := f.tracked(); n != 1 {
		t.Fatalf("tracking %d users, want x only", n)
	}
	f.due(t0.Add(time.Minute))
	if n := f.tracked(); n != 0 {
		t.Fatalf("tracking %d users after a quiet minute", n)
	}
}
