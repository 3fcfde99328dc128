package sdk

import (
	"runtime"
	"sync"
)

// Dispatcher delivers callbacks. In direct mode one goroutine, locked to its
// own OS thread, runs them one at a time in the order they were posted; in
// queued mode they wait until the host calls Pump on its own thread.
//
// Posting never blocks. Callbacks are only accepted while the dispatcher
// is armed (between Start and Stop), so nothing can fire after Stop returns.
type Dispatcher struct {
	// ThreadID tells the calling OS thread apart, so that Stop knows when it
	// runs inside a callback. capi provides it; nil means "never inside".
	ThreadID func() uint64

	mu      sync.Mutex
	armed   bool
	queued  bool
	queue   []item
	wake    chan struct{}
	running bool          // the direct-mode goroutine exists
	exit    bool          // tells it to end once the queue is empty
	done    chan struct{} // closed when it ended
	tid     uint64        // its OS thread
}

// item is a queued callback; key, when set, names what it reports on (the
// one user of a status change), for PostLatest.
type item struct {
	f   func()
	key string
}

func (d *Dispatcher) initLocked() {
	if d.wake == nil {
		d.wake = make(chan struct{}, 1)
	}
}

// Start arms the dispatcher; in direct mode it starts the delivery thread.
func (d *Dispatcher) Start() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.initLocked()
	d.armed = true
	d.startLocked()
}

func (d *Dispatcher) startLocked() {
	d.exit = false // also revives a thread that a callback's Stop told to end
	if d.queued || d.running {
		return
	}
	d.running = true
	d.exit = false
	d.done = make(chan struct{})
	go d.loop(d.done)
}

// Armed reports whether callbacks are accepted.
func (d *Dispatcher) Armed() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.armed
}

// Post queues f; it returns false (and drops f) when the dispatcher is not armed.
func (d *Dispatcher) Post(f func()) bool { return d.post(f, "") }

// PostLatest is Post for a callback that reports the state of key (a
// user's status): if a callback of the same key still waits, behind nothing
// but other keyed ones, f takes its place instead. A host that falls behind
// (a slow callback, or queued mode pumped rarely) thus gets each key's
// latest state, in order, and the queue does not grow with a flood.
func (d *Dispatcher) PostLatest(key string, f func()) bool { return d.post(f, key) }

func (d *Dispatcher) post(f func(), key string) bool {
	d.mu.Lock()
	if !d.armed {
		d.mu.Unlock()
		return false
	}
	if key != "" {
		for i := len(d.queue) - 1; i >= 0 && d.queue[i].key != ""; i-- {
			if d.queue[i].key == key {
				d.queue[i].f = f
				d.mu.Unlock()
				return true
			}
		}
	}
	d.queue = append(d.queue, item{f, key})
	d.mu.Unlock()
	d.signal()
	return true
}

func (d *Dispatcher) signal() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// loop is the direct-mode delivery thread. It stays locked to its OS thread
// and ends with it: Mono (6.8) hangs at exit while a thread that called a
// managed delegate still exists, and one thread keeps callbacks in order.
func (d *Dispatcher) loop(done chan struct{}) {
	runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
	d.mu.Lock()
	if d.ThreadID != nil {
		d.tid = d.ThreadID()
	}
	d.mu.Unlock()
	defer close(done)
	for {
		// One at a time from the shared queue: a Stop inside a callback
		// must find, and run, everything still queued behind it.
		d.mu.Lock()
		if d.queued || len(d.queue) == 0 {
			if d.exit || d.queued {
				d.running = false
				d.tid = 0
				d.mu.Unlock()
				return
			}
			d.mu.Unlock()
			<-d.wake
			continue
		}
		f := d.queue[0].f
		d.queue[0] = item{}
		d.queue = d.queue[1:]
		d.mu.Unlock()
		f()
	}
}

// onDispatchThread reports whether the caller runs on the delivery thread,
// i.e. inside a callback.
func (d *Dispatcher) onDispatchThread() bool {
	if d.ThreadID == nil {
		return false
	}
	d.mu.Lock()
	tid := d.tid
	d.mu.Unlock()
	return tid != 0 && tid == d.ThreadID()
}

// SetQueued switches between queued (true) and direct mode. Callbacks queued
// when switching to direct are handed to the delivery thread.
func (d *Dispatcher) SetQueued(queued bool) {
	d.mu.Lock()
	d.initLocked()
	d.queued = queued
	if !queued && d.armed {
		d.startLocked()
	}
	d.mu.Unlock()
	d.signal()
}

// Queued reports the mode.
func (d *Dispatcher) Queued() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.queued
}

// Pump runs up to max queued callbacks (max <= 0: all) on the calling
// thread and returns how many ran; -1 in direct mode.
func (d *Dispatcher) Pump(max int) int {
	n := 0
	for max <= 0 || n < max {
		d.mu.Lock()
		if !d.queued {
			d.mu.Unlock()
			if n == 0 {
				return -1
			}
			return n
		}
		if len(d.queue) == 0 {
			d.mu.Unlock()
			return n
		}
		f := d.queue[0].f
		d.queue[0] = item{}
		d.queue = d.queue[1:]
		d.mu.Unlock()
		f()
		n++
	}
	return n
}

// Stop disarms the dispatcher after delivering everything queued, then
// ends the delivery thread. When Stop returns no callback runs any more,
// except — when Stop is called from inside a callback — the rest of that
// callback itself. In queued mode the remaining callbacks run on the caller.
func (d *Dispatcher) Stop() {
	d.mu.Lock()
	d.initLocked()
	d.armed = false
	queued, running, done := d.queued, d.running, d.done
	d.exit = true
	d.mu.Unlock()

	if queued || d.onDispatchThread() {
		// Run what is left right here: the host's thread in queued mode,
		// or the delivery thread itself when a callback called Stop.
		for {
			d.mu.Lock()
			batch := d.queue
			d.queue = nil
			d.mu.Unlock()
			if len(batch) == 0 {
				break
			}
			for _, it := range batch {
				it.f()
			}
		}
		if !queued {
			return // the delivery thread ends when the callback returns
		}
	}
	d.signal()
	if running && done != nil {
		<-done
	}
}
