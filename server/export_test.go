package server

import "time"

// AddrRateForTest exposes addrRate to the external tests.
type AddrRateForTest struct{ r *addrRate }

func NewAddrRateForTest(n int) AddrRateForTest { return AddrRateForTest{newAddrRate(n)} }

func (t AddrRateForTest) Allow(addr string, now time.Time) bool { return t.r.allow(addr, now) }
func (t AddrRateForTest) Sweep(now time.Time)                   { t.r.sweep(now) }

func (t AddrRateForTest) Len() int {
	t.r.mu.Lock()
	defer t.r.mu.Unlock()
	return len(t.r.by)
}
