# METADATA
# title: Workflow helpers
# description: |
#   What several workflow rules share: the Trivy severities a gate must
#   fail on (from data.dwf.config), which setting sources are written in the
#   step itself, and how a Trivy command is fixed for the action and the CLI.
package dwf.lib.workflow

# The severities every Trivy gate must fail on, uppercased.
required_severities := {upper(s) | some s in data.dwf.config.trivy_severities}

# required_list is the configured severities as Trivy writes them.
required_list := concat(",", [s | some s in data.dwf.config.trivy_severities])

# The severities Trivy knows.
trivy_severities := {"UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL"}

# Setting sources written in the step itself: a finding about such a
# setting points at it; otherwise it points at the scan.
step_sources := {"flag", "input", "step_env", "script_env", "docker_env"}

# setting_location(scan, s) is where a finding about setting s of scan points.
setting_location(scan, s) := s.location if s.source in step_sources

setting_location(scan, s) := scan.location if not s.source in step_sources

# source_text(s) names where a setting's value comes from, for messages.
source_text(s) := "the flag" if s.source == "flag"

source_text(s) := "the input" if s.source == "input"

source_text(s) := "the step's env" if s.source == "step_env"

source_text(s) := "the job's env" if s.source == "job_env"

source_text(s) := "the workflow's env" if s.source == "workflow_env"

source_text(s) := "the script's environment" if s.source == "script_env"

source_text(s) := "`docker run -e`" if s.source == "docker_env"

source_text(s) := "the Trivy config file" if s.source == "config"

source_text(s) := "Trivy's default" if s.source == "default"

# exit_fix(scan) is how to make scan fail on findings.
exit_fix(scan) := "add `exit-code: '1'` to its `with:`" if scan.tool == "trivy-action"

exit_fix(scan) := "add `--exit-code 1` to the command" if scan.tool != "trivy-action"

# severity_fix(scan) is how to set the severities on scan.
severity_fix(scan) := sprintf("set `severity: '%s'`", [required_list]) if scan.tool == "trivy-action"

severity_fix(scan) := sprintf("pass `--severity %s`", [required_list]) if scan.tool != "trivy-action"

# describe(scan) names a scan in messages.
describe(scan) := sprintf("`%s`", [one_line(scan.command)]) if scan.tool != "trivy-action"

describe(scan) := sprintf("The Trivy scan in `%s`", [one_line(scan.command)]) if scan.tool == "trivy-action"

# one_line(s) quotes shell text in a message on one line: a message is one
# line of output. Line continuations and line breaks with the indentation
# around them become one space; past max_quote characters the text is cut
# with an ellipsis.
one_line(s) := short if {
	flat := trim_space(regex.replace(s, `[ \t]*\\?\r?\n[ \t]*`, " "))
	short := shorten(flat)
}

max_quote := 100

shorten(s) := s if count(s) <= max_quote

shorten(s) := concat("", [trim_space(substring(s, 0, max_quote - 1)), "…"]) if count(s) > max_quote

# may_continue(c) holds when continue-on-error is true or an expression.
may_continue(c) if c.value == true

may_continue(c) if is_string(c.expression)
