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

func TestUserSet(t *testing.T) {
	s := userSet{max: 3}
	for _, u := range []string{"a", "b", "a", "c"} {
		if !s.add(u) {
			t.Fatalf("add(%q) refused with %d held", u, len(s.users))
		}
	}
	if s.add("d") {
		t.Fatal("add(d) past the bound was kept")
	}
	if !s.add("b") {
		t.Fatal("add(b), held already, refused at the bound")
	}
	var seen []string
	s.retry(func(u string) error {
		seen = append(seen, u)
		if u == "a" {
			s.add("a") // a new doubt while a's read ran: it stays
		}
		return nil
	})
	slices.Sort(seen)
	if !slices.Equal(seen, []string{"a", "b", "c"}) || len(s.users) != 1 || s.users["a"] == 0 {
		t.Fatalf("tried %v, left %v; want a, b, c tried, a left", seen, s.users)
	}
	s.retry(func(string) error { return errors.New("still failing") })
	if len(s.users) != 1 {
		t.Fatalf("a failed retry dropped %v", s.users)
	}
	s.retry(func(string) error { return nil })
	if len(s.users) != 0 {
		t.Fatalf("left %v after a retry that passed", s.users)
	}
}
