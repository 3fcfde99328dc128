package server

import (
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/imstatus/imstatus/server/presence"
	"github.com/imstatus/imstatus/wire"
)

func TestHistoryRing(t *testing.T) {
	var h history
	t0 := time.Unix(1800000000, 0)
	for i := range historyLen + 3 {
		h.record("u", transition{at: t0.Add(time.Duration(i) * time.Second).UnixNano(), event: evLogin,
			platform: "Windows", device: uint64(i + 1), status: wire.StatusOnline})
	}
	got := h.of("u")
	if len(got) != historyLen {
		t.Fatalf("%d transitions kept, want %d", len(got), historyLen)
	}
	for i, tr := range got {
		if want := uint64(historyLen + 3 - i); tr.device != want {
			t.Fatalf("transition %d is device %d, want %d (newest first)", i, tr.device, want)
		}
	}
	if h.of("nobody") != nil {
		t.Fatal("a user never seen has transitions")
	}
	// Kept for historyKeep after the last, then forgotten; the prune
	// runs at most once a minute.
	last := t0.Add(time.Duration(historyLen+2) * time.Second)
	h.prune(last.Add(historyKeep - time.Second))
	if len(h.of("u")) == 0 {
		t.Fatal("forgotten before historyKeep")
	}
	h.prune(last.Add(historyKeep + 30*time.Second)) // within a minute of the last prune
	if len(h.of("u")) == 0 {
		t.Fatal("pruned twice within a minute")
	}
	h.prune(last.Add(historyKeep + 2*time.Minute))
	if h.of("u") != nil {
		t.Fatal("kept past historyKeep")
	}
}

func TestDepartEvent(t *testing.T) {
	tests := []struct {
		d    departure
		want string
	}{
		{departure{how: presence.LoggedOut, reason: "Unregister"}, evLogout},
		{departure{how: presence.Lost, reason: "TimeOut"}, evTimeout},
		{departure{how: presence.Lost, reason: "LinkClose"}, evLinkClosed},
		{departure{how: presence.Lost}, evLoginFailed},
		{departure{how: presence.LoggedOut, reason: "Unregister", event: evAdminKicked}, evAdminKicked},
	}
	for _, tc := range tests {
		if got := departEvent(tc.d); got != tc.want {
			t.Errorf("departEvent(%+v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

// TestHistoryMemory holds the README's figure: a full ring costs a user
// about 0.6 KiB, and no more than 700 bytes.
func TestHistoryMemory(t *testing.T) {
	const n = 20000
	ids := make([]string, n)
	for i := range ids {
		ids[i] = "user-" + strconv.Itoa(i) // 10-byte ids
	}
	var h history
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for _, id := range ids {
		for j := range historyLen + 1 {
			h.record(id, transition{at: int64(j + 1), event: evLinkClosed, platform: "Android", status: wire.StatusOffline})
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := float64(after.HeapAlloc-before.HeapAlloc) / n
	t.Logf("%.0f bytes per user with a full ring", per)
	if per > 700 {
		t.Fatalf("%.0f bytes per user, want at most 700", per)
	}
	runtime.KeepAlive(&h)
}

// BenchmarkHistoryRecord is what a login or a departure pays for the
// history: next to the store calls and the fan-out of the change, little.
func BenchmarkHistoryRecord(b *testing.B) {
	var h history
	ids := make([]string, 1000)
	for i := range ids {
		ids[i] = "user-" + strconv.Itoa(i)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			h.record(ids[i%len(ids)], transition{at: int64(i), event: evLogin, platform: "Android", status: wire.StatusOnline})
			i++
		}
	})
}
