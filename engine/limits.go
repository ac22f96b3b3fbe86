package engine

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/metrics"
	"sort"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/devflow/dwf-policy/engine/document"
)

// DefaultEvalTimeout bounds the evaluation of one document by every rule of
// its kind. The built-in rules take well under a millisecond per document;
// the deadline is for a custom rule that loops or builds huge values.
const DefaultEvalTimeout = 5 * time.Second

// DefaultMemoryBudget is the live heap above which evaluation stops. A
// check of thousands of files stays under 100 MB; the budget is for a
// policy that builds a value large enough to exhaust the machine.
const DefaultMemoryBudget = 1 << 30

// ErrMemoryBudget is the cause of a run stopped because the live heap grew
// past Options.MemoryBudget.
var ErrMemoryBudget = errors.New("memory budget exceeded")

// errDeadline is the cause of one document's evaluation running out of
// time.
var errDeadline = errors.New("evaluation deadline exceeded")

// memoryGuard cancels ctx with ErrMemoryBudget when the live heap passes
// budget. It samples the heap every few milliseconds, and collects garbage
// before it decides, so garbage alone never stops a run. The returned stop
// function ends the guard.
func memoryGuard(ctx context.Context, budget int64) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	if budget <= 0 {
		return ctx, func() { cancel(nil) }
	}
	done := make(chan struct{})
	go func() {
		sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			metrics.Read(sample)
			if int64(sample[0].Value.Uint64()) <= budget {
				continue
			}
			// Past the budget: the live heap of the last collection says
			// at once whether it is more than garbage; only when it does
			// not is a collection worth its time (a forced one on a large
			// heap takes long enough for a growing value to overshoot).
			metrics.Read(live)
			if int64(live[0].Value.Uint64()) <= budget {
				runtime.GC()
				metrics.Read(live)
			}
			if int64(live[0].Value.Uint64()) > budget {
				cancel(ErrMemoryBudget)
				return
			}
		}
	}()
	return ctx, func() { close(done); cancel(nil) }
}

// evalLimited runs the kind's query over one document within the
// engine's deadline, and explains a deadline or a memory stop.
func (e *Engine) evalLimited(ctx context.Context, q *kindQuery, doc *document.Document, input ast.Value) (rego.ResultSet, error) {
	evalCtx, cancel := context.WithTimeoutCause(ctx, e.evalTimeout, errDeadline)
	defer cancel()
	evalOpts := []rego.EvalOption{rego.EvalParsedInput(input), rego.EvalGenerateJSON(resultValue)}
	if now, ok := ctx.Value(nowKey{}).(time.Time); ok {
		evalOpts = append(evalOpts, rego.EvalTime(now))
	}
	rs, err := q.pq.Eval(evalCtx, evalOpts...)
	if err == nil {
		return rs, nil
	}
	switch {
	case errors.Is(context.Cause(ctx), ErrMemoryBudget):
		return nil, fmt.Errorf("evaluating %s: stopped: the policies' live heap passed the %d MiB memory budget", doc.Path, e.memoryBudget>>20)
	case ctx.Err() != nil:
		return nil, fmt.Errorf("evaluating %s: %w", doc.Path, context.Cause(ctx))
	case errors.Is(context.Cause(evalCtx), errDeadline):
		return nil, fmt.Errorf("evaluating %s: %s did not finish within the %s evaluation deadline", doc.Path, e.slowRules(ctx, q.compiler, doc, input), e.evalTimeout)
	}
	return nil, fmt.Errorf("evaluating %s: %w", doc.Path, err)
}

// slowRules names the rules of doc's kind that do not finish within the
// deadline on their own: the rule packages are evaluated one at a time.
// This runs only after a deadline was missed, so its cost is no concern.
func (e *Engine) slowRules(ctx context.Context, compiler *ast.Compiler, doc *document.Document, input ast.Value) string {
	seg := kindSegment(doc.Kind) + "."
	var slow []string
	for key, r := range e.byPackage {
		if !strings.HasPrefix(key, seg) {
			continue
		}
		pq, err := rego.New(rego.Query(r.Package+".deny"), rego.Compiler(compiler), rego.Store(e.store)).PrepareForEval(ctx)
		if err != nil {
			continue
		}
		one, cancel := context.WithTimeout(ctx, e.evalTimeout)
		_, err = pq.Eval(one, rego.EvalParsedInput(input))
		timedOut := one.Err() != nil
		cancel()
		if err != nil && timedOut {
			slow = append(slow, fmt.Sprintf("rule %s (%s)", r.ID, strings.TrimPrefix(r.Package, "data.")))
		}
		if ctx.Err() != nil {
			break
		}
	}
	if len(slow) == 0 {
		return "the rules of kind " + string(doc.Kind)
	}
	sort.Strings(slow)
	return strings.Join(slow, ", ")
}

// stopped explains why a run stopped handing out documents.
func stopped(ctx context.Context, budget int64) error {
	if errors.Is(context.Cause(ctx), ErrMemoryBudget) {
		return fmt.Errorf("stopped: the policies' live heap passed the %d MiB memory budget", budget>>20)
	}
	return context.Cause(ctx)
}
