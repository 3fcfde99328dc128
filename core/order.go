package core

import (
	"context"
	"sync"

	"github.com/imstatus/imstatus/wire"
)

// orderer makes requests reach the server in the order their calls were
// made, even though each call runs on its own goroutine: a call takes a
// ticket when it is made and writes its frame only when every earlier
// ticket has been written (or given up).
type orderer struct {
	mu      sync.Mutex
	next    uint64          // the next ticket to hand out
	turn    uint64          // the lowest ticket not yet released
	done    map[uint64]bool // released tickets above turn
	changed chan struct{}   // closed and replaced when turn moves
}

func (o *orderer) reserve() uint64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	t := o.next
	o.next++
	return t
}

// wait returns when it is t's turn, or with 6012 when ctx ends first.
func (o *orderer) wait(ctx context.Context, t uint64) error {
	for {
		o.mu.Lock()
		if o.turn >= t {
			o.mu.Unlock()
			return nil
		}
		if o.changed == nil {
			o.changed = make(chan struct{})
		}
		ch := o.changed
		o.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return wire.Errorf(wire.CodeTimeout, "timed out waiting for earlier calls to be sent")
		}
	}
}

// release gives up t's turn; releasing twice is harmless.
func (o *orderer) release(t uint64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if t < o.turn {
		return
	}
	if o.done == nil {
		o.done = make(map[uint64]bool)
	}
	o.done[t] = true
	moved := false
	for o.done[o.turn] {
		delete(o.done, o.turn)
		o.turn++
		moved = true
	}
	if moved && o.changed != nil {
		close(o.changed)
		o.changed = nil
	}
}

type ticketKey struct{}

// Reserve takes the client's next place in the order of calls and returns a
// context carrying it: a call made later with that context reaches the
// server before any call reserved after it. The C API reserves when a
// function is called and runs the call on another goroutine. A reserved
// context must be used for exactly one call.
func (c *Client) Reserve(ctx context.Context) context.Context {
	return context.WithValue(ctx, ticketKey{}, c.order.reserve())
}

// ticket returns the ticket ctx carries, or a new one.
func (c *Client) ticket(ctx context.Context) uint64 {
	if t, ok := ctx.Value(ticketKey{}).(uint64); ok {
		return t
	}
	return c.order.reserve()
}

// releaseReserved gives up the place ctx carries, if any: a call refused
// before it reached call must not hold up the calls after it.
func (c *Client) releaseReserved(ctx context.Context) {
	if t, ok := ctx.Value(ticketKey{}).(uint64); ok {
		c.order.release(t)
	}
}
