package core

import (
	"time"

	"github.com/imstatus/imstatus/wire"
)

// The local rate limits keep one window per API (wire.API…).
const (
	apiGet         = wire.APIGet
	apiSubscribe   = wire.APISubscribe
	apiUnsubscribe = wire.APIUnsubscribe
)

// Limits used until the server has told its own at login.
var defaultLimits = wire.DefaultLimits

type window struct {
	start time.Time
	count int
}

// admit applies the batch size and the rate limit locally, as the server
// would, so a call that would be refused costs no round trip. The server
// stays authoritative.
func (c *Client) admit(api string, n int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	l := c.limitsLocked()
	maxIDs := l.MaxSubscribeIDs
	if api == apiGet {
		maxIDs = l.MaxGetIDs
	}
	if n > maxIDs {
		return wire.Errorf(wire.CodeBatchTooLarge, "%d ids in one call; at most %d", n, maxIDs)
	}
	win := time.Duration(l.RateLimitWindowMS) * time.Millisecond
	now := c.cfg.Now()
	w := c.windows[api]
	if w == nil || now.Sub(w.start) >= win {
		w = &window{start: now}
		c.windows[api] = w
	}
	if w.count >= l.RateLimitCalls {
		return wire.Errorf(wire.CodeRateLimited, "more than %d calls in %v; try again in %v",
			l.RateLimitCalls, win, (win - now.Sub(w.start)).Round(time.Millisecond))
	}
	w.count++
	return nil
}

// limitsLocked returns the server's limits, defaults filling what it did not say.
func (c *Client) limitsLocked() wire.Limits {
	l := c.limits
	d := defaultLimits
	if l.RateLimitCalls == 0 {
		l.RateLimitCalls = d.RateLimitCalls
	}
	if l.RateLimitWindowMS == 0 {
		l.RateLimitWindowMS = d.RateLimitWindowMS
	}
	if l.MaxGetIDs == 0 {
		l.MaxGetIDs = d.MaxGetIDs
	}
	if l.MaxSubscribeIDs == 0 {
		l.MaxSubscribeIDs = d.MaxSubscribeIDs
	}
	if l.MaxSubscriptions == 0 {
		l.MaxSubscriptions = d.MaxSubscriptions
	}
	return l
}

func (c *Client) maxSubscriptions() int { return c.limitsLocked().MaxSubscriptions }
