// Command imdemo shows the user-status flow against a running imstatusd:
// bob subscribes to alice, alice logs in, sets a custom status and logs
// out, and bob prints each notification as it arrives.
//
//	imdemo --addr HOST:PORT --sdkappid N --key SECRET
//
// It speaks the wire protocol directly; apps use libImSDK or the Go client.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/gorilla/websocket"

	"github.com/imstatus/imstatus/usersig"
	"github.com/imstatus/imstatus/wire"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "imstatusd `HOST:PORT`")
	appID := flag.Uint64("sdkappid", 1400000000, "the app's `SDKAppID`")
	key := flag.String("key", "", "the app's secret `KEY` (the demo signs its own UserSigs)")
	flag.Parse()
	if err := run(*addr, *appID, *key); err != nil {
		fmt.Fprintln(os.Stderr, "imdemo:", err)
		os.Exit(1)
	}
}

type demoClient struct {
	name string
	ws   *websocket.Conn
	seq  uint64
}

func dial(addr, name string) (*demoClient, error) {
	d := websocket.Dialer{Subprotocols: []string{wire.Subprotocol}, HandshakeTimeout: 5 * time.Second}
	ws, _, err := d.Dial("ws://"+addr+"/ws", nil)
	if err != nil {
		return nil, err
	}
	return &demoClient{name: name, ws: ws}, nil
}

// call sends a request and returns its reply, printing the pushes that
// arrive meanwhile.
func (c *demoClient) call(op wire.Op, body any) (wire.ServerFrame, error) {
	c.seq++
	b, _ := json.Marshal(map[string]any{"seq": c.seq, "op": op, "body": body})
	if err := c.ws.WriteMessage(websocket.TextMessage, b); err != nil {
		return wire.ServerFrame{}, err
	}
	for {
		f, err := c.read()
		if err != nil {
			return f, err
		}
		if f.Op == wire.OpReply && f.Seq == c.seq {
			if f.Code != 0 {
				return f, fmt.Errorf("%s: %s (code %d)", op, f.Desc, f.Code)
			}
			return f, nil
		}
	}
}

func (c *demoClient) read() (wire.ServerFrame, error) {
	c.ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, msg, err := c.ws.ReadMessage()
	if err != nil {
		return wire.ServerFrame{}, err
	}
	f, err := wire.DecodeServerFrame(msg)
	if err == nil && f.Op == wire.OpStatus {
		fmt.Printf("  [%s] status changed: %s\n", c.name, f.Body.Raw)
	}
	return f, err
}

// await reads pushes until one tells that who has status typ.
func (c *demoClient) await(who string, typ wire.StatusType) error {
	for {
		f, err := c.read()
		if err != nil {
			return err
		}
		if f.Op != wire.OpStatus {
			continue
		}
		sts, _ := wire.ParseStatuses(f.Body)
		for _, s := range sts {
			if s.UserID == who && s.Type == typ {
				return nil
			}
		}
	}
}

func (c *demoClient) login(appID uint64, key, platform string) error {
	sig, err := usersig.Generate(key, appID, c.name, time.Hour, time.Now())
	if err != nil {
		return err
	}
	_, err = c.call(wire.OpLogin, map[string]any{"v": wire.Version, "sdkappid": appID,
		"user_id": c.name, "user_sig": sig, "platform": platform})
	if err == nil {
		fmt.Printf("%s logged in on %s\n", c.name, platform)
	}
	return err
}

func run(addr string, appID uint64, key string) error {
	if key == "" {
		return errors.New("--key is required")
	}
	alice, err := dial(addr, "alice")
	if err != nil {
		return err
	}
	defer alice.ws.Close()
	bob, err := dial(addr, "bob")
	if err != nil {
		return err
	}
	defer bob.ws.Close()

	// alice logs in once so her account exists, then out again.
	if err := alice.login(appID, key, "Android"); err != nil {
		return err
	}
	if _, err := alice.call(wire.OpLogout, nil); err != nil {
		return err
	}
	if err := bob.login(appID, key, "Windows"); err != nil {
		return err
	}
	if _, err := bob.call(wire.OpSubscribe, map[string]any{"ids": []string{"alice"}}); err != nil {
		return err
	}
	fmt.Println("bob subscribed to alice")
	if err := bob.await("alice", wire.StatusUnlogined); err != nil {
		return err
	}
	steps := []struct {
		what string
		do   func() error
		want wire.StatusType
	}{
		{"alice logs in", func() error { return alice.login(appID, key, "Android") }, wire.StatusOnline},
		{"alice sets her custom status", func() error {
			_, err := alice.call(wire.OpSetStatus, map[string]any{"user_status_custom_status": "in a match 🎮"})
			return err
		}, wire.StatusOnline},
		{"alice logs out", func() error { _, err := alice.call(wire.OpLogout, nil); return err }, wire.StatusUnlogined},
	}
	for _, s := range steps {
		fmt.Println(s.what)
		if err := s.do(); err != nil {
			return err
		}
		if err := bob.await("alice", s.want); err != nil {
			return fmt.Errorf("bob waiting for alice's %s: %w", s.want, err)
		}
	}
	f, err := bob.call(wire.OpGetStatus, map[string]any{"ids": []string{"alice", "bob", "carol"}})
	if err != nil {
		return err
	}
	fmt.Printf("bob queries alice, bob and carol: %s\n", f.Body.Raw)
	return nil
}
