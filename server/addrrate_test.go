package server

import (
	"testing"
	"time"
)

// A bucket allows a burst of n, refills at n a second, and is forgotten at
// the sweep once full again.
func TestAddrRateForgetsFullBuckets(t *testing.T) {
	r := newAddrRate(3)
	now := time.Unix(1800000000, 0)
	for i := range 3 {
		if !r.allow("x", now) {
			t.Fatalf("login %d of a burst of 3 refused", i+1)
		}
	}
	if r.allow("x", now) {
		t.Fatal("a fourth login in the same instant allowed")
	}
	if !r.allow("x", now.Add(400*time.Millisecond)) { // 1.2 tokens back
		t.Fatal("no token back after 400 ms at 3 a second")
	}
	r.sweep(now.Add(10 * time.Second))
	if n := len(r.by); n != 0 {
		t.Fatalf("%d buckets kept after they refilled", n)
	}
}
