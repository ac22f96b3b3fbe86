#!/usr/bin/env bash
# Runs every native Go fuzz target in the module for a fixed number of
# executions, then reports which targets failed.
#
# The budget is a count (FUZZTIME=3000x), not a duration, on purpose: with a
# duration Go 1.26's fuzz coordinator can report "context deadline exceeded"
# as a failure when the time runs out while a worker is mid-call
# (golang/go#75804, fixed in Go 1.27). A count has no wall-clock deadline, so
# a red run means the fuzzer really found an input; it writes the input under
# the package's testdata/fuzz/<Target>/ and plain `go test` replays it.
set -euo pipefail

GO=${GO:-go}
FUZZTIME=${FUZZTIME:-3000x}
FUZZMINIMIZETIME=${FUZZMINIMIZETIME:-200x}

failed=()
for pkg in $("$GO" list ./...); do
  # A package whose tests do not build is a failure, not a package without
  # fuzz targets.
  if ! listed=$("$GO" test -list '^Fuzz' "$pkg"); then
    failed+=("$pkg (tests do not build)")
    continue
  fi
  for target in $(grep '^Fuzz' <<<"$listed" || true); do
    echo "fuzz $pkg $target ($FUZZTIME)"
    if ! "$GO" test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" \
        -fuzzminimizetime "$FUZZMINIMIZETIME" -timeout 10m "$pkg"; then
      failed+=("$pkg $target")
    fi
  done
done

if ((${#failed[@]})); then
  echo "fuzzing failed for ${#failed[@]} target(s):" >&2
  printf '  %s\n' "${failed[@]}" >&2
  exit 1
fi
