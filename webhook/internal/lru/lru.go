// Package lru is the size-bounded, expiring cache of the admission webhook
// and the registry gate.
package lru

import (
	"container/list"
	"sync"
	"time"
)

// Cache is a least-recently-used map whose entries may expire, bounded by
// a number of entries and, when made by NewSized, by the bytes its values
// hold. It is safe for concurrent use.
type Cache[V any] struct {
	mu     sync.Mutex
	max    int
	budget int64         // 0: no byte bound
	size   func(V) int64 // the bytes a value holds (an estimate)
	bytes  int64         // held by the entries now
	now    func() time.Time
	order  *list.List // of *entry[V], most recent first
	byKey  map[string]*list.Element
}

type entry[V any] struct {
	key     string
	val     V
	size    int64
	expires time.Time // zero: never
}

// New returns a cache of at most max entries whose clock is now.
func New[V any](max int, now func() time.Time) *Cache[V] {
	return &Cache[V]{max: max, now: now, order: list.New(), byKey: map[string]*list.Element{}}
}

// NewSized returns a cache of at most max entries whose values hold at
// most budget bytes together, as size counts them. A count alone does not
// bound memory when one value can be megabytes (an image config, the
// findings of a 5,000-vulnerability report): whoever can push images must
// not be able to fill the server's memory through its caches.
func NewSized[V any](max int, budget int64, size func(V) int64, now func() time.Time) *Cache[V] {
	c := New[V](max, now)
	c.budget, c.size = budget, size
	return c
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
		c.remove(e)
		return zero, time.Time{}, false
	}
	c.order.MoveToFront(e)
	return ent.val, ent.expires, true
}

// Put stores val under key for ttl (0: until evicted), evicting the least
// recently used entries beyond the cache's bounds. A value larger than
// the whole byte budget is not kept (and replaces nothing).
func (c *Cache[V]) Put(key string, val V, ttl time.Duration) {
	var size int64
	if c.size != nil {
		size = c.size(val)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.budget > 0 && size > c.budget {
		return
	}
	ent := &entry[V]{key: key, val: val, size: size}
	if ttl > 0 {
		ent.expires = c.now().Add(ttl)
	}
	if e, ok := c.byKey[key]; ok {
		c.bytes += size - e.Value.(*entry[V]).size
		e.Value = ent
		c.order.MoveToFront(e)
	} else {
		c.byKey[key] = c.order.PushFront(ent)
		c.bytes += size
	}
	for c.order.Len() > c.max || (c.budget > 0 && c.bytes > c.budget) {
		c.remove(c.order.Back())
	}
}

// Len and Bytes say what the cache holds now.
func (c *Cache[V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}

func (c *Cache[V]) Bytes() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bytes
}

func (c *Cache[V]) remove(e *list.Element) {
	ent := e.Value.(*entry[V])
	c.order.Remove(e)
	delete(c.byKey, ent.key)
	c.bytes -= ent.size
}
