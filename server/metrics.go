package server

import (
	"fmt"
	"io"
	"net/http"
	rtmetrics "runtime/metrics"
	"slices"
	"strconv"
	"sync/atomic"
)

// metrics are the server's cumulative counters: atomic adds on the paths
// they count, read by GET /metrics.
// appCounts are an app's part of the node's counters (metrics), for the
// console's overview and the per-app lines of /metrics.
type appCounts struct {
	logins, loginsRefused, pushes, superseded, slowReaders atomic.Uint64
}

type metrics struct {
	logins       atomic.Uint64 // successful logins
	loginRefused atomic.Uint64 // logins refused for their UserSig
	statusPushes atomic.Uint64 // status frames queued, one per recipient
	// statusesSuperseded counts queued pushes replaced by a newer status
	// of the same user before the client read them (conn.sendStatus).
	statusesSuperseded atomic.Uint64
	framesWritten      atomic.Uint64 // frames written to clients
	writeCalls         atomic.Uint64 // write system calls that carried them
	slowReaders        atomic.Uint64 // connections closed because their send queue was full
	rateLimited        atomic.Uint64 // calls refused with 7008
	badFrames          atomic.Uint64 // connections closed for an unreadable or oversize frame
	// staleDeliveries counts deliveries dropped because a newer version of
	// the same user had been delivered already.
	staleDeliveries   atomic.Uint64
	storeErrors       atomic.Uint64 // failed calls to the presence backend
	unsentDropped     atomic.Uint64 // changes not sent again: too many waited
	doubted           atomic.Uint64 // writes the store failed to answer: sent again, read afresh
	unheard           atomic.Uint64 // routed deliveries nobody on this node took
	unlistened        atomic.Uint64 // users this node stopped listening to
	relistened        atomic.Uint64 // and listened to again: a hearer had come
	shed              atomic.Uint64 // requests answered 70503: no turn in time
	connsRefused      atomic.Uint64 // connections closed 1013 at a connection cap
	acceptErrors      atomic.Uint64 // failed accepts (Server.Listener)
	loginsLimited     atomic.Uint64 // logins answered 7008 at the per-address rate
	restBodiesRefused atomic.Uint64 // REST calls refused for their body's size
	fanoutsHeld       atomic.Uint64 // changes held past a user's fan-out cap
	fanoutsMerged     atomic.Uint64 // held changes a newer one replaced, never sent
	// httpTimeouts counts connections ended by net/http's read deadlines,
	// by phase (timedConn).
	httpTimeouts [phases]atomic.Uint64
}

// serveMetrics writes the counters and gauges in Prometheus's text format
// (version 0.0.4), so any Prometheus-compatible scraper can read them.
func (s *Server) serveMetrics(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	m := &s.metrics
	gauge(w, "imstatus_connections", "Open WebSocket connections, logged in or not.", uint64(s.connCount()))
	apps := s.apps.Load().live
	ids := make([]uint64, 0, len(apps))
	for id := range apps {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	header(w, "imstatus_devices", "gauge", "Logged-in devices on this node, by app.")
	for _, id := range ids {
		fmt.Fprintf(w, "imstatus_devices{sdkappid=\"%d\"} %d\n", id, apps[id].hub.devices.Load())
	}
	perApp := func(name, help string, v func(*appCounts) *atomic.Uint64) {
		header(w, name, "counter", help)
		for _, id := range ids {
			fmt.Fprintf(w, "%s{sdkappid=\"%d\"} %d\n", name, id, v(&apps[id].counts).Load())
		}
	}
	perApp("imstatus_app_logins_total", "Successful logins, by app.", func(c *appCounts) *atomic.Uint64 { return &c.logins })
	perApp("imstatus_app_login_refused_total", "Logins refused for their UserSig, by app.", func(c *appCounts) *atomic.Uint64 { return &c.loginsRefused })
	perApp("imstatus_app_status_pushes_total", "Status frames queued to clients, by the recipient's app.", func(c *appCounts) *atomic.Uint64 { return &c.pushes })
	perApp("imstatus_app_statuses_superseded_total", "Queued status pushes replaced by a newer one, by the recipient's app.", func(c *appCounts) *atomic.Uint64 { return &c.superseded })
	perApp("imstatus_app_slow_readers_closed_total", "Logged-in connections closed because their send queue was full, by app.", func(c *appCounts) *atomic.Uint64 { return &c.slowReaders })
	counter(w, "imstatus_logins_total", "Successful logins.", m.logins.Load())
	counter(w, "imstatus_login_refused_total", "Logins refused for their UserSig (70001-70014).", m.loginRefused.Load())
	counter(w, "imstatus_status_pushes_total", "Status frames queued to clients, one per recipient.", m.statusPushes.Load())
	counter(w, "imstatus_statuses_superseded_total", "Queued status pushes replaced by a newer status of the same user before a slow client read them.", m.statusesSuperseded.Load())
	counter(w, "imstatus_frames_written_total", "Frames written to clients.", m.framesWritten.Load())
	counter(w, "imstatus_write_calls_total", "Write system calls that carried them (fewer than frames when a connection's frames are batched).", m.writeCalls.Load())
	counter(w, "imstatus_slow_readers_closed_total", "Connections closed because their send queue was full.", m.slowReaders.Load())
	counter(w, "imstatus_rate_limited_total", "Calls refused by the rate limit (7008).", m.rateLimited.Load())
	counter(w, "imstatus_bad_frames_total", "Connections closed for an unreadable or oversize frame.", m.badFrames.Load())
	counter(w, "imstatus_stale_deliveries_total", "Deliveries dropped because a newer status of the same user had been delivered already.", m.staleDeliveries.Load())
	counter(w, "imstatus_store_errors_total", "Failed calls to the presence backend (directory, store, broker).", m.storeErrors.Load())
	counter(w, "imstatus_unsent_dropped_total", "Changes whose publishing failed and that were not sent again because too many waited.", m.unsentDropped.Load())
	counter(w, "imstatus_store_writes_doubted_total", "Status changes the store failed to answer, which it may have taken all the same; the user's status is read and sent again at the next sweeps.", m.doubted.Load())
	counter(w, "imstatus_deliveries_unheard_total", "Deliveries the broker routed here that no connection here heard of (cluster mode).", m.unheard.Load())
	counter(w, "imstatus_users_unlistened_total", "Users this node stopped listening to, nobody here hearing of them (cluster mode).", m.unlistened.Load())
	counter(w, "imstatus_connections_refused_total", "WebSocket connections closed at once with 1013: the total or per-address connection cap was reached.", m.connsRefused.Load())
	counter(w, "imstatus_logins_limited_total", "Logins answered 7008: too many a second from one remote address.", m.loginsLimited.Load())
	counter(w, "imstatus_accept_errors_total", "Failed accepts of a connection, e.g. at the open-file limit (the listener retries).", m.acceptErrors.Load())
	counter(w, "imstatus_requests_shed_total", "Requests answered 70503 (server busy): no turn to call the backend came within the admit wait.", m.shed.Load())
	header(w, "imstatus_http_timeouts_total", "counter", "HTTP connections (REST, upgrades) ended by a timeout: the first request's headers (--http-read-timeout, at most 10 s), a request's body (--http-read-timeout), or the next request of an idle keep-alive connection (--http-idle-timeout). Counted with Listener and ConnState.")
	for i, name := range phaseNames {
		fmt.Fprintf(w, "imstatus_http_timeouts_total{phase=%q} %d\n", name, m.httpTimeouts[i].Load())
	}
	counter(w, "imstatus_rest_bodies_refused_total", "REST calls refused because their body passed the size limit (RESTBodyLimit, --rest-body-limit).", m.restBodiesRefused.Load())
	counter(w, "imstatus_fanouts_held_total", "Status changes held back because their user passed the per-user fan-out cap (fanouts_per_second); sent at the next sweep, or merged.", m.fanoutsHeld.Load())
	counter(w, "imstatus_fanouts_merged_total", "Held status changes replaced by a newer change of the same user before they were sent: its watchers heard the newer only.", m.fanoutsMerged.Load())
	counter(w, "imstatus_users_relistened_total", "Users this node listened to again at once: a hearer had come meanwhile (cluster mode).", m.relistened.Load())
	if s.opts.Counters != nil {
		for _, c := range s.opts.Counters() {
			counter(w, c.Name, c.Help, c.Value)
		}
	}
	hs := s.hooks.Stats()
	counter(w, "imstatus_webhook_sent_total", "Webhook events the endpoint acknowledged.", hs.Sent)
	counter(w, "imstatus_webhook_failed_total", "Webhook events whose request failed.", hs.Failed)
	counter(w, "imstatus_webhook_dropped_total", "Webhook events never sent (queue full or shutting down).", hs.Dropped)
	// The runtime's, under the names Prometheus's Go collector gives them,
	// read without stopping the world: what a soak watches for leaks.
	// The memory classes tell a growing RSS apart: live objects, the
	// heap's fragmentation, free pages not yet returned to the OS, stacks,
	// or the runtime's own.
	rt := []rtmetrics.Sample{
		{Name: "/sched/goroutines:goroutines"},
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/unused:bytes"},
		{Name: "/memory/classes/heap/free:bytes"},
		{Name: "/memory/classes/heap/released:bytes"},
		{Name: "/memory/classes/heap/stacks:bytes"},
		{Name: "/memory/classes/total:bytes"},
		{Name: "/gc/heap/live:bytes"},
	}
	rtmetrics.Read(rt)
	v := func(i int) uint64 { return rt[i].Value.Uint64() }
	gauge(w, "go_goroutines", "Goroutines that currently exist.", v(0))
	gauge(w, "go_memstats_heap_alloc_bytes", "Bytes of allocated heap objects, reachable or not yet swept.", v(1))
	gauge(w, "go_memstats_heap_inuse_bytes", "Bytes in heap spans in use: objects, and the room between them.", v(1)+v(2))
	gauge(w, "go_memstats_heap_idle_bytes", "Bytes in heap spans holding no object, returned to the OS or not.", v(3)+v(4))
	gauge(w, "go_memstats_heap_released_bytes", "Bytes of idle heap spans returned to the OS.", v(4))
	gauge(w, "go_memstats_stack_inuse_bytes", "Bytes of goroutine stacks.", v(5))
	gauge(w, "go_memstats_sys_bytes", "Bytes the runtime has mapped from the OS, returned pages included.", v(6))
	gauge(w, "go_gc_heap_live_bytes", "Bytes of heap objects the last GC found reachable: garbage left out, what grows in a leak.", v(7))
}

func header(w io.Writer, name, typ, help string) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
}

func gauge(w io.Writer, name, help string, v uint64)   { sample(w, name, "gauge", help, v) }
func counter(w io.Writer, name, help string, v uint64) { sample(w, name, "counter", help, v) }

func sample(w io.Writer, name, typ, help string, v uint64) {
	header(w, name, typ, help)
	io.WriteString(w, name+" "+strconv.FormatUint(v, 10)+"\n")
}
