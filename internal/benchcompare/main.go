// Command benchcompare runs dwf-policy and conftest side by side over the
// same Dockerfiles and prints medians and ratios of wall time, CPU time and
// peak RSS: one small Dockerfile (what a pre-commit hook pays), 2,000
// Dockerfiles, and dwf-policy alone over 50,000 (memory must not grow with
// the number of files). It is what `make bench-compare` runs; the figures
// of issue 17 come from it.
//
// Runs alternate between the two tools (which goes first alternates too),
// so a burst of load on a shared machine hits both; CPU time and peak RSS
// come from the kernel's rusage of each child process.
package main

import (
	"cmp"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/devflow/dwf-policy/internal/corpus"
)

// conftestPolicy is the trivial one-rule policy conftest runs with.
const conftestPolicy = `package main

deny contains msg if {
	some instruction in input
	instruction.Cmd == "user"
	instruction.Value[0] == "root"
	msg := "do not run as root"
}
`

// smallDockerfile is the one small Dockerfile of case (a).
const smallDockerfile = `# syntax=docker/dockerfile:1.7
FROM python:3.12-slim@sha256:2b0079146a74e23bf4ae8f6a28e1b484c6292f6fb904cbb51825b4a19812fcd8
RUN --mount=type=cache,target=/var/cache/apt,sharing=locked \
    apt-get update && apt-get install -y --no-install-recommends tini \
 && groupadd --gid 1001 dwfuser \
 && useradd --uid 1001 --gid dwfuser --no-create-home dwfuser
WORKDIR /app
COPY requirements.txt .
RUN --mount=type=cache,target=/root/.cache/pip pip install -r requirements.txt
COPY . .
USER dwfuser
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["python", "-m", "worker"]
`

func main() {
	dwf := flag.String("dwf-policy", "bin/dwf-policy", "the dwf-policy binary")
	conftest := flag.String("conftest", ".tools/bin/conftest", "the conftest binary")
	work := flag.String("work", filepath.Join(os.TempDir(), "dwf-policy-bench-compare"), "directory for the corpora (kept between runs, outside any repository)")
	runs := flag.Int("runs", 10, "runs of each tool per case (alternating)")
	files := flag.Int("files", 2000, "Dockerfiles in the corpus of case (b)")
	large := flag.Int("large", 50000, "Dockerfiles in the corpus dwf-policy alone checks for peak RSS (0 skips it)")
	largeRuns := flag.Int("large-runs", 3, "runs over the large corpus")
	flag.Parse()
	if err := run(*dwf, *conftest, *work, *runs, *files, *large, *largeRuns); err != nil {
		fmt.Fprintln(os.Stderr, "bench-compare:", err)
		os.Exit(1)
	}
}

func run(dwf, conftest, work string, runs, files, large, largeRuns int) error {
	for _, bin := range []*string{&dwf, &conftest} {
		abs, err := filepath.Abs(*bin)
		if err != nil {
			return err
		}
		if _, err := os.Stat(abs); err != nil {
			return fmt.Errorf("%s: %w", *bin, err)
		}
		*bin = abs
	}
	if err := os.MkdirAll(work, 0o755); err != nil {
		return err
	}
	policy := filepath.Join(work, "conftest-policy")
	if err := os.MkdirAll(policy, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(policy, "policy.rego"), []byte(conftestPolicy), 0o644); err != nil {
		return err
	}
	small := filepath.Join(work, "small")
	if err := os.MkdirAll(small, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(small, "Dockerfile"), []byte(smallDockerfile), 0o644); err != nil {
		return err
	}
	corpusDir, err := ensureCorpus(work, files)
	if err != nil {
		return err
	}
	out, err := os.CreateTemp(work, "output-")
	if err != nil {
		return err
	}
	defer os.Remove(out.Name())
	defer out.Close()

	fmt.Printf("dwf-policy: %s\nconftest:   %s (%s)\nload average before: %s\n\n", dwf, conftest, conftestVersion(conftest), loadAverage())
	cases := []struct {
		name     string
		dir      string
		dwf, con []string
	}{
		{"(a) one small Dockerfile", small,
			[]string{dwf, "check", "Dockerfile"},
			[]string{conftest, "test", "--no-color", "--policy", policy, "Dockerfile"}},
		{fmt.Sprintf("(b) %d Dockerfiles", files), corpusDir,
			[]string{dwf, "check", "--fail-on", "none", "."},
			[]string{conftest, "test", "--no-color", "--policy", policy, "."}},
	}
	for _, c := range cases {
		var d, k []usage
		for i := range runs {
			first, second := &d, &k
			argsFirst, argsSecond := c.dwf, c.con
			if i%2 == 1 {
				first, second, argsFirst, argsSecond = second, first, argsSecond, argsFirst
			}
			u, err := measure(c.dir, argsFirst, out)
			if err != nil {
				return err
			}
			*first = append(*first, u)
			if u, err = measure(c.dir, argsSecond, out); err != nil {
				return err
			}
			*second = append(*second, u)
		}
		report(c.name, runs, median(d), median(k))
	}
	fmt.Printf("load average after the side-by-side runs: %s\n", loadAverage())
	if large <= 0 {
		return nil
	}
	largeDir, err := ensureCorpus(work, large)
	if err != nil {
		return err
	}
	var base, big []usage
	for range largeRuns {
		u, err := measure(corpusDir, cases[1].dwf, out)
		if err != nil {
			return err
		}
		base = append(base, u)
		if u, err = measure(largeDir, cases[1].dwf, out); err != nil {
			return err
		}
		big = append(big, u)
	}
	b, l := median(base), median(big)
	fmt.Printf("\ndwf-policy peak RSS, medians of %d runs: %d Dockerfiles %.1f MiB (wall %s), %d Dockerfiles %.1f MiB (wall %s): ratio %.2f (target <= 1.5)\n",
		largeRuns, files, mib(b.rss), ms(b.wall), large, mib(l.rss), ms(l.wall), float64(l.rss)/float64(b.rss))
	fmt.Printf("load average after: %s\n", loadAverage())
	return nil
}

// usage is what one run of a tool cost.
type usage struct {
	wall, cpu time.Duration
	rss       int64 // bytes
}

// measure runs args in dir, its output to out, and returns its wall time,
// its CPU time (user + system) and its peak RSS. Exit codes 0 and 1
// (findings, failures) both count as a run.
func measure(dir string, args []string, out *os.File) (usage, error) {
	if err := out.Truncate(0); err != nil {
		return usage{}, err
	}
	if _, err := out.Seek(0, io.SeekStart); err != nil {
		return usage{}, err
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = dir
	cmd.Stdout = out
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() > 1 {
		return usage{}, fmt.Errorf("%s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	ru, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	u := usage{wall: wall, cpu: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()}
	if ru != nil {
		u.rss = ru.Maxrss << 10 // kilobytes on Linux
	}
	return u, nil
}

// median takes the median of each measure on its own.
func median(us []usage) usage {
	pick := func(get func(usage) int64) int64 {
		vs := make([]int64, len(us))
		for i, u := range us {
			vs[i] = get(u)
		}
		slices.Sort(vs)
		if n := len(vs); n%2 == 0 {
			return (vs[n/2-1] + vs[n/2]) / 2
		}
		return vs[len(vs)/2]
	}
	return usage{
		wall: time.Duration(pick(func(u usage) int64 { return int64(u.wall) })),
		cpu:  time.Duration(pick(func(u usage) int64 { return int64(u.cpu) })),
		rss:  pick(func(u usage) int64 { return u.rss }),
	}
}

func report(name string, runs int, d, k usage) {
	fmt.Printf("%s, medians of %d alternating runs\n", name, runs)
	fmt.Printf("  %-10s %12s %12s %12s\n", "", "wall", "cpu", "peak RSS")
	fmt.Printf("  %-10s %12s %12s %9.1f MiB\n", "dwf-policy", ms(d.wall), ms(d.cpu), mib(d.rss))
	fmt.Printf("  %-10s %12s %12s %9.1f MiB\n", "conftest", ms(k.wall), ms(k.cpu), mib(k.rss))
	fmt.Printf("  %-10s %12.2f %12.2f %12.2f\n\n", "ratio", ratio(d.wall, k.wall), ratio(d.cpu, k.cpu), ratio(time.Duration(d.rss), time.Duration(k.rss)))
}

func ratio(a, b time.Duration) float64 { return float64(a) / float64(cmp.Or(b, 1)) }

func ms(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 1, 64) + " ms" }

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// ensureCorpus writes n Dockerfiles under work once; a marker file says the
// corpus is complete, so an interrupted write is redone.
func ensureCorpus(work string, n int) (string, error) {
	dir := filepath.Join(work, fmt.Sprintf("corpus-%d", n))
	marker := filepath.Join(work, fmt.Sprintf("corpus-%d.complete", n))
	if _, err := os.Stat(marker); err == nil {
		return dir, nil
	}
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	fmt.Fprintf(os.Stderr, "bench-compare: writing %d Dockerfiles to %s\n", n, dir)
	if _, err := corpus.Write(dir, n); err != nil {
		return "", err
	}
	return dir, os.WriteFile(marker, nil, 0o644)
}

func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func conftestVersion(bin string) string {
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		return "version unknown"
	}
	return strings.Join(strings.Fields(string(out)), " ")
}
