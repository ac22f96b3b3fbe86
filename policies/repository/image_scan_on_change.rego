# METADATA
# title: Path filters must let every Dockerfile and lockfile trigger the image scan
# description: |
#   The fourth scanning layer of the Devflow standard scans images when
#   their inputs change (and nightly: DWF206). A workflow that scans images
#   with Trivy (DWF206's detection: directly, or in a local reusable
#   workflow it calls) and is run by `push`, `pull_request` or
#   `pull_request_target` with a `paths:` or `paths-ignore:` filter must
#   let through a change to every Dockerfile of the repository and to
#   every lockfile at the repository root or next to a Dockerfile
#   (`scans.lockfiles`: Cargo.lock, package-lock.json, pnpm-lock.yaml,
#   yarn.lock, poetry.lock, uv.lock, requirements*.txt, go.sum,
#   Gemfile.lock, composer.lock by default). The filters are read with
#   GitHub's semantics: globs where `*` stops at `/` and `**` does not,
#   patterns read in order with `!` excluding again, and `paths-ignore`
#   read the same way. One finding per filtered event names the files a
#   change to which would not trigger the scan; it points at the pattern
#   that excludes the first of them, or at the event when no pattern
#   includes it. Repositories without workflows, and files the
#   configuration excludes, are not judged.
# schemas:
#   - input: schema.repository
# custom:
#   id: DWF210
#   severity: warning
#   kind: repository
#   inputs: [workflow]
#   help: |
#     Let every Dockerfile and lockfile trigger the workflow that scans the
#     image:
#
#     ```yaml
#     on:
#       push:
#         branches: [main]
#         paths:
#           - 'src/**'
#           - '**/Dockerfile*'
#           - '**/package-lock.json'
#           - '**/go.sum'
#     ```
#
#     or drop the `paths:` filter, or take Dockerfiles and lockfiles out of
#     `paths-ignore:`.
package dwf.repository.image_scan_on_change

import data.dwf.lib.repository as lib

scanning_paths := {d.path | some d in lib.workflows; lib.scans_images(d)}

filtered_events := {"push", "pull_request", "pull_request_target"}

# watched[r] is what a change to must trigger the image scans of
# repository r, sorted: every Dockerfile, and the lockfiles at the root or
# beside a Dockerfile.
watched[r] := sort([f.path |
	some f in lib.files_of(r)
	watched_file(r, f)
]) if {
	some r in lib.roots
}

watched_file(_, f) if f.kind == "dockerfile"

watched_file(r, f) if {
	f.kind == "lockfile"
	lib.dir(f.path) in image_dirs[r]
}

# image_dirs[r] is the root of r and every directory of r with a
# Dockerfile.
image_dirs[r] := {""} | {lib.dir(f.path) | some f in lib.files_of(r); f.kind == "dockerfile"} if {
	some r in lib.roots
}

deny contains finding if {
	some r in lib.roots
	some d in lib.in_root(r)
	some p in lib.reach(d)
	p in scanning_paths
	some e in lib.own_events(d)
	e.name in filtered_events
	filter_key(e) != ""
	blocked := [f | some f in watched[r]; not lib.passes_paths(e, f)]
	count(blocked) > 0
	msg := sprintf("A change to `%s`%s does not trigger the image scan of `%s`: %s; let every Dockerfile and lockfile through the filter.", [blocked[0], more(blocked), d.path, why(e, blocked[0])])
	finding := {"msg": msg, "location": where(e, blocked[0]), "path": d.path}
}

filter_key(e) := "paths" if is_array(e.paths)

filter_key(e) := "paths-ignore" if {
	is_null(e.paths)
	is_array(e.paths_ignore)
}

filter_key(e) := "" if {
	is_null(e.paths)
	is_null(e.paths_ignore)
}

# why(e, f) says which pattern keeps f from triggering e.
why(e, f) := sprintf("no pattern of `on.%s.paths` matches it", [e.name]) if {
	is_array(e.paths)
	not lib.last_match(e.paths, f)
}

why(e, f) := sprintf("`%s` in `on.%s.paths` excludes it", [p.value, e.name]) if {
	is_array(e.paths)
	p := lib.last_match(e.paths, f)
}

why(e, f) := sprintf("`%s` in `on.%s.paths-ignore` ignores it", [p.value, e.name]) if {
	is_null(e.paths)
	p := lib.last_match(e.paths_ignore, f)
}

where(e, f) := p.location if {
	is_array(e.paths)
	p := lib.last_match(e.paths, f)
}

where(e, f) := e.location if {
	is_array(e.paths)
	not lib.last_match(e.paths, f)
}

where(e, f) := p.location if {
	is_null(e.paths)
	p := lib.last_match(e.paths_ignore, f)
}

more(blocked) := "" if count(blocked) == 1

more(blocked) := sprintf(" (nor to `%s`)", [blocked[1]]) if count(blocked) == 2

more(blocked) := sprintf(" (nor to `%s` and %d other file(s))", [blocked[1], count(blocked) - 2]) if count(blocked) > 2
