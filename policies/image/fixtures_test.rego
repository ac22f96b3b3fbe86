# Fixtures for the image rule tests: documents shaped like
# engine/document/schemas/image.json. Tests override what they check.
package dwf.image.fixtures_test

ref := "registry.example/team/app:1.0"

index_digest := "sha256:1111111111111111111111111111111111111111111111111111111111111111"

manifest_digest := "sha256:2222222222222222222222222222222222222222222222222222222222222222"

config_digest := "sha256:3333333333333333333333333333333333333333333333333333333333333333"

layer_digest := "sha256:4444444444444444444444444444444444444444444444444444444444444444"

subject := sprintf("%s@%s", [ref, index_digest])

# user(raw, uid, extra) is a user object for config User raw whose user part
# is uid as a number (or null for a name), resolved through /etc/passwd to
# itself; extra overrides fields.
user(raw, uid, extra) := object.union(
	{
		"raw": raw,
		"set": raw != "",
		"name": split(raw, ":")[0],
		"group": group_part(raw),
		"uid": uid,
		"gid": null,
		"resolved_uid": uid,
		"resolved_gid": null,
		"passwd_checked": raw != "",
		"passwd_found": raw != "",
		"in_passwd": raw != "",
		"group_found": false,
		"in_group": false,
		"lookup_error": "",
	},
	extra,
)

group_part(raw) := substring(raw, indexof(raw, ":") + 1, -1) if contains(raw, ":")

group_part(raw) := "" if not contains(raw, ":")

# command(words) is an entrypoint or cmd object in exec form.
command(words) := {
	"words": words,
	"form": "exec",
	"program": base(words[0]),
	"via_shell": false,
}

# shell(script) is what a Dockerfile's shell form leaves in the config.
shell(script) := object.union(command(["/bin/sh", "-c", script]), {"via_shell": true})

base(path) := parts[count(parts) - 1] if parts := split(path, "/")

layer(media_type, compression) := {
	"digest": layer_digest,
	"media_type": media_type,
	"size": 1234,
	"compression": compression,
	"zstd": compression == "zstd",
}

zstd_layer := layer("application/vnd.oci.image.layer.v1.tar+zstd", "zstd")

gzip_layer := layer("application/vnd.oci.image.layer.v1.tar+gzip", "gzip")

# platform(name, extra) is a compliant platform (USER 1001, tini, zstd)
# named os/arch[/variant]; extra overrides fields.
platform(name, extra) := object.union(
	{
		"platform": name,
		"os": parts[0],
		"architecture": parts[1],
		"variant": variant(parts),
		"digest": manifest_digest,
		"media_type": "application/vnd.oci.image.manifest.v1+json",
		"subject": sprintf("%s (%s)", [subject, name]),
		"config_digest": config_digest,
		"config": {
			"user": "1001",
			"entrypoint": ["/usr/bin/tini", "--"],
			"cmd": ["/app/server"],
			"env": {"PATH": "/usr/local/bin:/usr/bin:/bin"},
			"labels": {},
			"working_dir": "/app",
		},
		"layers": [zstd_layer, zstd_layer],
		"user": user("1001", 1001, {}),
		"entrypoint": command(["/usr/bin/tini", "--"]),
		"cmd": command(["/app/server"]),
	},
	extra,
) if parts := split(name, "/")

variant(parts) := parts[2] if count(parts) > 2

variant(parts) := "" if count(parts) < 3

entry(p) := {
	"platform": p.platform,
	"os": p.os,
	"architecture": p.architecture,
	"variant": p.variant,
	"digest": p.digest,
}

# index(platforms) is a multi-platform image offering exactly platforms.
index(platforms) := {
	"kind": "image",
	"reference": ref,
	"transport": "registry",
	"registry": "registry.example",
	"repository": "registry.example/team/app",
	"tag": "1.0",
	"digest": index_digest,
	"media_type": "application/vnd.oci.image.index.v1+json",
	"is_index": true,
	"subject": subject,
	"index_platforms": [entry(p) | some p in platforms],
	"platforms": platforms,
	"vulnerability_report": {"looked_up": false, "found": false, "source": "", "reference": "", "created_at": ""},
}

# single(p) is a single-platform image.
single(p) := object.union(index([p]), {
	"is_index": false,
	"media_type": "application/vnd.oci.image.manifest.v1+json",
})

# amd64_user(raw, uid, extra) is a two-platform index whose amd64 platform has
# the given user.
amd64_user(raw, uid, extra) := index([
	platform("linux/amd64", {"user": user(raw, uid, extra)}),
	platform("linux/arm64", {}),
])

# Documents checked against the schema by the Go tests.
samples := [
	index([platform("linux/amd64", {}), platform("linux/arm64/v8", {})]),
	single(platform("linux/amd64", {"entrypoint": null, "cmd": null, "layers": [gzip_layer]})),
	amd64_user("dwfuser:staff", null, {"resolved_uid": 1001, "resolved_gid": 50, "group_found": true, "in_group": true}),
]
