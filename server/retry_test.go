package server

import (
	"errors"
	"slices"
	"testing"
)

func TestRetryQueue(t *testing.T) {
	q := retryQueue[int]{max: 4}
	for i := 1; i <= 5; i++ {
		if got, want := q.add(i), i <= 4; got != want {
			t.Fatalf("add(%d) = %v, want %v", i, got, want)
		}
	}
	var seen []int
	q.retry(func(v int) error {
		seen = append(seen, v)
		if v == 2 {
			q.add(9) // added while retrying: goes behind what failed
			return errors.New("still failing")
		}
		return nil
	})
	if !slices.Equal(seen, []int{1, 2}) || !slices.Equal(q.items, []int{2, 3, 4, 9}) {
		t.Fatalf("tried %v, left %v; want [1 2] tried, [2 3 4 9] left", seen, q.items)
	}
	seen = nil
	q.retry(func(v int) error { seen = append(seen, v); return nil })
	if !slices.Equal(seen, []int{2, 3, 4, 9}) || len(q.items) != 0 {
		t.Fatalf("tried %v, left %v", seen, q.items)
	}
}
