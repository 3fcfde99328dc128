package main

// The baselines: bare gorilla/websocket servers with default settings, run
// as separate processes so that their RSS and CPU are measured as the
// server's are.
//
//	imbench baseline-idle --addr A   one goroutine per connection, reading
//	imbench baseline-echo --addr A   echoes every frame
//	imbench baseline-hub  --addr A   a fan-out hub after gorilla's chat example

import (
	"bytes"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

// serveBaseline listens on the --addr of args, prints "listening on ADDR"
// and serves h until SIGINT or SIGTERM.
func serveBaseline(name string, args []string, h http.Handler) error {
	fs := flag.NewFlagSet("imbench "+name, flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen `HOST:PORT`")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := checkLoopback(*addr); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	fmt.Printf("listening on %s\n", ln.Addr())
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	return nil
}

// defaultUpgrader is gorilla's Upgrader with default buffers (it reuses
// net/http's 4 KiB reader and writer) and no origin check.
var defaultUpgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

// baselineIdle holds connections with one goroutine each (the handler's),
// blocked reading.
func baselineIdle(args []string) error {
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		c, err := defaultUpgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				return
			}
		}
	})
	return serveBaseline("baseline-idle", args, mux)
}

// baselineEcho writes every frame back, as gorilla's echo example. A frame
// "reply-size=N;…" is answered with N bytes instead, so that a query's
// round trip (a small request, a large answer) has a bare counterpart
// moving the same bytes.
func baselineEcho(args []string) error {
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		c, err := defaultUpgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		c.SetReadLimit(4 << 20)
		var big []byte
		for {
			mt, msg, err := c.ReadMessage()
			if err != nil {
				return
			}
			if n, ok := replySize(msg); ok {
				if len(big) != n {
					big = bytes.Repeat([]byte{'x'}, n)
				}
				msg = big
			}
			if err := c.WriteMessage(mt, msg); err != nil {
				return
			}
		}
	})
	return serveBaseline("baseline-echo", args, mux)
}

// replySize reads the N of a frame "reply-size=N;…" (at most 4 MiB).
func replySize(msg []byte) (int, bool) {
	rest, ok := bytes.CutPrefix(msg, []byte("reply-size="))
	if !ok {
		return 0, false
	}
	end := bytes.IndexByte(rest, ';')
	if end < 0 {
		return 0, false
	}
	n, err := strconv.Atoi(string(rest[:end]))
	if err != nil || n < 1 || n > 4<<20 {
		return 0, false
	}
	return n, true
}

// The hub is gorilla's chat example: a hub goroutine owns the clients;
// each client has a read pump (the handler's goroutine) and a write pump
// draining a buffered channel; a client whose channel is full is dropped.
// A message is sent back to its sender (its acknowledgement) and to the
// others: every other client (?fanout=0, the default) or, with
// ?i=I&n=N&fanout=K, clients I+1 … I+K modulo N, the ring of subscribers
// the churn scenario gives imstatusd.
type hub struct {
	clients    map[*hubClient]bool
	byIndex    map[int]*hubClient
	broadcast  chan hubMessage
	register   chan *hubClient
	unregister chan *hubClient
}

type hubClient struct {
	conn           *websocket.Conn
	send           chan []byte
	index, n, fout int
}

type hubMessage struct {
	from *hubClient
	data []byte
}

// hubSendQueue is the per-client queue, as imstatusd's default SendQueue.
const hubSendQueue = 1024

func (h *hub) run() {
	for {
		select {
		case c := <-h.register:
			h.clients[c] = true
			if c.fout > 0 {
				h.byIndex[c.index] = c
			}
		case c := <-h.unregister:
			h.drop(c)
		case m := <-h.broadcast:
			h.deliver(m.from, m.data)
			if m.from.fout > 0 {
				for k := 1; k <= m.from.fout; k++ {
					if c := h.byIndex[(m.from.index+k)%m.from.n]; c != nil {
						h.deliver(c, m.data)
					}
				}
				continue
			}
			for c := range h.clients {
				if c != m.from {
					h.deliver(c, m.data)
				}
			}
		}
	}
}

func (h *hub) deliver(c *hubClient, data []byte) {
	if !h.clients[c] {
		return
	}
	select {
	case c.send <- data:
	default:
		h.drop(c)
	}
}

func (h *hub) drop(c *hubClient) {
	if h.clients[c] {
		delete(h.clients, c)
		if h.byIndex[c.index] == c {
			delete(h.byIndex, c.index)
		}
		close(c.send)
	}
}

func (c *hubClient) writePump() {
	defer c.conn.Close()
	for msg := range c.send {
		c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if err := c.conn.WriteMessage(websocket.TextMessage, msg); err != nil {
			return
		}
	}
	c.conn.WriteMessage(websocket.CloseMessage, nil)
}

func baselineHub(args []string) error {
	h := &hub{
		clients:    make(map[*hubClient]bool),
		byIndex:    make(map[int]*hubClient),
		broadcast:  make(chan hubMessage, 256),
		register:   make(chan *hubClient),
		unregister: make(chan *hubClient),
	}
	go h.run()
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		index, _ := strconv.Atoi(q.Get("i"))
		n, _ := strconv.Atoi(q.Get("n"))
		fout, _ := strconv.Atoi(q.Get("fanout"))
		if n <= 0 {
			fout = 0
		}
		conn, err := defaultUpgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		c := &hubClient{conn: conn, send: make(chan []byte, hubSendQueue), index: index, n: n, fout: fout}
		h.register <- c
		go c.writePump()
		defer func() { h.unregister <- c; conn.Close() }()
		for {
			_, msg, err := conn.ReadMessage()
			if err != nil {
				return
			}
			h.broadcast <- hubMessage{from: c, data: msg}
		}
	})
	return serveBaseline("baseline-hub", args, mux)
}
