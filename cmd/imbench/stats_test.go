package main

import (
	"math"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	v := []int64{10, 20, 30, 40, 50, 60, 70, 80, 90, 100}
	for _, c := range []struct {
		q    float64
		want int64
	}{{0.5, 50}, {0.9, 90}, {0.99, 100}, {0.1, 10}, {0.01, 10}, {1, 100}} {
		if got := percentile(v, c.q); got != c.want {
			t.Errorf("percentile(%v) = %d, want %d", c.q, got, c.want)
		}
	}
	if got := percentile(nil, 0.5); got != 0 {
		t.Errorf("percentile of nothing = %d", got)
	}
}

func TestSummarize(t *testing.T) {
	ns := make([]int64, 1000)
	for i := range ns {
		ns[i] = int64(1000-i) * 1000 // 1 … 1000 µs, reversed
	}
	s := summarize(ns)
	if s.N != 1000 || s.P50 != 500 || s.P99 != 990 || s.P999 != 999 || s.Max != 1000 {
		t.Errorf("summary %+v", s)
	}
	if math.Abs(s.Mean-500.5) > 1e-9 {
		t.Errorf("mean %v, want 500.5", s.Mean)
	}
	if ns[0] != 1000 {
		t.Errorf("summarize did not sort in place")
	}
	if (summarize(nil) != Summary{}) {
		t.Errorf("summary of nothing is not zero")
	}
}

func TestHistogramBuckets(t *testing.T) {
	for _, v := range []int64{0, 1, 63, 64, 65, 127, 128, 1000, 123456, 1 << 40, math.MaxInt64} {
		i := histIndex(v)
		if i < 0 || i >= histBuckets {
			t.Fatalf("histIndex(%d) = %d, out of range", v, i)
		}
		lo := histValue(i)
		if lo > v {
			t.Errorf("bucket of %d starts at %d, above it", v, lo)
		}
		if v >= histSub && float64(v-lo)/float64(v) > 1.0/histSub {
			t.Errorf("bucket of %d starts at %d: more than 1/%d below", v, lo, histSub)
		}
		if next := histValue(i + 1); i+1 < histBuckets && next > 0 && next <= v {
			t.Errorf("bucket %d of %d ends at %d, not above it", i, v, histValue(i+1))
		}
	}
}

func TestHistogramSummary(t *testing.T) {
	var h histogram
	for i := 1; i <= 1000; i++ {
		h.record(time.Duration(i) * time.Microsecond)
	}
	s := h.summary()
	if s.N != 1000 {
		t.Fatalf("N = %d", s.N)
	}
	near := func(name string, got, want float64) {
		if math.Abs(got-want)/want > 0.02 {
			t.Errorf("%s = %.2f, want %.2f ± 2%%", name, got, want)
		}
	}
	near("p50", s.P50, 500)
	near("p99", s.P99, 990)
	near("max", s.Max, 1000)
	near("mean", s.Mean, 500.5)
}

func TestCDF(t *testing.T) {
	ns := make([]int64, 10000)
	for i := range ns {
		ns[i] = int64(i + 1)
	}
	pts := cdf(ns, 100)
	if len(pts) == 0 || len(pts) > 102 {
		t.Fatalf("%d points", len(pts))
	}
	for i := 1; i < len(pts); i++ {
		if pts[i].X < pts[i-1].X || pts[i].F <= pts[i-1].F {
			t.Fatalf("not increasing at %d: %+v then %+v", i, pts[i-1], pts[i])
		}
	}
	if last := pts[len(pts)-1]; last.F != 1 {
		t.Errorf("last point %+v, want F = 1", last)
	}
	// The tail is sampled: some point lies past p99.9.
	if pts[len(pts)-2].F < 0.999 {
		t.Errorf("no point in the tail past p99.9: %+v", pts[len(pts)-2])
	}
}

func TestNiceStep(t *testing.T) {
	for v, want := range map[float64]float64{0.7: 1, 1: 1, 1.2: 2, 3: 5, 4200: 5000, 3.4: 5, 18: 20, 0: 1} {
		if got := niceStep(v); got != want {
			t.Errorf("niceStep(%v) = %v, want %v", v, got, want)
		}
	}
}
