package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"time"

	"github.com/imstatus/imstatus/server/presence"
	"github.com/imstatus/imstatus/usersig"
	"github.com/imstatus/imstatus/wire"
)

// AppConfig is one app's settings, the "console switches" of SEMANTICS §3, as
// read from the apps file. Omitted fields take upstream's defaults; see
// Defaults and README.md.
type AppConfig struct {
	SDKAppID  uint64 `json:"sdkappid"`
	SecretKey string `json:"secret_key"`
	// Admin is the identifier allowed to call the REST API.
	Admin string `json:"admin"`
	// Edition is "developer", "standard", "pro" or "ultimate"; only
	// ultimate includes querying others and subscribing (else 7013).
	Edition string `json:"edition"`
	// UserStatusEnabled is the "user status query and change notification"
	// switch (else 72001).
	UserStatusEnabled *bool `json:"user_status_enabled"`
	// FriendStatusAutoNotify tells a user's friends of its changes without
	// a subscription.
	FriendStatusAutoNotify *bool `json:"friend_status_auto_notify"`
	// HeartbeatTimeoutMS is how long a device may stay silent before it is
	// declared gone (OFFLINE).
	HeartbeatTimeoutMS int64 `json:"heartbeat_timeout_ms"`
	// SubscriptionClearDelayMS is how long after its owner went OFFLINE or
	// UNLOGINED (and did not come back) a subscription list is cleared.
	SubscriptionClearDelayMS int64 `json:"subscription_clear_delay_ms"`
	// WebhookURL receives State.StateChange callbacks; "" disables them.
	WebhookURL string `json:"webhook_url"`
	// RateLimitCalls calls per RateLimitWindowMS, per user and per API, are
	// allowed for GetUserStatus (others), Subscribe and Unsubscribe (else 7008).
	RateLimitCalls    int   `json:"rate_limit_calls"`
	RateLimitWindowMS int64 `json:"rate_limit_window_ms"`
	// MaxGetIDs, MaxSubscribeIDs: ids per call (else 70206).
	MaxGetIDs       int `json:"max_get_ids"`
	MaxSubscribeIDs int `json:"max_subscribe_ids"`
	// MaxSubscriptions per user; past it the oldest is evicted.
	MaxSubscriptions int `json:"max_subscriptions"`
	// FanoutsPerSecond and FanoutBurst cap how often one user's changes
	// are pushed to its watchers from a node; past the cap a change waits
	// for the next sweep and a newer one replaces it (merged).
	FanoutsPerSecond int `json:"fanouts_per_second"`
	FanoutBurst      int `json:"fanout_burst"`
	// MultiDevicePolicy is "per_platform" (a new login kicks the older
	// device of the same platform), "single" (one device in all) or
	// "unlimited".
	MultiDevicePolicy string `json:"multi_device_policy"`
	// Console lets the app's admin use the admin console at /console/
	// (Options.Console, imstatusd --console, enables it for every app).
	Console *bool `json:"console"`
}

// Upstream's defaults for omitted fields.
const (
	DefaultEdition                = "standard"
	DefaultHeartbeatTimeout       = 400 * time.Second
	DefaultSubscriptionClearDelay = 10 * time.Minute
	DefaultRateLimitCalls         = wire.DefaultRateLimitCalls
	DefaultRateLimitWindow        = wire.DefaultRateLimitWindowMS * time.Millisecond
	DefaultMaxGetIDs              = wire.DefaultMaxGetIDs
	DefaultMaxSubscribeIDs        = wire.DefaultMaxSubscribeIDs
	DefaultMaxSubscriptions       = wire.DefaultMaxSubscriptions
	DefaultMultiDevicePolicy      = "per_platform"
	DefaultFanoutsPerSecond       = 10 // imstatus's own: upstream has no such switch
	DefaultFanoutBurst            = 20
	DefaultAdmin                  = "administrator"
)

// WithDefaults returns c with every omitted field set to its default.
func (c AppConfig) WithDefaults() AppConfig {
	f := false
	setStr := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	setInt := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	setMS := func(p *int64, v time.Duration) {
		if *p == 0 {
			*p = v.Milliseconds()
		}
	}
	setStr(&c.Admin, DefaultAdmin)
	setStr(&c.Edition, DefaultEdition)
	setStr(&c.MultiDevicePolicy, DefaultMultiDevicePolicy)
	if c.UserStatusEnabled == nil {
		c.UserStatusEnabled = &f
	}
	if c.FriendStatusAutoNotify == nil {
		c.FriendStatusAutoNotify = &f
	}
	setMS(&c.HeartbeatTimeoutMS, DefaultHeartbeatTimeout)
	setMS(&c.SubscriptionClearDelayMS, DefaultSubscriptionClearDelay)
	setMS(&c.RateLimitWindowMS, DefaultRateLimitWindow)
	setInt(&c.RateLimitCalls, DefaultRateLimitCalls)
	setInt(&c.MaxGetIDs, DefaultMaxGetIDs)
	setInt(&c.MaxSubscribeIDs, DefaultMaxSubscribeIDs)
	setInt(&c.MaxSubscriptions, DefaultMaxSubscriptions)
	setInt(&c.FanoutsPerSecond, DefaultFanoutsPerSecond)
	setInt(&c.FanoutBurst, DefaultFanoutBurst)
	return c
}

// Validate reports the first problem of a config that WithDefaults filled.
func (c AppConfig) Validate() error {
	switch {
	case c.SDKAppID == 0:
		return errors.New("sdkappid is missing")
	case c.SecretKey == "":
		return fmt.Errorf("app %d: secret_key is missing", c.SDKAppID)
	case !goodKey(c.SecretKey):
		return fmt.Errorf("app %d: secret_key must be at least %d printable ASCII characters without spaces (the console's keys are 64 hex digits); is it still a placeholder?", c.SDKAppID, MinSecretKeyLen)
	case !usersig.ValidUserID(c.Admin):
		return fmt.Errorf("app %d: admin %q is not a valid user id", c.SDKAppID, c.Admin)
	case c.HeartbeatTimeoutMS < 0 || c.SubscriptionClearDelayMS < 0 || c.RateLimitWindowMS < 0:
		return fmt.Errorf("app %d: durations must not be negative", c.SDKAppID)
	case c.RateLimitCalls < 0 || c.MaxGetIDs < 0 || c.MaxSubscribeIDs < 0 || c.MaxSubscriptions < 0 ||
		c.FanoutsPerSecond < 0 || c.FanoutBurst < 0:
		return fmt.Errorf("app %d: limits must not be negative", c.SDKAppID)
	}
	for _, d := range []struct {
		name     string
		ms       int64
		min, max time.Duration
	}{
		{"heartbeat_timeout_ms", c.HeartbeatTimeoutMS, 2 * time.Second, 24 * time.Hour},
		{"subscription_clear_delay_ms", c.SubscriptionClearDelayMS, time.Second, 30 * 24 * time.Hour},
		{"rate_limit_window_ms", c.RateLimitWindowMS, 100 * time.Millisecond, 24 * time.Hour},
	} {
		if v := ms(d.ms); v < d.min || v > d.max {
			return fmt.Errorf("app %d: %s %d is out of range: from %d to %d", c.SDKAppID, d.name, d.ms, d.min.Milliseconds(), d.max.Milliseconds())
		}
	}
	if c.WebhookURL != "" {
		if u, err := url.Parse(c.WebhookURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("app %d: webhook_url %q is not an http:// or https:// URL with a host", c.SDKAppID, c.WebhookURL)
		}
	}
	switch c.Edition {
	case "developer", "standard", "pro", "ultimate":
	default:
		return fmt.Errorf("app %d: edition %q is not one of developer, standard, pro, ultimate", c.SDKAppID, c.Edition)
	}
	if _, err := presence.ParsePolicy(c.MultiDevicePolicy); err != nil {
		return fmt.Errorf("app %d: %w", c.SDKAppID, err)
	}
	return nil
}

func ms(n int64) time.Duration { return time.Duration(n) * time.Millisecond }

// MinSecretKeyLen is the shortest secret_key accepted: a key a UserSig can
// be guessed against offline must not be short.
const MinSecretKeyLen = 16

// goodKey reports whether key is long enough and printable ASCII without
// spaces: not the README's "…", a space, or a stray character.
func goodKey(key string) bool {
	if len(key) < MinSecretKeyLen {
		return false
	}
	for i := 0; i < len(key); i++ {
		if key[i] <= ' ' || key[i] > '~' {
			return false
		}
	}
	return true
}

// appsFile is the format of the --apps file.
type appsFile struct {
	Apps []AppConfig `json:"apps"`
}

// LoadApps reads an apps file: {"apps":[AppConfig…]}. Unknown fields are
// errors, so a misspelt switch is not silently ignored.
func LoadApps(path string) ([]AppConfig, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseApps(b)
}

// ParseApps parses the content of an apps file.
func ParseApps(b []byte) ([]AppConfig, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var f appsFile
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("apps file: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("apps file: something follows the JSON document")
	}
	if len(f.Apps) == 0 {
		return nil, errors.New("apps file: no apps")
	}
	seen := make(map[uint64]bool)
	out := make([]AppConfig, len(f.Apps))
	for i, a := range f.Apps {
		a = a.WithDefaults()
		if err := a.Validate(); err != nil {
			return nil, fmt.Errorf("apps file: %w", err)
		}
		if seen[a.SDKAppID] {
			return nil, fmt.Errorf("apps file: sdkappid %d appears twice", a.SDKAppID)
		}
		seen[a.SDKAppID] = true
		out[i] = a
	}
	return out, nil
}
