package server

import "sync"

// retryQueue holds work the backend failed, to be tried again, oldest
// first, at the next sweeps: departures the store did not record, changes
// the broker did not take.
type retryQueue[T any] struct {
	mu    sync.Mutex
	items []T
	max   int // 0: no bound
}

// add keeps v for later; it reports false, keeping nothing, when the
// queue holds max items already.
func (q *retryQueue[T]) add(v T) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.max > 0 && len(q.items) >= q.max {
		return false
	}
	q.items = append(q.items, v)
	return true
}

// retry calls do for each item in order until one fails; that one and the
// rest go back ahead of what was added meanwhile.
func (q *retryQueue[T]) retry(do func(T) error) {
	q.mu.Lock()
	todo := q.items
	q.items = nil
	q.mu.Unlock()
	for i, v := range todo {
		if do(v) != nil {
			q.mu.Lock()
			q.items = append(todo[i:], q.items...)
			q.mu.Unlock()
			return
		}
	}
}
