package sdk

import (
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func tid() uint64 { return uint64(syscall.Gettid()) }

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestDispatcherOneThreadInOrder(t *testing.T) {
	d := &Dispatcher{ThreadID: tid}
	d.Start()
	var mu sync.Mutex
	var got []int
	threads := map[uint64]bool{}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				n := g*100 + i
				d.Post(func() {
					mu.Lock()
					got = append(got, n)
					threads[tid()] = true
					mu.Unlock()
				})
			}
		}()
	}
	wg.Wait()
	d.Stop() // delivers everything queued first
	if len(got) != 800 {
		t.Fatalf("%d callbacks ran, want 800", len(got))
	}
	if len(threads) != 1 {
		t.Fatalf("callbacks ran on %d threads, want 1", len(threads))
	}
	// Per poster, order is kept.
	last := map[int]int{}
	for _, n := range got {
		if prev, ok := last[n/100]; ok && n < prev {
			t.Fatalf("out of order: %d after %d", n, prev)
		}
		last[n/100] = n
	}
	if d.Post(func() { t.Error("ran after Stop") }) {
		t.Fatal("Post accepted after Stop")
	}
}

func TestDispatcherQueuedPump(t *testing.T) {
	d := &Dispatcher{ThreadID: tid}
	d.SetQueued(true)
	d.Start()
	var ran atomic.Int32
	var onThread atomic.Bool
	me := tid()
	for range 5 {
		d.Post(func() { ran.Add(1); onThread.Store(tid() == me) })
	}
	if ran.Load() != 0 {
		t.Fatal("queued callbacks ran before the pump")
	}
	if n := d.Pump(2); n != 2 || ran.Load() != 2 || !onThread.Load() {
		t.Fatalf("pump(2) ran %d (total %d, on caller %v)", n, ran.Load(), onThread.Load())
	}
	// Back to direct mode: the rest go to the delivery thread.
	d.SetQueued(false)
	waitFor(t, "the remaining callbacks", func() bool { return ran.Load() == 5 })
	if d.Pump(0) != -1 {
		t.Fatal("Pump in direct mode should return -1")
	}
	d.Stop()
}

func TestDispatcherStopInsideCallback(t *testing.T) {
	d := &Dispatcher{ThreadID: tid}
	d.Start()
	var after atomic.Bool
	var ran atomic.Int32
	stopped := make(chan struct{})
	d.Post(func() {
		d.Post(func() { ran.Add(1) }) // queued behind this one
		d.Stop()                      // must not deadlock; runs the queued one here
		after.Store(true)
		close(stopped)
	})
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("Stop inside a callback deadlocked")
	}
	if ran.Load() != 1 {
		t.Fatalf("the callback queued before Stop ran %d times", ran.Load())
	}
	if d.Post(func() { t.Error("ran after Stop") }) {
		t.Fatal("Post accepted after Stop")
	}
	// It can be armed again.
	d.Start()
	done := make(chan struct{})
	d.Post(func() { close(done) })
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("no delivery after a restart")
	}
	d.Stop()
}

func TestDispatcherQueuedStopRunsOnCaller(t *testing.T) {
	d := &Dispatcher{ThreadID: tid}
	d.SetQueued(true)
	d.Start()
	me := tid()
	var on atomic.Bool
	d.Post(func() { on.Store(tid() == me) })
	d.Stop()
	if !on.Load() {
		t.Fatal("in queued mode Stop must run what is left on the caller's thread")
	}
}

// Callbacks already queued behind the one that calls Stop run before Stop
// returns, never after.
func TestDispatcherStopInsideCallbackRunsTheQueue(t *testing.T) {
	d := &Dispatcher{ThreadID: tid}
	d.Start()
	release := make(chan struct{})
	var stopped atomic.Bool
	var ranBefore, ranAfter atomic.Int32
	done := make(chan struct{})
	d.Post(func() { <-release }) // holds the thread while the rest is queued
	d.Post(func() { d.Stop(); stopped.Store(true); close(done) })
	for range 4 {
		d.Post(func() {
			if stopped.Load() {
				ranAfter.Add(1)
			} else {
				ranBefore.Add(1)
			}
		})
	}
	close(release)
	<-done
	time.Sleep(50 * time.Millisecond) // a negative check: stragglers
	if ranBefore.Load() != 4 || ranAfter.Load() != 0 {
		t.Fatalf("queued behind Stop: %d ran before it returned, %d after", ranBefore.Load(), ranAfter.Load())
	}
}

// Switching to queued mode leaves what is queued for the pump.
func TestDispatcherSwitchToQueuedKeepsTheRest(t *testing.T) {
	d := &Dispatcher{ThreadID: tid}
	d.Start()
	release := make(chan struct{})
	started := make(chan struct{})
	var ran atomic.Int32
	d.Post(func() { close(started); <-release })
	for range 3 {
		d.Post(func() { ran.Add(1) })
	}
	<-started
	d.SetQueued(true)
	close(release)
	time.Sleep(50 * time.Millisecond) // a negative check
	if ran.Load() != 0 {
		t.Fatalf("%d ran on the delivery thread after the switch to queued mode", ran.Load())
	}
	if n := d.Pump(0); n != 3 {
		t.Fatalf("pump ran %d, want 3", n)
	}
	d.Stop()
}

// PostLatest replaces a waiting callback of the same key, looking back only
// over keyed callbacks: an unkeyed one (a call's result) is never overtaken.
func TestDispatcherPostLatest(t *testing.T) {
	d := &Dispatcher{ThreadID: tid}
	d.SetQueued(true)
	d.Start()
	defer d.Stop()
	var got []string
	post := func(key, name string) { d.PostLatest(key, func() { got = append(got, name) }) }
	post("a", "a1")
	post("b", "b1")
	post("a", "a2") // replaces a1, in a1's place
	d.Post(func() { got = append(got, "result") })
	post("a", "a3") // behind the result: queued anew
	post("b", "b2")
	post("a", "a4") // replaces a3
	if n := d.Pump(0); n != 5 {
		t.Fatalf("pumped %d, want 5", n)
	}
	want := []string{"a2", "b1", "result", "a4", "b2"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}
