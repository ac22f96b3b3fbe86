# Fixtures for the Kubernetes rule tests: documents shaped like
# engine/document/schemas/kubernetes.json. Tests override what they check.
package dwf.kubernetes.fixtures_test

import data.dwf.image.fixtures_test as img

loc(line, col) := {"line": line, "column": col, "end_line": line, "end_column": col + 10}

field(value, line) := {"value": value, "location": loc(line, 9)}

no_sc := {"location": null, "run_as_user": null, "run_as_group": null, "run_as_non_root": null}

# sc(user, non_root) is a securityContext at line 20 (pod) setting runAsUser
# (null: unset) at line 21 and runAsNonRoot (null: unset) at line 22.
sc(user, non_root, line) := {
	"location": loc(line, 7),
	"run_as_user": opt(user, line + 1),
	"run_as_group": null,
	"run_as_non_root": opt(non_root, line + 2),
}

opt(v, _) := null if is_null(v)

opt(v, line) := field(v, line) if not is_null(v)

# container(name, extra) is a container at line 30, image on line 31,
# with no command, args or securityContext; extra overrides fields and
# effective is derived from its security_context and pod_sc.
container(name, pod_sc, extra) := c if {
	base := object.union(
		{
			"name": name,
			"type": "container",
			"location": loc(30, 9),
			"image": {"value": "registry.example/team/app:1.0", "location": loc(31, 11)},
			"command": null,
			"args": null,
			"security_context": no_sc,
			"image_config": null,
		},
		extra,
	)
	c := object.union(base, {"effective": {
		"run_as_user": eff(base.security_context, pod_sc, "run_as_user"),
		"run_as_non_root": eff(base.security_context, pod_sc, "run_as_non_root"),
	}})
}

eff(csc, _, f) := object.union(csc[f], {"from": "container"}) if is_object(csc[f])

eff(csc, psc, f) := object.union(psc[f], {"from": "pod"}) if {
	is_null(csc[f])
	is_object(psc[f])
}

eff(csc, psc, f) := null if {
	is_null(csc[f])
	is_null(psc[f])
}

command(words, line) := {
	"value": words,
	"location": loc(line, 11),
	"program": img.base(words[0]),
	"via_shell": via_shell(words),
}

via_shell(words) if {
	count(words) >= 2
	words[1] == "-c"
	img.base(words[0]) in {"sh", "bash"}
}

else := false

# resolved(platforms) is an image_config.
resolved(platforms) := {"subject": img.subject, "platforms": platforms}

platform(name, user, entrypoint) := {
	"platform": name,
	"digest": img.manifest_digest,
	"subject": sprintf("%s (%s)", [img.subject, name]),
	"user": user,
	"entrypoint": entrypoint,
	"cmd": null,
}

# manifest(pod_sc, containers) is one Deployment `web`.
manifest(pod_sc, containers) := {
	"kind": "kubernetes",
	"path": "deploy.yaml",
	"workloads": [{
		"api_version": "apps/v1",
		"kind": "Deployment",
		"name": "web",
		"namespace": "",
		"helm_source": "",
		"document": 0,
		"location": loc(2, 1),
		"pod_security_context": pod_sc,
		"containers": containers,
	}],
}

# one(pod_sc, extra) is a manifest with one container `app`.
one(pod_sc, extra) := manifest(pod_sc, [container("app", pod_sc, extra)])

samples := [
	one(no_sc, {}),
	one(sc(0, true, 20), {}),
	one(no_sc, {"security_context": sc(1001, null, 40), "command": command(["tini", "--"], 33)}),
	one(no_sc, {"image_config": resolved([platform("linux/amd64", img.user("1001", 1001, {}), img.command(["tini", "--"]))])}),
]
