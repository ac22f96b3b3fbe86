package check

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/devflow/dwf-policy/engine/document"
	"github.com/devflow/dwf-policy/engine/input/image"
)

// fetches loads each distinct key once per check, at most maxImagesAtOnce
// at a time, and remembers which inputs wanted it, so that a failure is
// reported once, naming them all. The base-image and container-image
// resolvers share it.
type fetches[K comparable, V any] struct {
	sem chan struct{}
	mu  sync.Mutex
	m   map[K]*fetch[V]
}

type fetch[V any] struct {
	once  sync.Once
	val   V
	err   error
	users []string // the inputs that wanted it, by path
}

func newFetches[K comparable, V any]() *fetches[K, V] {
	return &fetches[K, V]{sem: make(chan struct{}, maxImagesAtOnce), m: map[K]*fetch[V]{}}
}

// get returns the value of key for the input user, loading it with load
// the first time any input asks.
func (f *fetches[K, V]) get(key K, user string, load func() (V, error)) (V, error) {
	f.mu.Lock()
	e, ok := f.m[key]
	if !ok {
		e = &fetch[V]{}
		f.m[key] = e
	}
	e.users = append(e.users, user)
	f.mu.Unlock()
	e.once.Do(func() {
		f.sem <- struct{}{}
		defer func() { <-f.sem }()
		e.val, e.err = load()
	})
	return e.val, e.err
}

// problems adds one Problem per key that failed, ordered by name, worded
// by describe(users, err) with a hint for the error, and returns an error
// counting the failures among all the images (what names them).
func (f *fetches[K, V]) problems(res *Result, name func(K) string, describe func(users string, err error) error, timeout time.Duration, what string) error {
	var failed []K
	for k, e := range f.m {
		if e.err != nil {
			failed = append(failed, k)
		}
	}
	if len(failed) == 0 {
		return nil
	}
	slices.SortFunc(failed, func(a, b K) int { return strings.Compare(name(a), name(b)) })
	for _, k := range failed {
		e := f.m[k]
		users := slices.Clone(e.users)
		slices.Sort(users)
		res.Problems = append(res.Problems, Problem{
			Err:  describe(strings.Join(slices.Compact(users), ", "), e.err),
			Hint: image.Hint(e.err, timeout),
		})
	}
	return fmt.Errorf("%d of %d %s could not be resolved", len(failed), len(f.m), what)
}

// loadError says why an image could not be loaded: a broken manifest or
// config (a DWF000 when the image is checked itself) in its own words.
func loadError(ref string, err error) error {
	if perr, ok := errors.AsType[*document.ParseError](err); ok {
		return fmt.Errorf("loading image %s: %s", ref, perr.Message)
	}
	return err
}
