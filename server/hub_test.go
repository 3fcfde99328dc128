package server

import (
	"sync"
	"testing"
	"time"
)

// The hub keeps a user's connections and delivery order: pruning forgets
// only users without connections, without a delivery under way, and idle
// past orderingIdle; a connection added while its entry is pruned lands in
// the live entry.
func TestHubPrune(t *testing.T) {
	h := newHub()
	t0 := time.Unix(1800000000, 0)
	c1, c2 := device(1), device(2)
	h.add("a", c1)
	h.add("a", c2)
	_, done := h.deliver("b", t0)

	h.prune(t0.Add(2 * orderingIdle))
	if got := h.connsOf("a"); len(got) != 2 {
		t.Fatalf("a's connections after a prune: %d, want 2", len(got))
	}
	if _, ok := h.users.Load("b"); !ok {
		t.Fatal("b was pruned while a delivery held it")
	}
	done()
	h.prune(t0.Add(2 * orderingIdle))
	if _, ok := h.users.Load("b"); ok {
		t.Fatal("b, idle and without connections, was kept")
	}

	if h.take("a", 1) != c1 || h.take("a", 1) != nil || h.devices.Load() != 1 {
		t.Fatal("take")
	}
	h.take("a", 2)
	if _, done := h.deliver("a", t0.Add(3*orderingIdle)); true {
		done()
	}
	h.prune(t0.Add(3*orderingIdle + time.Second)) // used just now: kept
	if _, ok := h.users.Load("a"); !ok {
		t.Fatal("a was pruned right after a delivery")
	}

	// Adds racing with prunes: every connection is found afterwards.
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Go(func() { h.add("r", device(uint64(100+i))) })
		wg.Go(func() { h.prune(t0.Add(10 * orderingIdle)) })
	}
	wg.Wait()
	if got := len(h.connsOf("r")); got != 200 {
		t.Fatalf("%d of 200 connections found after adds racing with prunes", got)
	}
}

// device is a connection logged in as device number n.
func device(n uint64) *conn {
	c := &conn{id: n}
	c.device.Store(n)
	return c
}
