package core

import (
	"sync"

	"github.com/imstatus/imstatus/wire"
)

// NetworkStatus is the state of the link to the server, with upstream's values.
type NetworkStatus int

// The network statuses (enum TIMNetworkStatus).
const (
	Connected     NetworkStatus = 0
	Disconnected  NetworkStatus = 1
	Connecting    NetworkStatus = 2
	ConnectFailed NetworkStatus = 3
)

func (s NetworkStatus) String() string {
	switch s {
	case Connected:
		return "connected"
	case Disconnected:
		return "disconnected"
	case Connecting:
		return "connecting"
	case ConnectFailed:
		return "connect failed"
	}
	return "unknown"
}

// LoginStatus is the client's login state, with upstream's values.
type LoginStatus int

// The login statuses (enum TIMLoginStatus).
const (
	Logined   LoginStatus = 1
	Logining  LoginStatus = 2
	UnLogined LoginStatus = 3
	Logouting LoginStatus = 4
)

// Event is something the client tells the app without being asked:
// StatusChanged, NetworkChanged, KickedOffline or UserSigExpired.
type Event interface{ event() }

// StatusChanged carries statuses that changed: of subscribed users, of
// friends (with the app's auto-notify switch on) and of the user itself.
type StatusChanged struct {
	Statuses []wire.Status
	// JSON is Statuses as the C API's JSON (wire.AppendUserStatuses's
	// form), cut from the server's push when it could be; "" otherwise.
	JSON string
}

// NetworkChanged reports a change of the link to the server.
type NetworkChanged struct {
	Status NetworkStatus
	Code   int
	Desc   string
}

// KickedOffline: a newer login on the same platform, or the app's admin,
// ended this session. The client is logged out.
type KickedOffline struct {
	Code int
	Desc string
}

// UserSigExpired: the server reports the UserSig expired. The client is
// logged out; log in again with a new UserSig.
type UserSigExpired struct {
	Code int
	Desc string
}

func (StatusChanged) event()  {}
func (NetworkChanged) event() {}
func (KickedOffline) event()  {}
func (UserSigExpired) event() {}

// eventQueue hands events to the app's handler from one goroutine, in the
// order they were emitted, so a slow handler never stalls the connection.
// With inline set it calls the handler at once on the emitting goroutine
// instead, for handlers that only queue (the C API's).
type eventQueue struct {
	handler func(Event)
	inline  bool

	mu     sync.Mutex
	queue  []Event
	wake   chan struct{}
	closed bool
	done   chan struct{}

	inflight sync.RWMutex // inline: held for reading while the handler runs
}

func newEventQueue(handler func(Event), inline bool) *eventQueue {
	q := &eventQueue{handler: handler, inline: inline, wake: make(chan struct{}, 1), done: make(chan struct{})}
	if inline {
		close(q.done)
	} else {
		go q.run()
	}
	return q
}

func (q *eventQueue) emit(e Event) {
	if q.handler == nil {
		return
	}
	if q.inline {
		q.inflight.RLock()
		defer q.inflight.RUnlock()
		q.mu.Lock()
		closed := q.closed
		q.mu.Unlock()
		if !closed {
			q.handler(e)
		}
		return
	}
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return
	}
	q.queue = append(q.queue, e)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *eventQueue) run() {
	defer close(q.done)
	for {
		q.mu.Lock()
		batch := q.queue
		q.queue = nil
		closed := q.closed
		q.mu.Unlock()
		for _, e := range batch {
			q.handler(e)
		}
		if closed {
			return
		}
		if len(batch) == 0 {
			<-q.wake
		}
	}
}

// close delivers what is queued, then stops; no event is delivered after it
// returns. It must not be called from the handler.
func (q *eventQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	if q.inline {
		q.inflight.Lock() // wait for handlers running now
		q.inflight.Unlock()
		return
	}
	select {
	case q.wake <- struct{}{}:
	default:
	}
	<-q.done
}
