package admission

import (
	"container/list"
	"sync"
	"time"
)

// lru is a size-bounded least-recently-used map whose entries may expire.
// It is safe for concurrent use.
type lru[V any] struct {
	mu    sync.Mutex
	max   int
	now   func() time.Time
	order *list.List // of *lruEntry[V], most recent first
	byKey map[string]*list.Element
}

type lruEntry[V any] struct {
	key     string
	val     V
	expires time.Time // zero: never
}

func newLRU[V any](max int, now func() time.Time) *lru[V] {
	return &lru[V]{max: max, now: now, order: list.New(), byKey: map[string]*list.Element{}}
}

func (c *lru[V]) get(key string) (V, bool) {
	v, _, ok := c.getExpiring(key)
	return v, ok
}

// getExpiring is get that also says when the entry expires (zero: never).
func (c *lru[V]) getExpiring(key string) (V, time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var zero V
	e, ok := c.byKey[key]
	if !ok {
		return zero, time.Time{}, false
	}
	ent := e.Value.(*lruEntry[V])
	if !ent.expires.IsZero() && !c.now().Before(ent.expires) {
		c.order.Remove(e)
		delete(c.byKey, key)
		return zero, time.Time{}, false
	}
	c.order.MoveToFront(e)
	return ent.val, ent.expires, true
}

// put stores val under key for ttl (0: until evicted).
func (c *lru[V]) put(key string, val V, ttl time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ent := &lruEntry[V]{key: key, val: val}
	if ttl > 0 {
		ent.expires = c.now().Add(ttl)
	}
	if e, ok := c.byKey[key]; ok {
		e.Value = ent
		c.order.MoveToFront(e)
		return
	}
	c.byKey[key] = c.order.PushFront(ent)
	for c.order.Len() > c.max {
		last := c.order.Back()
		delete(c.byKey, last.Value.(*lruEntry[V]).key)
		c.order.Remove(last)
	}
}
