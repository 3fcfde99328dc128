package main

import (
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/imstatus/imstatus/wire"
)

// The order scenario's check, kept apart from the load so that it can be
// tested on its own: what one watcher makes of the status pushes it reads.

// orderView is one watcher's view of its targets, kept by the receiver
// rule of the client library: per target, the highest user_status_version
// seen; a status whose version is non-zero and lower than that is stale
// and dropped; any other is accepted (a status without a version, as the
// old engine sends, always is).
type orderView map[string]*orderHeld

// orderHeld is what a view holds of one target.
type orderHeld struct {
	version uint64 // the highest user_status_version seen; 0: none
	// last is the sequence of the last accepted status that carried one
	// (a custom status "o:<n>"); 0: none yet.
	last int
	// cur is the sequence of the status the view holds now, the last
	// accepted one; 0 when that status carries none (just logged in,
	// OFFLINE …).
	cur int
}

// orderCount is what applying statuses did to a view.
type orderCount struct {
	statuses   int64 // status objects read
	stale      int64 // dropped: a version lower than the one held
	outOfOrder int64 // accepted with a sequence lower than the last accepted one
	// example describes the first out-of-order status, for the notes.
	example string
}

func (c *orderCount) addUp(o orderCount) {
	c.statuses += o.statuses
	c.stale += o.stale
	c.outOfOrder += o.outOfOrder
	if c.example == "" {
		c.example = o.example
	}
}

// parseSeq reads n from a custom status "o:<n>" (n ≥ 1, decimal digits only).
func parseSeq(custom string) (int, bool) {
	s, ok := strings.CutPrefix(custom, "o:")
	if !ok || s == "" || len(s) > 9 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, n >= 1
}

// apply applies one status of target id through the receiver rule and
// checks its sequence.
func (v orderView) apply(id string, version uint64, custom string) orderCount {
	c := orderCount{statuses: 1}
	h := v[id]
	if h == nil {
		h = &orderHeld{}
		v[id] = h
	}
	if version != 0 && version < h.version {
		c.stale = 1
		return c
	}
	h.version = max(h.version, version)
	n, ok := parseSeq(custom)
	if !ok {
		h.cur = 0
		return c
	}
	if n < h.last {
		c.outOfOrder = 1
		c.example = id + ": o:" + strconv.Itoa(n) + " accepted after o:" + strconv.Itoa(h.last)
		if version != 0 {
			c.example += " (version " + strconv.FormatUint(version, 10) + ")"
		}
	}
	h.last, h.cur = n, n
	return c
}

// applyFrame applies every status of a status push (any other frame is
// ignored), in the order the frame lists them.
func (v orderView) applyFrame(msg []byte) orderCount {
	var c orderCount
	if gjson.GetBytes(msg, "op").Str != string(wire.OpStatus) {
		return c
	}
	gjson.GetBytes(msg, "body").ForEach(func(_, s gjson.Result) bool {
		var id, custom string
		var version uint64
		s.ForEach(func(k, val gjson.Result) bool {
			switch k.Str {
			case "user_status_identifier":
				id = val.Str
			case "user_status_custom_status":
				custom = val.Str
			case "user_status_version":
				version = val.Uint()
			}
			return true
		})
		c.addUp(v.apply(id, version, custom))
		return true
	})
	return c
}

// holds is the sequence the view holds of target id now (0: none).
func (v orderView) holds(id string) int {
	if h := v[id]; h != nil {
		return h.cur
	}
	return 0
}
