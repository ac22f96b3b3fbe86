package lru

import (
	"testing"
	"time"
)

func TestCache(t *testing.T) {
	now := time.Unix(0, 0)
	c := New[int](2, func() time.Time { return now })
	c.Put("a", 1, 0)
	c.Put("b", 2, time.Minute)
	if _, exp, ok := c.GetExpiring("b"); !ok || !exp.Equal(now.Add(time.Minute)) {
		t.Fatalf("b: ok %v, expires %v", ok, exp)
	}
	c.Get("a") // a is now the most recent: c evicts b
	c.Put("c", 3, 0)
	if _, ok := c.Get("b"); ok {
		t.Error("b was not evicted")
	}
	if v, ok := c.Get("a"); !ok || v != 1 {
		t.Errorf("a = %v, %v; want 1, true", v, ok)
	}
	c.Put("c", 4, time.Second)
	now = now.Add(time.Second)
	if _, ok := c.Get("c"); ok {
		t.Error("c did not expire")
	}
	if v, ok := c.Get("a"); !ok || v != 1 {
		t.Errorf("a (no ttl) = %v, %v; want 1, true", v, ok)
	}
}

func TestSizedCache(t *testing.T) {
	now := time.Unix(0, 0)
	c := NewSized(10, 100, func(s string) int64 { return int64(len(s)) }, func() time.Time { return now })
	c.Put("a", string(make([]byte, 40)), 0)
	c.Put("b", string(make([]byte, 40)), 0)
	if c.Len() != 2 || c.Bytes() != 80 {
		t.Fatalf("len %d, bytes %d; want 2, 80", c.Len(), c.Bytes())
	}
	c.Get("a") // b is the least recently used
	c.Put("c", string(make([]byte, 40)), 0)
	if _, ok := c.Get("b"); ok {
		t.Error("b was kept beyond the byte budget")
	}
	if _, ok := c.Get("a"); !ok {
		t.Error("a was evicted, not the least recently used b")
	}
	if c.Bytes() != 80 {
		t.Errorf("bytes %d after the eviction, want 80", c.Bytes())
	}
	// Replacing a value counts its new size, not both.
	c.Put("a", string(make([]byte, 10)), 0)
	if c.Len() != 2 || c.Bytes() != 50 {
		t.Errorf("after replacing a: len %d, bytes %d; want 2, 50", c.Len(), c.Bytes())
	}
	// A value larger than the whole budget is not kept and evicts nothing.
	c.Put("huge", string(make([]byte, 101)), 0)
	if _, ok := c.Get("huge"); ok || c.Len() != 2 {
		t.Errorf("a value over the budget: kept %v, len %d; want not kept, 2", ok, c.Len())
	}
	// An expired entry gives its bytes back.
	c.Put("d", "1234", time.Second)
	now = now.Add(time.Second)
	c.Get("d")
	if c.Bytes() != 50 {
		t.Errorf("bytes %d after d expired, want 50", c.Bytes())
	}
	// The count still bounds it.
	for i := range 20 {
		c.Put(string(rune('A'+i)), "", 0)
	}
	if c.Len() != 10 {
		t.Errorf("len %d, want 10", c.Len())
	}
}
