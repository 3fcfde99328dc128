package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/imstatus/imstatus/server/console"
)

// consoles reads the nodes' consoles (as the app's administrator, with its
// key): what each node last delivered of a user, who it routes the user's
// changes to, and the user's transitions there. A node restarted since is
// logged in to again.
type consoles struct {
	mu       sync.Mutex
	sessions map[string]*http.Client // by node address
}

// user inspects user on the node at addr.
func (cs *consoles) user(ctx context.Context, addr, user string) (console.User, error) {
	var u console.User
	for attempt := range 2 {
		hc, err := cs.session(ctx, addr, attempt > 0)
		if err != nil {
			return u, err
		}
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+addr+"/console/api/user?id="+url.QueryEscape(user), nil)
		resp, err := hc.Do(req)
		if err != nil {
			return u, err
		}
		err = json.NewDecoder(resp.Body).Decode(&u)
		resp.Body.Close()
		if resp.StatusCode == http.StatusUnauthorized {
			continue // a node restarted since: its sessions are gone
		}
		if resp.StatusCode != http.StatusOK {
			return u, fmt.Errorf("inspecting %s on %s: HTTP %d", user, addr, resp.StatusCode)
		}
		return u, err
	}
	return u, fmt.Errorf("inspecting %s on %s: the console refused the session", user, addr)
}

func (cs *consoles) session(ctx context.Context, addr string, fresh bool) (*http.Client, error) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if hc := cs.sessions[addr]; hc != nil && !fresh {
		return hc, nil
	}
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	body := `{"sdkappid":"` + strconv.FormatUint(redisApp, 10) + `","key":"` + redisKey + `"}`
	req, _ := http.NewRequestWithContext(ctx, "POST", "http://"+addr+"/console/api/login", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("console login on %s: HTTP %d", addr, resp.StatusCode)
	}
	if cs.sessions == nil {
		cs.sessions = map[string]*http.Client{}
	}
	cs.sessions[addr] = hc
	return hc, nil
}

// trail says, node by node, what each node holds of a wrong view: its last
// delivery of target (version and time) and where it routes target's
// changes, and watcher's devices and recent transitions there.
func (cs *consoles) trail(ctx context.Context, c *cluster, watcher, target string) string {
	var b strings.Builder
	for i, d := range c.nodes {
		t, err1 := cs.user(ctx, d.addr, target)
		w, err2 := cs.user(ctx, d.addr, watcher)
		fmt.Fprintf(&b, "\n  node %d: ", i+1)
		if err1 != nil || err2 != nil {
			fmt.Fprintf(&b, "unreadable (%v %v)", err1, err2)
			continue
		}
		if t.Delivered != nil {
			fmt.Fprintf(&b, "%s delivered here v%d, last at %s", target, t.Delivered.Version, t.Delivered.At.UTC().Format("15:04:05.000"))
		} else {
			fmt.Fprintf(&b, "%s delivered here: nothing kept", target)
		}
		fmt.Fprintf(&b, " (status v%d); routed to %v; %s here:", t.Version, t.Listeners, watcher)
		for _, dv := range w.Devices {
			if dv.Here {
				fmt.Fprintf(&b, " device %d since %s", dv.Device, dv.Since.UTC().Format("15:04:05.000"))
			}
		}
		for _, tr := range w.Transitions {
			fmt.Fprintf(&b, " [%s %s device %d]", tr.At.UTC().Format("15:04:05.000"), tr.Event, tr.Device)
		}
	}
	return b.String()
}
