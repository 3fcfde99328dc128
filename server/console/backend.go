package console

import (
	"context"
	"errors"
	"time"
)

// Backend is what the console needs of the server it administers.
// Package server implements it; every method that reads or changes an
// app's users is called only for the app of a session whose credentials
// were checked again for that request.
type Backend interface {
	// Node names this node among the nodes sharing a backend.
	Node() string
	// CheckAdmin checks identifier and userSig as the REST API checks its
	// caller: the app is served, identifier is its admin, the UserSig is
	// valid now. A nil error is a pass.
	CheckAdmin(app uint64, identifier, userSig string) error
	// CheckKey reports whether key is the secret key of a served app,
	// compared in constant time, and returns the app's admin identifier.
	CheckKey(app uint64, key string) (admin string, ok bool)
	// Stats are this node's counters now, and the nodes of the cluster.
	Stats(ctx context.Context, app uint64) Stats
	// Inspect describes user of app.
	Inspect(ctx context.Context, app uint64, user string) (User, error)
	// Relation tells whether y hears of x's changes, and why.
	Relation(ctx context.Context, app uint64, x, y string) (Relation, error)
	// KickDevice logs out user's device (node's number device) as an
	// admin's kick does, on whichever node holds it; KickUser every device
	// of user, as the REST kick does.
	KickDevice(ctx context.Context, app uint64, user, node string, device uint64) error
	KickUser(ctx context.Context, app uint64, user string) error
	// Import creates accounts as the REST multiaccount_import does.
	Import(ctx context.Context, app uint64, ids []string) error
}

// Refusal is an error the console shows its user as is: a request the
// server refused (what the REST API would answer), not a failure.
type Refusal struct {
	Code int // the REST API's error code, 0 when it has none
	Info string
}

func (r *Refusal) Error() string { return r.Info }

func refusal(err error) (*Refusal, bool) {
	var r *Refusal
	ok := errors.As(err, &r)
	return r, ok
}

// Stats are a node's counters, cumulative, and its gauges. Counters are
// the node's, all apps together (what /metrics serves); Devices is the
// session's app's. Nodes are the nodes sharing the backend, this one
// included, as each last told the others (within a second or so).
type Stats struct {
	Node        string            `json:"node"`
	Time        time.Time         `json:"time"`
	Connections int               `json:"connections"`
	Devices     int64             `json:"devices"`
	Counters    map[string]uint64 `json:"counters"`
	// AppCounters are the session's app's part of Counters, for those a
	// node counts by app (logins, refused logins, status pushes,
	// superseded pushes, slow readers closed).
	AppCounters map[string]uint64 `json:"app_counters"`
	Nodes       []Node            `json:"nodes"`
	// NodesError says why Nodes could not be read ("" when they were).
	NodesError string `json:"nodes_error,omitempty"`
}

// Node is one node of the cluster in the overview.
type Node struct {
	Node        string    `json:"node"`
	Connections int       `json:"connections"`
	Devices     int64     `json:"devices"` // the session's app's
	Share       float64   `json:"share"`   // of the app's devices, 0 to 1
	At          time.Time `json:"at"`      // when the node told its figures
}

// User is what the console shows of one user.
type User struct {
	ID     string `json:"id"`
	Exists bool   `json:"exists"`
	Status string `json:"status"` // ONLINE, OFFLINE, UNLOGINED or UNKNOWN (no account)
	Custom string `json:"custom"`
	// Version of the status, as clients get it.
	Version uint64 `json:"version"`
	// Platforms of the live devices on every node, in login order.
	Platforms []string `json:"platforms"`
	// Devices are the user's live devices on this node.
	Devices []Device `json:"devices"`
	// Subscriptions oldest first: the first is the next one evicted.
	Subscriptions    []string `json:"subscriptions"`
	MaxSubscriptions int      `json:"max_subscriptions"`
	Subscribers      []string `json:"subscribers"`
	Friends          []string `json:"friends"`
	// FriendOf are the users whose friend list holds this one: with
	// auto-notify on, they hear of its changes.
	FriendOf    []string     `json:"friend_of"`
	AutoNotify  bool         `json:"auto_notify"`
	Transitions []Transition `json:"transitions"`
	// HistoryLen is how many transitions a node keeps of a user.
	HistoryLen int `json:"history_len"`
	// Delivered is this node's last delivery of the user's status, nil
	// when the node keeps none: it forgets a user a minute after its last
	// delivery when none of the user's devices is here. A Version below
	// the status's tells that this node missed a change.
	Delivered *Delivery `json:"delivered,omitempty"`
	// Listeners are the nodes a change of the user is sent to, when the
	// backend routes changes between nodes; empty on a single node.
	Listeners []string `json:"listeners,omitempty"`
}

// Delivery is a node's last delivery of a user's status.
type Delivery struct {
	// Version is the newest version a delivery on this node took.
	Version uint64 `json:"version"`
	// At is when a delivery of the user last came, newer or not.
	At time.Time `json:"at"`
}

// Device is a live device of a user, on this node or another.
type Device struct {
	Device   uint64 `json:"device"` // its node's number of it
	Node     string `json:"node"`
	Platform string `json:"platform"`
	// Here is true for a device on this node: only those have Since and
	// LastHeartbeat (each node knows its own links).
	Here bool `json:"here"`
	// Since is when it logged in, zero when the history no longer holds it.
	Since         time.Time `json:"since"`
	LastHeartbeat time.Time `json:"last_heartbeat"`
}

// Transition is one recent change of a device of a user on this node.
type Transition struct {
	At       time.Time `json:"at"`
	Event    string    `json:"event"`
	Platform string    `json:"platform"`
	Device   uint64    `json:"device"`
	Status   string    `json:"status"` // the user's status after it
}

// Relation is whether Y hears of X's changes, and why.
type Relation struct {
	X           string   `json:"x"`
	Y           string   `json:"y"`
	Hears       bool     `json:"hears"`
	Reasons     []string `json:"reasons"`
	Subscribed  bool     `json:"subscribed"`
	Friends     bool     `json:"friends"`
	AutoNotify  bool     `json:"auto_notify"`
	SwitchesOn  bool     `json:"switches_on"`
	XStatus     string   `json:"x_status"`
	YStatus     string   `json:"y_status"`
	YHasDevices bool     `json:"y_has_devices"`
}
