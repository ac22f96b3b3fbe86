package dwf.workflow.trivy_gate_test

import data.dwf.workflow.fixtures_test as fx
import data.dwf.workflow.trivy_gate

cli(fields) := fx.scan("trivy", 10, fields)

action_scan(fields) := fx.scan("trivy-action", 9, object.union({"command": "aquasecurity/trivy-action@v1"}, fields))

findings(scans) := fs if {
	fs := trivy_gate.deny with input as fx.one_step(fx.run_step(0, 9, scans))
}

only(fs) := f if {
	count(fs) == 1
	some f in fs
}

test_gating_scan_passes if {
	count(findings([cli({})])) == 0
}

test_default_exit_code_fires_at_scan if {
	f := only(findings([cli({"exit_code": fx.exit_code("0", "default", 0, 10)})]))
	f.location == fx.loc(10, 11)
	f.msg == "`trivy image --exit-code 1 --severity CRITICAL,HIGH app` does not set an exit code, so Trivy exits 0 on findings and the build passes; add `--exit-code 1` to the command."
}

test_action_default_exit_code_suggests_input if {
	s := action_scan({"exit_code": fx.exit_code("0", "default", 0, 9)})
	f := only(findings([s]))
	endswith(f.msg, "add `exit-code: '1'` to its `with:`.")
}

test_exit_code_0_flag_fires_at_flag if {
	f := only(findings([cli({"exit_code": fx.exit_code("0", "flag", 0, 12)})]))
	f.location == fx.loc(12, 20)
	contains(f.msg, "from the flag is `0`")
}

test_exit_code_256_is_0 if {
	count(findings([cli({"exit_code": fx.exit_code("256", "flag", 0, 10)})])) == 1
}

test_workflow_env_exit_code_0_points_at_scan if {
	f := only(findings([cli({"exit_code": fx.exit_code("0", "workflow_env", 0, 3)})]))
	f.location == fx.loc(10, 11)
	contains(f.msg, "from the workflow's env is `0`")
}

test_workflow_env_exit_code_1_passes if {
	count(findings([action_scan({"exit_code": fx.exit_code("1", "workflow_env", 1, 3)})])) == 0
}

test_expression_exit_code_fires if {
	s := object.union(fx.expression_setting("${{ inputs.fail }}", "input", 11), {"code": null})
	f := only(findings([action_scan({"exit_code": s})]))
	contains(f.msg, "cannot be proven non-zero")
}

test_not_a_number_fires if {
	f := only(findings([cli({"exit_code": fx.exit_code("yes", "flag", null, 10)})]))
	contains(f.msg, "is not a number")
}

test_severity_omitting_high_fires if {
	s := fx.list_setting("CRITICAL", "input", ["CRITICAL"], 13)
	f := only(findings([action_scan({"severity": s})]))
	f.location == fx.loc(13, 20)
	f.msg == "The Trivy severities `CRITICAL` from the input omit HIGH, so those findings never fail the build; set `severity: 'CRITICAL,HIGH'`."
}

test_required_severities_come_from_config if {
	s := fx.list_setting("CRITICAL", "input", ["CRITICAL"], 13)
	count(findings([action_scan({"severity": s})])) == 0 with data.dwf.config.trivy_severities as ["CRITICAL"]
}

test_default_severity_passes if {
	count(findings([cli({"severity": fx.default_severity(10)})])) == 0
}

test_extra_severities_pass if {
	s := fx.list_setting("MEDIUM,HIGH,CRITICAL", "flag", ["MEDIUM", "HIGH", "CRITICAL"], 10)
	count(findings([cli({"severity": s})])) == 0
}

test_lowercase_severities_fire if {
	s := fx.list_setting("critical,high", "flag", ["critical", "high"], 10)
	f := only(findings([cli({"severity": s})]))
	contains(f.msg, "Trivy rejects the lowercase severities `critical,high`")
}

test_unknown_severity_fires if {
	s := fx.list_setting("SEVERE,CRITICAL,HIGH", "flag", ["SEVERE", "CRITICAL", "HIGH"], 10)
	f := only(findings([cli({"severity": s})]))
	startswith(f.msg, "`SEVERE` is not a Trivy severity")
}

test_scanners_without_vuln_fire if {
	s := fx.list_setting("secret", "flag", ["secret"], 10)
	f := only(findings([cli({"scanners": s, "subcommand": "filesystem"})]))
	contains(f.msg, "without `vuln`")
}

test_scanners_on_config_scan_pass if {
	s := fx.list_setting("misconfig", "flag", ["misconfig"], 10)
	count(findings([cli({"scanners": s, "subcommand": "config"})])) == 0
}

test_neutralised_fires_at_construct if {
	n := fx.neutralised("or", "|| true", 10)
	f := only(findings([cli({"propagation": "ignored", "neutralised": n})]))
	f.location == fx.loc(10, 40)
	f.msg == "`trivy image --exit-code 1 --severity CRITICAL,HIGH app` cannot fail the step: `|| true` turns its failure into success; remove it."
}

test_pipe_message_names_the_command if {
	n := fx.neutralised("pipe", "| tee out.txt", 10)
	f := only(findings([cli({"propagation": "ignored", "neutralised": n})]))
	contains(f.msg, "piped into `tee out.txt` without pipefail")
}

test_unknown_propagation_passes if {
	count(findings([cli({"propagation": "unknown"})])) == 0
}

test_step_continue_on_error_fires if {
	s := fx.step(0, 9, {"run": fx.run(9), "trivy_scans": [cli({})], "continue_on_error": fx.continue_on_error(true, null, 10)})
	fs := trivy_gate.deny with input as fx.one_step(s)
	f := only(fs)
	f.location == fx.loc(10, 28)
	f.msg == "`continue-on-error: true` on the step lets the build pass when the Trivy scan fails; remove it."
}

test_job_continue_on_error_expression_fires if {
	j := fx.job("scan", 5, {"continue_on_error": fx.continue_on_error(null, "${{ matrix.x }}", 6), "steps": [fx.run_step(0, 9, [cli({})])]})
	fs := trivy_gate.deny with input as fx.workflow({"jobs": [j]})
	contains(only(fs).msg, "can let the build pass")
}

test_continue_on_error_false_passes if {
	s := fx.step(0, 9, {"run": fx.run(9), "trivy_scans": [cli({})], "continue_on_error": fx.continue_on_error(false, null, 10)})
	count(trivy_gate.deny) == 0 with input as fx.one_step(s)
}

test_if_always_false_ranks_first if {
	s := fx.step(0, 9, {
		"run": fx.run(9), "if": fx.condition("false", true, 10),
		"trivy_scans": [cli({"exit_code": fx.exit_code("0", "flag", 0, 12)})],
	})
	fs := trivy_gate.deny with input as fx.one_step(s)
	only(fs).location == fx.loc(10, 13)
}

test_one_finding_per_step if {
	bad := cli({"exit_code": fx.exit_code("0", "flag", 0, 12), "severity": fx.list_setting("LOW", "flag", ["LOW"], 12)})
	worse := cli({"location": fx.loc(14, 11), "propagation": "ignored", "neutralised": fx.neutralised("or", "|| true", 14)})
	f := only(findings([bad, worse]))
	f.location == fx.loc(14, 40)
}

test_several_steps_one_bad if {
	good := fx.run_step(0, 9, [cli({})])
	bad := fx.run_step(1, 20, [fx.scan("trivy", 21, {"exit_code": fx.exit_code("0", "flag", 0, 21)})])
	fs := trivy_gate.deny with input as fx.workflow({"jobs": [fx.job("scan", 5, {"steps": [good, bad]})]})
	only(fs).location == fx.loc(21, 20)
}

test_steps_without_scans_pass if {
	s := fx.step(0, 9, {"if": fx.condition("false", true, 10), "continue_on_error": fx.continue_on_error(true, null, 11)})
	count(trivy_gate.deny) == 0 with input as fx.one_step(s)
}

unknown_dir_config(line) := {
	"path": "trivy.yaml", "explicit": true, "status": "unknown_directory",
	"error": "`cd \"$DIR\"` changes to a directory that is not known statically",
	"exit_code": null, "severity": null, "scanners": null, "format": null, "location": fx.loc(line, 30),
}

test_config_in_unknown_directory_fires_at_config if {
	s := cli({
		"config": unknown_dir_config(10),
		"exit_code": fx.exit_code("0", "default", 0, 10),
		"severity": fx.default_severity(10),
	})
	f := only(findings([s]))
	f.location == fx.loc(10, 30)
	f.msg == "The Trivy gate cannot be verified: `trivy image --exit-code 1 --severity CRITICAL,HIGH app` reads the config file `trivy.yaml` from a working directory that is not known statically (`cd \"$DIR\"` changes to a directory that is not known statically), and that file may set `exit-code`, `scan.scanners`, `severity`; pass `--exit-code 1 --scanners vuln --severity CRITICAL,HIGH` on the command line, or run Trivy from a directory known statically."
}

test_config_in_unknown_directory_names_only_open_settings if {
	s := cli({"config": unknown_dir_config(10)})
	f := only(findings([s]))
	contains(f.msg, "may set `scan.scanners`; pass `--scanners vuln` on")
}

test_config_in_unknown_directory_with_every_flag_passes if {
	s := cli({"config": unknown_dir_config(10), "scanners": fx.list_setting("vuln", "flag", ["vuln"], 10)})
	count(findings([s])) == 0
}

test_config_in_unknown_directory_on_config_scan_ignores_scanners if {
	s := cli({"config": unknown_dir_config(10), "subcommand": "config"})
	count(findings([s])) == 0
}

# Every problem of the call is in the one finding, in the order they are
# fixed: the constructs that discard the status, then the exit code, then
# the severities.
test_every_problem_in_one_finding_in_fix_order if {
	s := cli({
		"propagation": "ignored",
		"neutralised": fx.neutralised("pipe", "| tee out.txt", 10),
		"also_neutralised": [{"kind": "or", "text": "|| true", "location": fx.loc(10, 60)}],
		"exit_code": fx.exit_code("0", "flag", 0, 10),
		"severity": fx.list_setting("CRITICAL", "flag", ["CRITICAL"], 10),
	})
	f := only(findings([s]))
	f.location == fx.loc(10, 40)
	f.msg == concat(" ", [
		"`trivy image --exit-code 1 --severity CRITICAL,HIGH app` cannot fail the step: it is piped into `tee out.txt` without pipefail, so the pipeline's status is the last command's; add `shell: bash` to the step or `set -o pipefail` before it.",
		"Also: `trivy image --exit-code 1 --severity CRITICAL,HIGH app` cannot fail the step: `|| true` turns its failure into success; remove it.",
		"The Trivy exit code from the flag is `0`, so findings never fail the build; add `--exit-code 1` to the command.",
		"The Trivy severities `CRITICAL` from the flag omit HIGH, so those findings never fail the build; pass `--severity CRITICAL,HIGH`.",
	])
}
