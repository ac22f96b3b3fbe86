# METADATA
# title: Trivy scans must fail the build on CRITICAL and HIGH findings
# description: |
#   Every step that runs a Trivy scan (aquasecurity/trivy-action, or `trivy
#   image|fs|repo|config|rootfs|sbom|vm|k8s` in a `run:` script, directly or
#   through `docker run aquasec/trivy`, or a `uses: docker://aquasec/trivy`
#   step whose `with: args:` is Trivy's command line) must fail when Trivy
#   finds something
#   of the configured severities (data.dwf.config.trivy_severities, CRITICAL
#   and HIGH by default). One finding per step, at the first problem and
#   listing every problem in the order they are fixed, so one round of
#   fixes makes the scan a gate: the step
#   or its job never runs (`if:` always false); `continue-on-error`; the
#   script discards Trivy's exit status (`|| true`, `|| exit 0`, a pipe
#   without pipefail under the default shell, `set +e` and a later command,
#   `!`, `&`); no non-zero exit code (action input, `--exit-code`,
#   TRIVY_EXIT_CODE in step, job or workflow env, or the Trivy config file),
#   or one that cannot be proven (`${{ inputs.code }}`); a config file that
#   cannot be located because the scan runs in a directory not known
#   statically (`cd "$DIR"`, `cd -`, `pushd`, a `cd` that runs only when a
#   condition holds; literal `cd` commands are followed), while the exit
#   code, severities or scanners are left to it; lowercase or unknown
#   severities (Trivy rejects them, so the step errors on every run); a
#   severity list without a required severity (no list means all); and
#   `--scanners` without `vuln` on an image, filesystem, rootfs or repository
#   scan.
# schemas:
#   - input: schema.workflow
# custom:
#   id: DWF203
#   severity: error
#   kind: workflow
#   help: |
#     Make the scan exit non-zero on the severities that must block:
#
#     ```yaml
#     - uses: aquasecurity/trivy-action@<sha> # 0.28.0
#       with:
#         image-ref: ghcr.io/acme/app:${{ github.sha }}
#         exit-code: '1'
#         severity: 'CRITICAL,HIGH'
#     ```
#
#     or, in a script:
#
#     ```yaml
#     - shell: bash   # adds pipefail, so `| tee` keeps Trivy's status
#       run: trivy image --exit-code 1 --severity CRITICAL,HIGH app:latest | tee trivy.txt
#     ```
#
#     or, as a Docker action (the args are Trivy's command line):
#
#     ```yaml
#     - uses: docker://aquasec/trivy@sha256:<digest> # 0.58.1
#       with:
#         args: image --exit-code 1 --severity CRITICAL,HIGH ghcr.io/acme/app:1
#     ```
#
#     Do not add `|| true`, `continue-on-error: true` or `set +e`: a scan
#     that never fails is not a gate. To publish a SARIF report as well, let
#     that scan gate too and upload the report in a later step that runs
#     whatever the outcome:
#
#     ```yaml
#     - uses: aquasecurity/trivy-action@<sha> # 0.28.0
#       with:
#         image-ref: ghcr.io/acme/app:${{ github.sha }}
#         exit-code: '1'
#         severity: 'CRITICAL,HIGH'
#         format: sarif
#         output: trivy.sarif
#     - uses: github/codeql-action/upload-sarif@<sha> # v3
#       if: always()
#       with:
#         sarif_file: trivy.sarif
#     ```
package dwf.workflow.trivy_gate

import data.dwf.lib.workflow as lib

deny contains finding if {
	some job in input.jobs
	some step in job.steps
	count(step.trivy_scans) > 0
	ps := problems(job, step)
	count(ps) > 0
	sorted := sort(ps)
	top := sorted[0]
	finding := {"msg": message(sorted), "location": top[4]}
}

# message is the first problem's sentence, then every other one in the
# order a user fixes them, so one round of fixes makes the scan a gate.
message(sorted) := sorted[0][3] if count(sorted) == 1

message(sorted) := sprintf("%s Also: %s", [sorted[0][3], concat(" ", [p[3] | some p in array.slice(sorted, 1, count(sorted))])]) if {
	count(sorted) > 1
}

# problems(job, step) is every reason the step's scans do not gate, as
# [rank, line, column, message, location]; the finding is at the first
# and lists them all in that order.
problems(job, step) := ((((((never_runs(job, step) | continues(job, step)) | discarded(step)) | unverifiable(step)) | exit_code(step)) | severity_case(step)) | severity_missing(step)) | scanners(step)

problem(rank, msg, loc) := [rank, loc.line, loc.column, msg, loc]

never_runs(job, step) := {p |
	some which, c in {"step": step["if"], "job": job["if"]}
	is_object(c)
	c.always_false
	msg := sprintf("The Trivy scan never runs because the %s's `if: %s` is always false, so it gates nothing; remove the condition.", [which, c.value])
	p := problem(0, msg, c.location)
}

continues(job, step) := {p |
	some which, c in {"step": step.continue_on_error, "job": job.continue_on_error}
	is_object(c)
	lib.may_continue(c)
	msg := sprintf("`continue-on-error: %s` on the %s %s the build pass when the Trivy scan fails; remove it.", [coe_text(c), which, coe_verb(c)])
	p := problem(1, msg, c.location)
}

coe_text(c) := "true" if c.value == true

coe_text(c) := c.expression if is_string(c.expression)

coe_verb(c) := "lets" if c.value == true

coe_verb(c) := "can let" if is_string(c.expression)

discarded(step) := {p |
	some scan in step.trivy_scans
	scan.propagation == "ignored"
	some n in array.concat([scan.neutralised], object.get(scan, "also_neutralised", []))
	is_object(n)
	msg := sprintf("%s cannot fail the step: %s.", [lib.describe(scan), discard_reason(n)])
	p := problem(2, msg, n.location)
}

discard_reason(n) := sprintf("`%s` turns its failure into success; remove it", [lib.one_line(n.text)]) if n.kind == "or"

discard_reason(n) := sprintf("it is piped into `%s` without pipefail, so the pipeline's status is the last command's; add `shell: bash` to the step or `set -o pipefail` before it", [lib.one_line(trim_left(n.text, "| "))]) if n.kind == "pipe"

discard_reason(n) := sprintf("errexit is off (`%s`) and a later command replaces its exit status; keep `-e` on around the scan, or `exit` with its status", [lib.one_line(n.text)]) if n.kind == "errexit_off"

discard_reason(n) := sprintf("it runs in a list (`%s`) where `set -e` does not apply and a later command replaces its exit status; run it as a command of its own", [lib.one_line(n.text)]) if n.kind == "errexit_ignored"

discard_reason(n) := "it is a condition whose branches do not fail the step; exit non-zero when it fails (`if ! trivy ...; then exit 1; fi`)" if n.kind == "condition"

discard_reason(n) := "`!` inverts its exit status; remove the `!`" if n.kind == "negated"

discard_reason(n) := "it runs in the background (`&`), so its exit status is never checked; run it in the foreground" if n.kind == "background"

discard_reason(n) := sprintf("it runs inside `%s`, whose exit status is discarded; run it as a command of its own", [lib.one_line(n.text)]) if n.kind == "command_substitution"

# unverifiable: settings left to a config file whose directory is not known
# statically, which could set `exit-code: 0` or drop the required
# severities.
unverifiable(step) := {p |
	some scan in step.trivy_scans
	unknown_directory(scan)
	open := [[name, flag] |
		some key, [name, flag] in config_settings
		scan[key].source == "default"
		applies(scan, key)
	]
	count(open) > 0
	names := concat(", ", [n | some [n, _] in open])
	flags := concat(" ", [f | some [_, f] in open])
	msg := sprintf("The Trivy gate cannot be verified: %s reads the config file `%s` from a working directory that is not known statically (%s), and that file may set %s; pass `%s` on the command line, or run Trivy from a directory known statically.", [lib.describe(scan), scan.config.path, scan.config.error, names, flags])
	p := problem(3, msg, scan.config.location)
}

# config_settings are the settings a config file can weaken, with the flags
# that fix them on the command line.
config_settings := {
	"exit_code": ["`exit-code`", "--exit-code 1"],
	"severity": ["`severity`", sprintf("--severity %s", [lib.required_list])],
	"scanners": ["`scan.scanners`", "--scanners vuln"],
}

applies(_, key) if key != "scanners"

applies(scan, "scanners") if scan.subcommand in vuln_scans

unknown_directory(scan) if {
	is_object(scan.config)
	scan.config.status == "unknown_directory"
}

exit_code(step) := {p |
	some scan in step.trivy_scans
	s := scan.exit_code
	msg := exit_problem(scan, s)
	p := problem(3, msg, lib.setting_location(scan, s))
}

exit_problem(scan, s) := msg if {
	s.expression
	msg := sprintf("The Trivy exit code comes from `%s`, which cannot be proven non-zero, so findings may not fail the build; %s.", [s.value, lib.exit_fix(scan)])
}

exit_problem(scan, s) := msg if {
	not s.expression
	not s.resolved
	msg := sprintf("The Trivy exit code `%s` cannot be resolved statically, so findings may not fail the build; %s.", [s.value, lib.exit_fix(scan)])
}

exit_problem(scan, s) := msg if {
	s.resolved
	s.source == "default"
	not unknown_directory(scan)
	msg := sprintf("%s does not set an exit code, so Trivy exits 0 on findings and the build passes%s; %s.", [lib.describe(scan), config_note(scan), lib.exit_fix(scan)])
}

exit_problem(scan, s) := msg if {
	s.resolved
	s.source != "default"
	s.code == 0
	msg := sprintf("The Trivy exit code from %s is `%s`, so findings never fail the build; %s.", [lib.source_text(s), s.value, lib.exit_fix(scan)])
}

exit_problem(scan, s) := msg if {
	s.resolved
	is_null(s.code)
	msg := sprintf("The Trivy exit code `%s` from %s is not a number, so Trivy errors on every run instead of on findings; %s.", [s.value, lib.source_text(s), lib.exit_fix(scan)])
}

config_note(scan) := sprintf(" (its config file `%s` was not read: %s)", [scan.config.path, scan.config.error]) if {
	is_object(scan.config)
	scan.config.explicit
	scan.config.status in {"not_read", "invalid", "error"}
}

config_note(scan) := sprintf(" (its config file `%s` does not exist)", [scan.config.path]) if {
	is_object(scan.config)
	scan.config.explicit
	scan.config.status == "not_found"
}

config_note(scan) := "" if {
	not explicit_unread(scan)
}

explicit_unread(scan) if {
	is_object(scan.config)
	scan.config.explicit
	scan.config.status != "read"
}

severity_case(step) := {p |
	some scan in step.trivy_scans
	s := scan.severity
	msg := severity_problem(scan, s)
	p := problem(4, msg, lib.setting_location(scan, s))
}

severity_problem(scan, s) := msg if {
	s.expression
	msg := sprintf("The Trivy severities come from `%s`, which cannot be proven to include %s; %s.", [s.value, lib.required_list, lib.severity_fix(scan)])
}

severity_problem(scan, s) := msg if {
	not s.expression
	not s.resolved
	msg := sprintf("The Trivy severities `%s` cannot be resolved statically; %s.", [s.value, lib.severity_fix(scan)])
}

severity_problem(scan, s) := msg if {
	lower_case := [t | some t in s.list; t != upper(t)]
	count(lower_case) > 0
	msg := sprintf("Trivy rejects the lowercase severities `%s` from %s, so the scan errors on every run instead of failing on findings; write them in uppercase (`%s`).", [s.value, lib.source_text(s), upper(s.value)])
}

severity_problem(scan, s) := msg if {
	every t in s.list {
		t == upper(t)
	}
	unknown := [t | some t in s.list; not t in lib.trivy_severities]
	count(unknown) > 0
	msg := sprintf("`%s` is not a Trivy severity (UNKNOWN, LOW, MEDIUM, HIGH, CRITICAL), so the scan errors on every run; %s.", [concat(",", unknown), lib.severity_fix(scan)])
}

severity_missing(step) := {p |
	some scan in step.trivy_scans
	s := scan.severity
	is_array(s.list)
	listed := {upper(t) | some t in s.list}
	missing := [r | some r in lib.required_severities; not r in listed]
	count(missing) > 0
	msg := sprintf("The Trivy severities `%s` from %s omit %s, so those findings never fail the build; %s.", [s.value, lib.source_text(s), concat(",", sort(missing)), lib.severity_fix(scan)])
	p := problem(5, msg, lib.setting_location(scan, s))
}

vuln_scans := {"image", "filesystem", "rootfs", "repository"}

scanners(step) := {p |
	some scan in step.trivy_scans
	scan.subcommand in vuln_scans
	s := scan.scanners
	is_array(s.list)
	count(s.list) > 0
	not "vuln" in s.list
	msg := sprintf("The Trivy %s scan runs only the `%s` scanners, without `vuln`, so vulnerabilities are never reported; add `vuln` to the scanners.", [scan.subcommand, s.value])
	p := problem(6, msg, lib.setting_location(scan, s))
}
