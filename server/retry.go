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

// userSet holds users to be handled again at the next sweeps, each once
// however often it is added: the users whose change the store may have
// taken without this node knowing.
type userSet struct {
	mu    sync.Mutex
	users map[string]uint64 // user → the add that put it last
	adds  uint64
	max   int // 0: no bound
}

// add keeps user for later; it reports false, keeping nothing, when the
// set holds max users already and not user.
func (s *userSet) add(user string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[user]; !ok && s.max > 0 && len(s.users) >= s.max {
		return false
	}
	if s.users == nil {
		s.users = make(map[string]uint64)
	}
	s.adds++
	s.users[user] = s.adds
	return true
}

// retry calls do for each user until one fails; that one and the rest
// stay for the next time, and so does a user added again while do ran
// for it (do may have read what came before).
func (s *userSet) retry(do func(string) error) {
	s.mu.Lock()
	todo := make(map[string]uint64, len(s.users))
	for u, n := range s.users {
		todo[u] = n
	}
	s.mu.Unlock()
	for u, n := range todo {
		if do(u) != nil {
			return
		}
		s.mu.Lock()
		if s.users[u] == n {
			delete(s.users, u)
		}
		s.mu.Unlock()
	}
}
