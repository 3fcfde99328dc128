package server

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
)

// The gateway frames its messages itself (writeBatch); gorilla's reader,
// the one core uses, must read every length class back intact, also when
// several frames share one write.
func TestAppendTextHeaderRoundTrip(t *testing.T) {
	sizes := []int{0, 1, 125, 126, 127, 65535, 65536, 70000, 1 << 20}
	var up websocket.Upgrader
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		var buf []byte
		for _, n := range sizes {
			buf = appendTextHeader(buf, n)
			buf = append(buf, payload(n)...)
		}
		ws.NetConn().Write(buf)
		ws.ReadMessage() // wait for the client to finish
	}))
	defer srv.Close()
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	ws.SetReadLimit(2 << 20)
	for _, n := range sizes {
		typ, msg, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("frame of %d bytes: %v", n, err)
		}
		if typ != websocket.TextMessage || !bytes.Equal(msg, payload(n)) {
			t.Fatalf("frame of %d bytes: got type %d, %d bytes", n, typ, len(msg))
		}
	}
}

func payload(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'a' + byte(i%26)
	}
	return b
}
