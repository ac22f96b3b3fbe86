# METADATA
# title: Repository helpers
# description: |
#   What the repository rules about scanning layers (DWF207-DWF210) share:
#   which repository each workflow belongs to (the directory holding its
#   .github/workflows), which local reusable workflows it calls, the
#   events that run a workflow (its own, or its callers' for a
#   `workflow_call`), GitHub's branch and path filters, and the Trivy scans
#   of a workflow with the modes a matrix gives them.
package dwf.lib.repository

# workflows is every workflow document of the repository document.
workflows := [d | some d in input.documents; d.kind == "workflow"]

# root(path) is the repository a workflow belongs to: what comes before
# its `.github/workflows/`, "" for the usual path from the repository's
# root (`testdata/demo/` for `testdata/demo/.github/workflows/ci.yml`).
root(path) := substring(path, 0, i) if {
	i := indexof(path, ".github/workflows/")
	i >= 0
}

root(path) := "" if not contains(path, ".github/workflows/")

# roots is every repository that has workflows.
roots := {root(d.path) | some d in workflows}

# by_path[path] is the workflow at path.
by_path[d.path] := d if some d in workflows

# by_root[r] is the workflows of repository r, sorted by path (a rule, so
# that it is computed once per repository).
by_root[r] := [by_path[p] | some p in sort([w.path | some w in workflows; root(w.path) == r])] if some r in roots

# in_root(r) is the workflows of repository r, sorted by path.
in_root(r) := by_root[r]

# calls[path] is the set of workflow paths that path calls as local
# reusable workflows (`uses: ./.github/workflows/scan.yml`, or `$/...`).
calls[doc.path] := {callee.path |
	some job in doc.input.jobs
	u := job.uses
	is_object(u)
	u.kind == "local"
	target := trim_prefix(trim_prefix(trim_space(u.path), "./"), "$/")
	some callee in workflows
	callee.path == concat("", [root(doc.path), target])
} if {
	some doc in workflows
}

# reach(doc) is the paths of doc and of every workflow it calls, directly
# or through other reusable workflows.
reach(doc) := graph.reachable(calls, {doc.path})

# own_events(doc) is doc's triggers, `workflow_call` left out: a called
# workflow runs on the events of its callers.
own_events(doc) := [e | some e in doc.input.on.events; e.name != "workflow_call"]

# never(c) holds for an `if:` that is always false.
never(c) if {
	is_object(c)
	c.always_false
}

# runs(job, step) holds when neither the job's nor the step's `if:` is
# always false.
runs(job, step) if {
	not never(job["if"])
	not never(step["if"])
}

# scans(doc) is every Trivy scan doc's jobs run, as {job, step, scan}.
scans(doc) := [{"job": job, "step": step, "scan": scan} |
	some job in doc.input.jobs
	some step in job.steps
	runs(job, step)
	some scan in step.trivy_scans
]

# scans_images(doc) holds when doc runs a Trivy image scan, the detection
# of DWF206 (a matrix may give the scan its mode).
scans_images(doc) if {
	some s in scans(doc)
	"image" in s.scan.subcommands
}

# matches(p, name) holds when filter pattern p (ignoring its `!`) matches
# name with GitHub's glob semantics (engine/analysis/ghfilter).
matches(p, name) if {
	is_string(p.regex)
	regex.match(p.regex, name)
}

# last_match(patterns, name) is the last pattern that matches name: it
# decides whether name is in the filter.
last_match(patterns, name) := patterns[max(hits)] if {
	hits := [i | some i, p in patterns; matches(p, name)]
	count(hits) > 0
}

# included(patterns, name) holds when name is in the filter: the last
# pattern matching it is not a negation.
included(patterns, name) if not last_match(patterns, name).negated

# default_branches are the names the default branch may have.
default_branches := data.dwf.config.default_branches

# on_default_branch(e) holds when event e runs for the default branch (a
# push to it, a pull request into it): no branch filter, `branches`
# including one of the names it may have, or `branches-ignore` ignoring
# none of them. A push filtered by tags alone runs for no branch.
on_default_branch(e) if {
	is_null(e.branches)
	is_null(e.branches_ignore)
	not tags_only(e)
}

on_default_branch(e) if {
	is_array(e.branches)
	some b in default_branches
	included(e.branches, b)
}

on_default_branch(e) if {
	is_null(e.branches)
	is_array(e.branches_ignore)
	every b in default_branches {
		not included(e.branches_ignore, b)
	}
}

tags_only(e) if {
	e.name == "push"
	is_null(e.branches)
	is_null(e.branches_ignore)
	some f in [e.tags, e.tags_ignore]
	is_array(f)
}

# pr_events are the pull request triggers; pull_request_target runs with
# the base repository's secrets and a write token, which is riskier.
pr_events := {"pull_request", "pull_request_target"}

# on_pull_requests(e) holds when e runs on pull requests into the default
# branch when they are opened or updated.
on_pull_requests(e) if {
	e.name in pr_events
	on_default_branch(e)
	pr_types(e)
}

pr_types(e) if is_null(e.types)

pr_types(e) if {
	some t in e.types
	t.value in {"opened", "synchronize", "reopened"}
}

# on_tags(e) holds when e is a push that runs for tags (a release): a push
# without branch filters, or with a tag filter.
on_tags(e) if {
	e.name == "push"
	is_null(e.branches)
	is_null(e.branches_ignore)
}

on_tags(e) if {
	e.name == "push"
	some f in [e.tags, e.tags_ignore]
	is_array(f)
}

# passes_paths(e, name) holds when a change to name alone triggers event e
# as far as its path filters go: no filter, `paths` including it, or
# `paths-ignore` not ignoring it (read in order like `paths`).
passes_paths(e, _) if {
	is_null(e.paths)
	is_null(e.paths_ignore)
}

passes_paths(e, name) if {
	is_array(e.paths)
	included(e.paths, name)
}

passes_paths(e, name) if {
	is_null(e.paths)
	is_array(e.paths_ignore)
	not included(e.paths_ignore, name)
}

# first_line is line 1 of a file, where a finding goes when nothing closer
# exists.
first_line := {"line": 1, "column": 1, "end_line": 1, "end_column": 1}

# files_of(r) is the Dockerfiles and lockfiles of repository r, paths made
# relative to it, leaving out those of repositories nested in it (a
# workflow root below r).
files_of(r) := files_by_root[r]

files_by_root[r] := [{"path": trim_prefix(f.path, r), "kind": f.kind} |
	some f in input.files
	startswith(f.path, r)
	not nested(f.path, r)
] if {
	some r in roots
}

nested(path, r) if {
	some r2 in roots
	r2 != r
	startswith(r2, r)
	startswith(path, r2)
}

# dir(path) is the directory of a slash-separated path, "" at the root.
dir(path) := concat("/", array.slice(parts, 0, count(parts) - 1)) if parts := split(path, "/")

# root_text(r) names repository r in messages: nothing for the repository
# checked, ` of `testdata/demo`` for one nested in it.
root_text("") := ""

root_text(r) := sprintf(" of `%s`", [trim_suffix(r, "/")]) if r != ""
