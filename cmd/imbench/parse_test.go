package main

import (
	"net"
	"reflect"
	"testing"

	"github.com/imstatus/imstatus/wire"
)

func TestParseSources(t *testing.T) {
	got, err := parseSources("127.0.0.2-127.0.0.4")
	if err != nil {
		t.Fatal(err)
	}
	want := []net.IP{net.IPv4(127, 0, 0, 2).To4(), net.IPv4(127, 0, 0, 3).To4(), net.IPv4(127, 0, 0, 4).To4()}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("range: %v, want %v", got, want)
	}
	if got, err := parseSources("127.0.0.7, 127.1.2.3"); err != nil || len(got) != 2 || !got[1].Equal(net.IPv4(127, 1, 2, 3)) {
		t.Errorf("list: %v, %v", got, err)
	}
	if got, err := parseSources(""); err != nil || got != nil {
		t.Errorf("empty: %v, %v", got, err)
	}
	for _, bad := range []string{"10.0.0.1", "127.0.0.9-127.0.0.2", "127.0.0.2-127.0.1.3", "localhost"} {
		if _, err := parseSources(bad); err == nil {
			t.Errorf("parseSources(%q): no error", bad)
		}
	}
}

func TestCheckLoopback(t *testing.T) {
	for _, ok := range []string{"127.0.0.1:8080", "127.9.9.9:1"} {
		if err := checkLoopback(ok); err != nil {
			t.Errorf("checkLoopback(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"10.1.2.3:80", "example.com:80", "[::1]:80", "127.0.0.1"} {
		if err := checkLoopback(bad); err == nil {
			t.Errorf("checkLoopback(%q): no error", bad)
		}
	}
}

func TestParseRT(t *testing.T) {
	push := wire.AppendStatusPush(nil, wire.Status{UserID: "fpub", Type: wire.StatusOnline, Custom: "r=12;t=3456789", Devices: []string{"Linux"}})
	for _, msg := range [][]byte{push, []byte("r=12;t=3456789")} {
		r, ts, ok := parseRT(msg)
		if !ok || r != 12 || ts != 3456789 {
			t.Errorf("parseRT(%s) = %d, %d, %v", msg, r, ts, ok)
		}
	}
	for _, bad := range []string{"", "r=;t=1", "r=1;t=", "r=1", `{"op":"status"}`} {
		if _, _, ok := parseRT([]byte(bad)); ok {
			t.Errorf("parseRT(%q) ok", bad)
		}
	}
}

func TestChurnPush(t *testing.T) {
	ch := &churn{idMark: []byte(`"user_status_identifier":"c`)}
	c := &wsConn{idx: 7, replies: make(chan []byte, 1)}
	push := func(from string, custom string) []byte {
		return wire.AppendStatusPush(nil, wire.Status{UserID: from, Type: wire.StatusOnline, Custom: custom, Devices: []string{"Linux"}})
	}
	ch.onPush(c, push("c5", "t=100"))
	ch.onPush(c, push("c7", "t=100")) // its own change: not a delivery
	ch.onPush(c, push("c6", ""))      // not a churn change
	if got := ch.deliveries.Load(); got != 1 {
		t.Errorf("deliveries = %d, want 1", got)
	}
	if len(c.replies) != 0 {
		t.Error("imstatusd's own push acknowledged a change (the reply does)")
	}
	hub := &churn{idMark: []byte("f="), ackSelf: true}
	hub.onPush(c, []byte("f=7;t=100"))
	hub.onPush(c, []byte("f=3;t=100"))
	if len(c.replies) != 1 || hub.deliveries.Load() != 1 {
		t.Errorf("hub: %d acks, %d deliveries; want 1 and 1", len(c.replies), hub.deliveries.Load())
	}
}

func TestEachStatus(t *testing.T) {
	sts := []wire.Status{
		{UserID: "c1", Type: wire.StatusOnline, Custom: `a "quoted" user_status_status_type`, Devices: []string{"Linux"}},
		{UserID: "c2", Type: wire.StatusOffline},
		{UserID: "c3", Type: wire.StatusUnlogined},
	}
	type st struct {
		id  string
		typ int
	}
	collect := func(msg []byte) []st {
		var out []st
		eachStatus(msg, func(id []byte, typ int) { out = append(out, st{string(id), typ}) })
		return out
	}
	want := []st{{"c1", 1}, {"c2", 2}, {"c3", 3}}
	if got := collect(wire.AppendStatusPush(nil, sts...)); !reflect.DeepEqual(got, want) {
		t.Errorf("server order: %v, want %v", got, want)
	}
	// Another key order takes the slow path, with the same result.
	other := []byte(`{"op":"status","body":[{"user_status_status_type":1,"user_status_identifier":"c1"},` +
		`{"user_status_status_type":2,"user_status_identifier":"c2"},{"user_status_identifier":"c3","user_status_status_type":3}]}`)
	if got := collect(other); !reflect.DeepEqual(got, want) {
		t.Errorf("other order: %v, want %v", got, want)
	}
}

func TestRingTargets(t *testing.T) {
	ids := []string{"c0", "c1", "c2", "c3", "c4"}
	if got := ringTargets(ids, 1, 3); !reflect.DeepEqual(got, []string{"c0", "c4", "c3"}) {
		t.Errorf("ringTargets = %v", got)
	}
}

func TestParseKVAndSamples(t *testing.T) {
	kv, err := parseKV([]byte("export_call_ns 208.12\n\ncallback_rtt_p50_ns 74802\n"))
	if err != nil || kv["export_call_ns"] != 208.12 || kv["callback_rtt_p50_ns"] != 74802 {
		t.Errorf("parseKV = %v, %v", kv, err)
	}
	if _, err := parseKV([]byte("a b c\n")); err == nil {
		t.Error("three fields: no error")
	}
	s, err := parseSamples([]byte("1\n22\n 333 \n"))
	if err != nil || !reflect.DeepEqual(s, []int64{1, 22, 333}) {
		t.Errorf("parseSamples = %v, %v", s, err)
	}
	if _, err := parseSamples([]byte("1\nx\n")); err == nil {
		t.Error("bad sample: no error")
	}
}

func TestReplySize(t *testing.T) {
	if n, ok := replySize([]byte("reply-size=84870;xxxx")); !ok || n != 84870 {
		t.Errorf("replySize = %d, %v", n, ok)
	}
	for _, bad := range []string{"hello", "reply-size=;", "reply-size=12", "reply-size=99999999;"} {
		if _, ok := replySize([]byte(bad)); ok {
			t.Errorf("replySize(%q) ok", bad)
		}
	}
}

func TestQueryReplySize(t *testing.T) {
	ids := []string{"u0", "u1"}
	b := queryReply(ids, func(i int) string { return "x" })
	f, err := wire.DecodeServerFrame(b)
	if err != nil || len(f.Body.Array()) != 2 {
		t.Errorf("queryReply: %s, %v", b, err)
	}
}

func TestParseOptions(t *testing.T) {
	o, err := parseOptions([]string{"--quick", "--scenarios", "idle,churn", "--servers", "127.0.0.1:1,127.0.0.2:2"})
	if err != nil {
		t.Fatal(err)
	}
	if !o.quick || !o.scenarios["idle"] || o.scenarios["latency"] || len(o.servers) != 2 || o.quietWait.Seconds() != 10 || len(o.sources) != 8 {
		t.Errorf("options %+v", o)
	}
	if o, _ := parseOptions([]string{"--quick", "--quiet-wait", "0"}); o.quietWait != 0 {
		t.Errorf("--quiet-wait 0 with --quick: %v", o.quietWait)
	}
	if o, err := parseOptions([]string{"--cluster", "3", "--storm-wide-per", "15000"}); err != nil || o.widePer != 15000 {
		t.Errorf("--storm-wide-per 15000: %d, %v", o.widePer, err)
	}
	for _, bad := range [][]string{{"--scenarios", "nope"}, {"--servers", "10.0.0.1:80"}, {"extra"}, {"--storm-wide-per", "20000"}, {"--storm-wide-per", "-1"}} {
		if _, err := parseOptions(bad); err == nil {
			t.Errorf("parseOptions(%q): no error", bad)
		}
	}
}
