package cli

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
)

// heapFloor is the heap a one-shot command may use before garbage
// collection holds it to one and a half times what is live: a check of a
// few thousand files never reaches it, nor does one of a 5,000-vulnerability
// Trivy report since its vulnerabilities are typed values (128 MiB was
// needed while they were maps; at 64 MiB now, the report checks as fast).
// A larger floor only lets a long run's heap fill it: 50,000 Dockerfiles
// peaked at 157 MB with 128 MiB, at 94 MB with 64 MiB, against 84 MB for
// 2,000.
const heapFloor = 64 << 20

var (
	gcOnce sync.Once
	// heapCeiling is the most the soft memory limit may be raised to: the
	// memory budget, or the environment's GOMEMLIMIT.
	heapCeiling atomic.Int64
)

// tuneGC trades memory for speed in a short-lived process: most of a
// check's CPU time is otherwise garbage collection of parsed documents, so
// the heap may grow to seven times what is live (GOGC=600: over 2,000
// Dockerfiles, 13 collections instead of 21 at GOGC=400, about 5% of the
// CPU time, for 2.5 MiB more peak RSS) while that stays under heapFloor.
// Past it, a soft memory limit of one and a half times the live heap,
// raised after every collection, holds memory to what the check keeps, so
// a check of 50,000 files needs about the memory of one of 2,000 rather
// than seven times what 50,000 keep. GOGC and GOMEMLIMIT in the
// environment still win.
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(600)
	}
	heapCeiling.Store(1 << 30)
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	gcOnce.Do(func() {
		debug.SetMemoryLimit(heapFloor)
		followLiveHeap()
	})
}

// capHeap keeps the soft memory limit at or below budget.
func capHeap(budget int64) {
	if budget < heapCeiling.Load() {
		heapCeiling.Store(budget)
	}
	if limit := debug.SetMemoryLimit(-1); budget < limit {
		debug.SetMemoryLimit(budget)
	}
}

// gcSentinel is garbage as soon as it is made; it holds a pointer and is
// not tiny, so it is freed by the next collection on its own.
type gcSentinel struct {
	_ *int
	_ [24]byte
}

// followLiveHeap sets the soft memory limit after every garbage collection
// to max(heapFloor, 1.5 × live heap), at most heapCeiling. A cleanup
// on an unreachable object runs once a collection has freed it, and arms
// the next.
func followLiveHeap() {
	runtime.AddCleanup(&gcSentinel{}, func(struct{}) {
		live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		metrics.Read(live)
		n := int64(live[0].Value.Uint64())
		limit := max(heapFloor, n+n/2)
		debug.SetMemoryLimit(min(limit, heapCeiling.Load()))
		followLiveHeap()
	}, struct{}{})
}
