package main

import (
	"math"
	"math/bits"
	"slices"
	"sync/atomic"
	"time"
)

// Summary describes a set of latency samples. Durations are microseconds.
type Summary struct {
	N    int     `json:"n"`
	Mean float64 `json:"mean_us"`
	P50  float64 `json:"p50_us"`
	P90  float64 `json:"p90_us"`
	P99  float64 `json:"p99_us"`
	P999 float64 `json:"p999_us"`
	Max  float64 `json:"max_us"`
}

// percentile returns the nearest-rank q-quantile (0 < q ≤ 1) of sorted
// values: the smallest value with at least q of the values at or below it.
func percentile(sorted []int64, q float64) int64 {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(n))) - 1
	return sorted[min(max(i, 0), n-1)]
}

// summarize sorts ns (nanoseconds) in place and summarises them.
func summarize(ns []int64) Summary {
	if len(ns) == 0 {
		return Summary{}
	}
	slices.Sort(ns)
	var sum float64
	for _, v := range ns {
		sum += float64(v)
	}
	us := func(v int64) float64 { return float64(v) / 1e3 }
	return Summary{
		N:    len(ns),
		Mean: sum / float64(len(ns)) / 1e3,
		P50:  us(percentile(ns, 0.50)),
		P90:  us(percentile(ns, 0.90)),
		P99:  us(percentile(ns, 0.99)),
		P999: us(percentile(ns, 0.999)),
		Max:  us(ns[len(ns)-1]),
	}
}

// CDFPoint is one point of an empirical distribution: a fraction F of the
// samples are at most X microseconds.
type CDFPoint struct {
	X float64 `json:"x_us"`
	F float64 `json:"f"`
}

// cdf returns at most n points of the empirical CDF of sorted samples
// (nanoseconds), denser in the tail so that p99 and p999 stay visible.
func cdf(sorted []int64, n int) []CDFPoint {
	if len(sorted) == 0 || n < 2 {
		return nil
	}
	var out []CDFPoint
	last := -1
	add := func(i int) {
		if i <= last || i >= len(sorted) {
			return
		}
		last = i
		out = append(out, CDFPoint{X: float64(sorted[i]) / 1e3, F: float64(i+1) / float64(len(sorted))})
	}
	// Half the points evenly in rank, half in -log10(1-F) up to the max.
	half := n / 2
	tail := n - half
	total := len(sorted)
	for k := 0; k < half; k++ {
		add(k * total / half)
	}
	maxNines := math.Log10(float64(total))
	for k := 0; k <= tail; k++ {
		nines := maxNines * float64(k) / float64(tail)
		f := 1 - math.Pow(10, -nines)
		add(int(math.Ceil(f*float64(total))) - 1)
	}
	add(total - 1)
	return out
}

// histogram counts nanosecond values concurrently in log-linear buckets:
// exact below 64 ns, then 64 buckets per power of two (relative error under
// 1/64). Recording is one atomic add; it never allocates.
type histogram struct {
	counts [histBuckets]atomic.Int64
}

const (
	histSubBits = 6
	histSub     = 1 << histSubBits
	histBuckets = histSub + (64-histSubBits)*histSub
)

func histIndex(v int64) int {
	if v < histSub {
		return int(max(v, 0))
	}
	e := bits.Len64(uint64(v)) - histSubBits - 1 // v>>e is in [histSub, 2*histSub)
	return histSub + e*histSub + int(uint64(v)>>e) - histSub
}

// histValue is the lowest value of bucket i.
func histValue(i int) int64 {
	if i < histSub {
		return int64(i)
	}
	e := (i - histSub) / histSub
	m := (i-histSub)%histSub + histSub
	return int64(m) << e
}

func (h *histogram) record(d time.Duration) { h.counts[histIndex(int64(d))].Add(1) }

// summary summarises the recorded values; each is reported as the lower
// bound of its bucket.
func (h *histogram) summary() Summary {
	var n int64
	var sum float64
	counts := make([]int64, histBuckets)
	maxI := -1
	for i := range h.counts {
		c := h.counts[i].Load()
		counts[i] = c
		n += c
		sum += float64(c) * float64(histValue(i))
		if c > 0 {
			maxI = i
		}
	}
	if n == 0 {
		return Summary{}
	}
	at := func(q float64) float64 {
		rank := int64(math.Ceil(q * float64(n)))
		var seen int64
		for i, c := range counts {
			seen += c
			if seen >= rank {
				return float64(histValue(i)) / 1e3
			}
		}
		return float64(histValue(maxI)) / 1e3
	}
	return Summary{
		N:    int(n),
		Mean: sum / float64(n) / 1e3,
		P50:  at(0.50),
		P90:  at(0.90),
		P99:  at(0.99),
		P999: at(0.999),
		Max:  float64(histValue(maxI)) / 1e3,
	}
}
