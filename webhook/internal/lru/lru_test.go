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
