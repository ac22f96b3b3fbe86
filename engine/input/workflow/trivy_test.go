package workflow

import (
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// runWorkflow wraps one run: step (with optional extra step keys) in a
// valid workflow.
func runWorkflow(run string, stepKeys string) string {
	return "on: push\npermissions: {contents: read}\njobs:\n  scan:\n    runs-on: ubuntu-latest\n    steps:\n      - " +
		stepKeys + "run: " + run + "\n"
}

func scans(t *testing.T, src string, opts Options) []map[string]any {
	t.Helper()
	doc, err := Parse(".github/workflows/ci.yml", []byte(src), opts)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	var out []map[string]any
	for _, j := range doc.Input["jobs"].([]any) {
		for _, s := range j.(map[string]any)["steps"].([]any) {
			for _, sc := range s.(map[string]any)["trivy_scans"].([]any) {
				out = append(out, sc.(map[string]any))
			}
		}
	}
	return out
}

// summary renders the fields of a scan the detection table checks.
func summary(sc map[string]any) string {
	set := func(k string) string {
		s := sc[k].(map[string]any)
		v := fmt.Sprintf("%s=%q/%s", k, s["value"], s["source"])
		if !s["resolved"].(bool) {
			v += "/unresolved"
		}
		return v
	}
	return strings.Join([]string{fmt.Sprint(sc["tool"]), fmt.Sprint(sc["subcommand"]), set("exit_code"), set("severity"), set("scanners"), set("format")}, " ")
}

func TestTrivyDetection(t *testing.T) {
	for _, tc := range []struct {
		run  string
		keys string // extra step keys, e.g. "env: {A: b}\n        "
		want []string
	}{
		{"trivy image app", "", []string{`trivy image exit_code="0"/default severity=""/default scanners=""/default format="table"/default`}},
		{"trivy i --exit-code 1 -s HIGH,CRITICAL app", "", []string{`trivy image exit_code="1"/flag severity="HIGH,CRITICAL"/flag scanners=""/default format="table"/default`}},
		{"trivy fs --exit-code=2 --severity=CRITICAL --severity HIGH .", "", []string{`trivy filesystem exit_code="2"/flag severity="CRITICAL,HIGH"/flag scanners=""/default format="table"/default`}},
		{"trivy repo -sCRITICAL,HIGH --scanners vuln,secret -f json https://github.com/a/b", "", []string{`trivy repository exit_code="0"/default severity="CRITICAL,HIGH"/flag scanners="vuln,secret"/flag format="json"/flag`}},
		{"trivy --cache-dir /tmp/c --quiet k8s --exit-code 1 cluster", "", []string{`trivy kubernetes exit_code="1"/flag severity=""/default scanners=""/default format="table"/default`}},
		{"trivy conf --exit-code 1 .", "", []string{`trivy config exit_code="1"/flag severity=""/default scanners=""/default format="table"/default`}},
		{"trivy rootfs --security-checks secret /", "", []string{`trivy rootfs exit_code="0"/default severity=""/default scanners="secret"/flag format="table"/default`}},
		{"/usr/local/bin/trivy sbom --exit-code 1 sbom.json", "", []string{`trivy sbom exit_code="1"/flag severity=""/default scanners=""/default format="table"/default`}},
		{"trivy vm --exit-code 1 ami:ami-1", "", []string{`trivy vm exit_code="1"/flag severity=""/default scanners=""/default format="table"/default`}},
		{"trivy image --exit-code ${{ inputs.code }} app", "", []string{`trivy image exit_code="${{ inputs.code }}"/flag/unresolved severity=""/default scanners=""/default format="table"/default`}},
		{`trivy image --exit-code "$CODE" app`, "", []string{`trivy image exit_code="\"$CODE\""/flag/unresolved severity=""/default scanners=""/default format="table"/default`}},
		{`trivy image --exit-code "$CODE" app`, "env: {CODE: 3}\n        ", []string{`trivy image exit_code="3"/flag severity=""/default scanners=""/default format="table"/default`}},
		{`trivy image --exit-code "${CODE:-1}" app`, "", []string{`trivy image exit_code="1"/flag severity=""/default scanners=""/default format="table"/default`}},
		{"trivy image app", "env: {TRIVY_EXIT_CODE: '1', TRIVY_SEVERITY: 'CRITICAL,HIGH', TRIVY_SCANNERS: vuln, TRIVY_FORMAT: sarif}\n        ", []string{`trivy image exit_code="1"/step_env severity="CRITICAL,HIGH"/step_env scanners="vuln"/step_env format="sarif"/step_env`}},
		{"TRIVY_EXIT_CODE=1 trivy image app", "", []string{`trivy image exit_code="1"/script_env severity=""/default scanners=""/default format="table"/default`}},
		{"env TRIVY_EXIT_CODE=1 trivy image app", "", []string{`trivy image exit_code="1"/script_env severity=""/default scanners=""/default format="table"/default`}},
		{"|\n          export TRIVY_SEVERITY=CRITICAL,HIGH\n          trivy image app", "", []string{`trivy image exit_code="0"/default severity="CRITICAL,HIGH"/script_env scanners=""/default format="table"/default`}},
		{"|\n          TRIVY_EXIT_CODE=1\n          trivy image app", "", []string{`trivy image exit_code="0"/default severity=""/default scanners=""/default format="table"/default`}},
		{"trivy image --exit-code 0 app", "env: {TRIVY_EXIT_CODE: '1'}\n        ", []string{`trivy image exit_code="0"/flag severity=""/default scanners=""/default format="table"/default`}},
		{"sudo -E trivy image --exit-code 1 app", "", []string{`trivy image exit_code="1"/flag severity=""/default scanners=""/default format="table"/default`}},
		{"nice -n 10 timeout -s KILL 10m trivy image --exit-code 1 app", "", []string{`trivy image exit_code="1"/flag severity=""/default scanners=""/default format="table"/default`}},
		{"docker run --rm -e TRIVY_EXIT_CODE=1 -v /var/run/docker.sock:/var/run/docker.sock aquasec/trivy:0.57.0 image -s CRITICAL,HIGH app", "", []string{`docker image exit_code="1"/docker_env severity="CRITICAL,HIGH"/flag scanners=""/default format="table"/default`}},
		{"docker run --rm ghcr.io/aquasecurity/trivy@sha256:abc image app", "env: {TRIVY_EXIT_CODE: '1'}\n        ", []string{`docker image exit_code="0"/default severity=""/default scanners=""/default format="table"/default`}},
		{"docker run --rm -e TRIVY_EXIT_CODE aquasec/trivy image app", "env: {TRIVY_EXIT_CODE: '1'}\n        ", []string{`docker image exit_code="1"/step_env severity=""/default scanners=""/default format="table"/default`}},
		{"podman container run -it --env=TRIVY_SEVERITY=HIGH docker.io/aquasec/trivy:latest fs .", "", []string{`docker filesystem exit_code="0"/default severity="HIGH"/docker_env scanners=""/default format="table"/default`}},
		{"echo \"$(trivy image --exit-code 1 app)\"", "", []string{`trivy image exit_code="1"/flag severity=""/default scanners=""/default format="table"/default`}},
		// not scans
		{"trivy --version", "", nil},
		{"trivy version", "", nil},
		{"trivy -v", "", nil},
		{"trivy image --download-db-only", "", nil},
		{"trivy image --help", "", nil},
		{"trivy server --listen 0.0.0.0:4954", "", nil},
		{"trivy plugin install github.com/x/y", "", nil},
		{"trivy clean --all", "", nil},
		{"docker run aquasec/trivy --version", "", nil},
		{"docker run --entrypoint sh aquasec/trivy -c 'trivy image x'", "", nil},
		{"docker pull aquasec/trivy", "", nil},
		{"echo trivy image app", "", nil},
		{"$TRIVY image app", "", nil},
		{"trivy $SUB app", "", nil},
	} {
		t.Run(tc.run, func(t *testing.T) {
			var got []string
			for _, sc := range scans(t, runWorkflow(tc.run, tc.keys), Options{}) {
				got = append(got, summary(sc))
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestActionSettings(t *testing.T) {
	wf := func(with, env string) string {
		return "on: push\npermissions: {contents: read}\n" + env + "jobs:\n  scan:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: aquasecurity/trivy-action@v1\n        with:\n          image-ref: app\n" + with
	}
	for _, tc := range []struct{ with, env, want string }{
		{"", "", `trivy-action image exit_code="0"/default severity=""/default scanners=""/default format="table"/default`},
		{"          exit-code: 1\n          severity: CRITICAL,HIGH\n          scanners: vuln\n          format: sarif\n", "", `trivy-action image exit_code="1"/input severity="CRITICAL,HIGH"/input scanners="vuln"/input format="sarif"/input`},
		// inputs equal to the action's defaults are not passed on, so env applies
		{"          severity: UNKNOWN,LOW,MEDIUM,HIGH,CRITICAL\n          format: table\n", "env:\n  TRIVY_SEVERITY: CRITICAL\n  TRIVY_FORMAT: json\n", `trivy-action image exit_code="0"/default severity="CRITICAL"/workflow_env scanners=""/default format="json"/workflow_env`},
		{"          exit-code: ''\n", "env:\n  TRIVY_EXIT_CODE: 1\n", `trivy-action image exit_code="1"/workflow_env severity=""/default scanners=""/default format="table"/default`},
		{"          scan-type: fs\n          exit-code: ${{ inputs.code }}\n", "", `trivy-action filesystem exit_code="${{ inputs.code }}"/input/unresolved severity=""/default scanners=""/default format="table"/default`},
		{"          scan-type: ${{ matrix.type }}\n", "", `trivy-action  exit_code="0"/default severity=""/default scanners=""/default format="table"/default`},
		{"          trivy-config: trivy-gate.yaml\n", "", `trivy-action image exit_code="1"/config severity="CRITICAL,HIGH"/config scanners=""/default format="table"/default`},
		{"          trivy-config: ${{ github.workspace }}/trivy-gate.yaml\n          severity: HIGH\n", "", `trivy-action image exit_code="1"/config severity="HIGH"/input scanners=""/default format="table"/default`},
		{"          trivy-config: trivy-report.yaml\n", "env:\n  TRIVY_EXIT_CODE: 1\n", `trivy-action image exit_code="1"/workflow_env severity=""/default scanners=""/default format="sarif"/config`},
	} {
		t.Run(tc.with+tc.env, func(t *testing.T) {
			got := scans(t, wf(tc.with, tc.env), Options{ReadFile: readFileIn(rootsDir + "/repo")})
			if len(got) != 1 {
				t.Fatalf("got %d scans", len(got))
			}
			if s := summary(got[0]); s != tc.want {
				t.Errorf("got  %s\nwant %s", s, tc.want)
			}
		})
	}
}

func TestConfigFiles(t *testing.T) {
	files := map[string]string{
		"trivy.yaml":        "exit-code: 1\n",
		"ci/trivy.yaml":     "exit-code: 3\nscan:\n  scanners: [vuln, secret]\n",
		"bad.yaml":          "exit-code: [\n",
		"list.yaml":         "- a\n",
		"bomb.yaml":         "a: &a [x, x]\nb: &b [*a, *a]\nexit-code: 1\nseverity: *b\n",
		"big.yaml":          strings.Repeat("#", maxConfigBytes+1),
		"configs/gate.yaml": "severity: CRITICAL\n",
	}
	read := func(name string) ([]byte, error) {
		if s, ok := files[name]; ok {
			return []byte(s), nil
		}
		if name == "denied.yaml" {
			return nil, errors.New("permission denied")
		}
		return nil, fmt.Errorf("open %s: %w", name, fs.ErrNotExist)
	}
	for _, tc := range []struct {
		run, keys string
		opts      Options
		want      string // config status, path, exit code source
	}{
		{"trivy image app", "", Options{ReadFile: read}, "read trivy.yaml explicit=false exit=1/config"},
		{"trivy image app", "working-directory: ci\n        ", Options{ReadFile: read}, "read ci/trivy.yaml explicit=false exit=3/config"},
		{"trivy image app", "working-directory: ${{ github.workspace }}/ci\n        ", Options{ReadFile: read}, "read ci/trivy.yaml explicit=false exit=3/config"},
		{"trivy image app", "working-directory: docs\n        ", Options{ReadFile: read}, "not_found docs/trivy.yaml explicit=false exit=0/default"},
		{"trivy image app", "", Options{}, "not_read trivy.yaml explicit=false exit=0/default"},
		{"trivy image -c bad.yaml app", "", Options{ReadFile: read}, "invalid bad.yaml explicit=true exit=0/default"},
		{"trivy image -c list.yaml app", "", Options{ReadFile: read}, "invalid list.yaml explicit=true exit=0/default"},
		{"trivy image -c bomb.yaml app", "", Options{ReadFile: read}, "read bomb.yaml explicit=true exit=1/config"},
		{"trivy image -c big.yaml app", "", Options{ReadFile: read}, "invalid big.yaml explicit=true exit=0/default"},
		{"trivy image -c denied.yaml app", "", Options{ReadFile: read}, "error denied.yaml explicit=true exit=0/default"},
		{"trivy image -c ../../etc/passwd app", "", Options{ReadFile: read}, "not_read ../../etc/passwd explicit=true exit=0/default"},
		{"trivy image -c /etc/trivy.yaml app", "", Options{ReadFile: read}, "not_read /etc/trivy.yaml explicit=true exit=0/default"},
		{"trivy image --config=$GITHUB_WORKSPACE/configs/gate.yaml app", "working-directory: ci\n        ", Options{ReadFile: read}, "read configs/gate.yaml explicit=true exit=0/default"},
		{"trivy image --config ../trivy.yaml app", "working-directory: ci\n        ", Options{ReadFile: read}, "read trivy.yaml explicit=true exit=1/config"},
		{"trivy image app", "env: {TRIVY_CONFIG: configs/gate.yaml}\n        ", Options{ReadFile: read}, "read configs/gate.yaml explicit=true exit=0/default"},
		{"trivy image --config ${{ inputs.cfg }} app", "", Options{ReadFile: read}, "not_read ${{ inputs.cfg }} explicit=true exit=0/default"},
		{"docker run aquasec/trivy --config /work/trivy.yaml image app", "", Options{ReadFile: read}, "not_read /work/trivy.yaml explicit=true exit=0/default"},
	} {
		t.Run(tc.run+" "+tc.keys, func(t *testing.T) {
			got := scans(t, runWorkflow(tc.run, tc.keys), tc.opts)
			if len(got) != 1 {
				t.Fatalf("got %d scans", len(got))
			}
			c := got[0]["config"].(map[string]any)
			e := got[0]["exit_code"].(map[string]any)
			s := fmt.Sprintf("%s %s explicit=%v exit=%s/%s", c["status"], c["path"], c["explicit"], e["value"], e["source"])
			if s != tc.want {
				t.Errorf("got  %s\nwant %s (error %q)", s, tc.want, c["error"])
			}
		})
	}
}

// TestConfigAfterCd: a relative --config (or the trivy.yaml Trivy loads by
// default) is read from the directory literal `cd` commands lead to; where
// that directory cannot be known, the config's status is
// unknown_directory with the reason, so DWF203 says the gate cannot be
// verified. `cd sub && trivy --config trivy.yaml` read the root's
// trivy.yaml, so sub/trivy.yaml with `exit-code: 0` bypassed the gate.
func TestConfigAfterCd(t *testing.T) {
	files := map[string]string{
		"trivy.yaml":     "exit-code: 1\n",
		"sub/trivy.yaml": "exit-code: 0\n",
		"a/b/trivy.yaml": "exit-code: 2\n",
		"a/trivy.yaml":   "exit-code: 4\n",
	}
	read := func(name string) ([]byte, error) {
		if s, ok := files[name]; ok {
			return []byte(s), nil
		}
		return nil, fmt.Errorf("open %s: %w", name, fs.ErrNotExist)
	}
	for _, tc := range []struct {
		run, keys string
		want      string // config status and path, exit code and source
		why       string // part of the error when the directory is unknown
	}{
		{"trivy image --config trivy.yaml app", "", "read trivy.yaml exit=1/config", ""},
		{"cd sub && trivy image --config trivy.yaml app", "", "read sub/trivy.yaml exit=0/config", ""},
		{"cd sub\n  trivy image -c trivy.yaml app", "", "read sub/trivy.yaml exit=0/config", ""},
		{"cd sub; trivy image app", "", "read sub/trivy.yaml exit=0/config", ""},
		{"cd ./a/b; trivy image --config=trivy.yaml app", "", "read a/b/trivy.yaml exit=2/config", ""},
		{"cd a/b && cd .. && trivy image -c trivy.yaml app", "", "read a/trivy.yaml exit=4/config", ""},
		{"cd -P -- sub && trivy image -c trivy.yaml app", "", "read sub/trivy.yaml exit=0/config", ""},
		{"cd $GITHUB_WORKSPACE/sub && trivy image -c trivy.yaml app", "working-directory: a\n        ", "read sub/trivy.yaml exit=0/config", ""},
		{"cd .. && trivy image -c trivy.yaml app", "working-directory: sub\n        ", "read trivy.yaml exit=1/config", ""},
		{"cd b && trivy image -c trivy.yaml app", "working-directory: a\n        ", "read a/b/trivy.yaml exit=2/config", ""},
		{"cd sub || exit 1\n  trivy image -c trivy.yaml app", "", "read sub/trivy.yaml exit=0/config", ""},
		// a cd that does not reach the scan
		{"(cd sub && make)\n  trivy image -c trivy.yaml app", "", "read trivy.yaml exit=1/config", ""},
		{"x=$(cd sub && pwd)\n  trivy image -c trivy.yaml app", "", "read trivy.yaml exit=1/config", ""},
		{"cd sub | cat\n  trivy image -c trivy.yaml app", "", "read trivy.yaml exit=1/config", ""},
		{"trivy image -c trivy.yaml app; cd sub", "", "read trivy.yaml exit=1/config", ""},
		{"cd $GITHUB_WORKSPACE\n  trivy image -c trivy.yaml app", "working-directory: sub\n        ", "read trivy.yaml exit=1/config", ""},
		// directories that cannot be known
		{`cd "$DIR" && trivy image --config trivy.yaml app`, "", "unknown_directory trivy.yaml exit=0/default", "`cd \"$DIR\"` changes to a directory that is not known statically"},
		{`cd "$DIR" && trivy image app`, "", "unknown_directory trivy.yaml exit=0/default", "`cd \"$DIR\"`"},
		{"cd - && trivy image -c trivy.yaml app", "", "unknown_directory trivy.yaml exit=0/default", "`cd -`"},
		{"cd && trivy image -c trivy.yaml app", "", "unknown_directory trivy.yaml exit=0/default", "home directory"},
		{"pushd sub && trivy image -c trivy.yaml app", "", "unknown_directory trivy.yaml exit=0/default", "`pushd sub`"},
		{"cd sub && popd && trivy image -c trivy.yaml app", "", "unknown_directory trivy.yaml exit=0/default", "`popd`"},
		{"cd /tmp && trivy image -c trivy.yaml app", "", "unknown_directory trivy.yaml exit=0/default", "leaves the repository"},
		{"cd ../.. && trivy image -c trivy.yaml app", "", "unknown_directory trivy.yaml exit=0/default", "leaves the repository"},
		{"if [ -n \"$X\" ]; then cd sub; fi\n  trivy image -c trivy.yaml app", "", "unknown_directory trivy.yaml exit=0/default", "`cd sub` runs only when a condition holds"},
		{"test -d sub && cd sub\n  trivy image -c trivy.yaml app", "", "unknown_directory trivy.yaml exit=0/default", "runs only when a condition holds"},
		{"case $X in a) cd sub ;; esac\n  trivy image -c trivy.yaml app", "", "unknown_directory trivy.yaml exit=0/default", "runs only when a condition holds"},
		{"go() { cd sub; }\n  go\n  trivy image -c trivy.yaml app", "", "unknown_directory trivy.yaml exit=0/default", "runs only when a condition holds"},
		{"cd \"$DIR\" && cd sub && trivy image -c trivy.yaml app", "", "unknown_directory trivy.yaml exit=0/default", "`cd \"$DIR\"`"},
		{"trivy image -c trivy.yaml app", "working-directory: ${{ inputs.dir }}\n        ", "unknown_directory trivy.yaml exit=0/default", "working-directory"},
		// an absolute or workspace path does not depend on the directory
		{`cd "$DIR" && trivy image -c $GITHUB_WORKSPACE/trivy.yaml app`, "", "read trivy.yaml exit=1/config", ""},
	} {
		t.Run(tc.run+" "+tc.keys, func(t *testing.T) {
			script := "|\n          " + strings.ReplaceAll(tc.run, "\n  ", "\n          ")
			got := scans(t, runWorkflow(script, tc.keys), Options{ReadFile: read})
			if len(got) != 1 {
				t.Fatalf("got %d scans", len(got))
			}
			c := got[0]["config"].(map[string]any)
			e := got[0]["exit_code"].(map[string]any)
			s := fmt.Sprintf("%s %s exit=%s/%s", c["status"], c["path"], e["value"], e["source"])
			if s != tc.want || !strings.Contains(c["error"].(string), tc.why) {
				t.Errorf("got  %s (%q)\nwant %s (%q)", s, c["error"], tc.want, tc.why)
			}
		})
	}
}

// TestAlsoNeutralised: what still discards the status once the first
// construct is fixed is listed, so one finding can name every fix.
func TestAlsoNeutralised(t *testing.T) {
	for _, tc := range []struct {
		run, keys string
		first     string
		also      []string
	}{
		{"trivy image --exit-code 1 app | tee out.txt || true", "", "| tee out.txt", []string{"|| true"}},
		{"trivy image --exit-code 1 app | tee out.txt", "", "| tee out.txt", nil},
		{"trivy image --exit-code 1 app || true", "", "|| true", nil},
		{"trivy image --exit-code 1 app | tee out.txt; echo done", "shell: sh {0}\n        ", "| tee out.txt", []string{"sh {0}"}},
	} {
		t.Run(tc.run, func(t *testing.T) {
			sc := scans(t, runWorkflow(tc.run, tc.keys), Options{})[0]
			n, _ := sc["neutralised"].(map[string]any)
			if n == nil || n["text"] != tc.first {
				t.Fatalf("neutralised = %v, want %q", sc["neutralised"], tc.first)
			}
			var also []string
			for _, a := range sc["also_neutralised"].([]any) {
				also = append(also, a.(map[string]any)["text"].(string))
			}
			if !slices.Equal(also, tc.also) {
				t.Errorf("also_neutralised = %q, want %q", also, tc.also)
			}
		})
	}
}
