// Package lru is the size-bounded, expiring cache of the admission webhook
// and the registry gate.
package lru

import (
	"container/list"
	"sync"
	"time"
)

// Cache is a size-bounded least-recently-used map whose entries may
// expire. It is safe for concurrent use.
type Cache[V any] struct {
	mu    sync.Mutex
	max   int
	now   func() time.Time
	order *list.List // of *entry[V], most recent first
	byKey map[string]*list.Element
}

type entry[V any] struct {
	key     string
	val     V
	expires time.Time // zero: never
}

// New returns a cache of at most max entries whose clock is now.
func New[V any](max int, now func() time.Time) *Cache[V] {
	return &Cache[V]{max: max, now: now, order: list.New(), byKey: map[string]*list.Element{}}
}

// Get returns the value under key unless it is missing or expired.
func (c *Cache[V]) Get(key string) (V, bool) {
	v, _, ok := c.GetExpiring(key)
	return v, ok
}

// GetExpiring is Get that also says when the entry expires (zero: never).
func (c *Cache[V]) GetExpiring(key string) (V, time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var zero V
	e, ok := c.byKey[key]
	if !ok {
		return zero, time.Time{}, false
	}
	ent := e.Value.(*entry[V])
	if !ent.expires.IsZero() && !c.now().Before(ent.expires) {
		c.order.Remove(e)
		delete(c.byKey, key)
		return zero, time.Time{}, false
	}
	c.order.MoveToFront(e)
	return ent.val, ent.expires, true
}

// Put stores val under key for ttl (0: until evicted), evicting the least
// recently used entries beyond the cache's size.
func (c *Cache[V]) Put(key string, val V, ttl time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ent := &entry[V]{key: key, val: val}
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
		delete(c.byKey, last.Value.(*entry[V]).key)
		c.order.Remove(last)
	}
}
