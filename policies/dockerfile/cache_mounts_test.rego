package dwf.dockerfile.cache_mounts_test

import data.dwf.dockerfile.cache_mounts
import data.dwf.lib.fixtures as fx

# one_run(words) is a Dockerfile whose only RUN (line 3, no mounts) runs the
# simple command words.
one_run(words) := fx.runs_doc([fx.run([], [fx.command(words)], 3)])

# fires(words) holds when a RUN of words alone gets exactly one finding.
fires(words) if count(cache_mounts.deny) == 1 with input as one_run(words)

quiet(words) if count(cache_mounts.deny) == 0 with input as one_run(words)

# --- firing -----------------------------------------------------------------

test_apt_get_install_fires if {
	cache_mounts.deny == {{
		"msg": "This RUN installs packages with `apt-get install` without a cache mount, so every build starts from an empty cache; add `--mount=type=cache,target=/var/cache/apt` to the RUN.",
		"location": fx.location(3),
	}} with input as one_run(["apt-get", "install", "-y", "curl"])
}

test_options_before_subcommand_fire if {
	fires(["apt-get", "-y", "install", "curl"])
	fires(["apt-get", "-qq", "--no-install-recommends", "install", "curl"])
	fires(["/usr/bin/apt-get", "-o", "Dpkg::Options::=--force-confnew", "install", "curl"])
	fires(["apt-get", "-t", "bookworm-backports", "install", "curl"])
	fires(["apk", "--no-cache", "add", "curl"])
	fires(["apk", "-X", "https://dl-cdn.alpinelinux.org/alpine/edge/testing", "add", "curl"])
	fires(["pip", "--proxy", "http://proxy:3128", "install", "flask"])
	fires(["npm", "--prefix", "web", "ci"])
	fires(["yarn", "--cwd", "web", "install"])
	fires(["go", "-C", "cmd/app", "build", "./..."])
}

test_apt_install_fires if {
	fires(["apt", "install", "-y", "curl"])
}

test_apk_add_fires if {
	cache_mounts.deny == {{
		"msg": "This RUN installs packages with `apk add` without a cache mount, so every build starts from an empty cache; add `--mount=type=cache,target=/var/cache/apk` to the RUN.",
		"location": fx.location(3),
	}} with input as one_run(["apk", "add", "curl"])
}

# With --no-cache the message says why a cache mount still helps.
test_apk_add_no_cache_explains_the_mount if {
	cache_mounts.deny == {{
		"msg": "This RUN installs packages with `apk add` without a cache mount, so every build starts from an empty cache; add `--mount=type=cache,target=/var/cache/apk` to the RUN. `--no-cache` keeps the cache out of the image but makes every build download every package again; a cache mount also stays out of the image and is reused by the next build, so replace `--no-cache` with the mount (the flag would bypass it).",
		"location": fx.location(3),
	}} with input as one_run(["apk", "add", "--no-cache", "curl"])
}

test_pip_no_cache_dir_explains_the_mount if {
	some f in cache_mounts.deny with input as one_run(["pip", "install", "--no-cache-dir", "flask"])
	endswith(f.msg, "so replace `--no-cache-dir` with the mount (the flag would bypass it).")
	some g in cache_mounts.deny with input as one_run(["python3", "-m", "pip", "install", "--no-cache-dir", "flask"])
	contains(g.msg, "`--no-cache-dir` keeps the cache out of the image")
}

test_pip_variants_fire if {
	fires(["pip", "install", "-r", "requirements.txt"])
	fires(["pip3", "install", "flask"])
	fires(["/usr/local/bin/pip3.12", "install", "--no-cache-dir", "flask"])
	fires(["python", "-m", "pip", "install", "flask"])
	fires(["python3.13", "-I", "-m", "pip", "--timeout", "30", "install", "flask"])
}

test_python_m_pip_message if {
	some f in cache_mounts.deny with input as one_run(["python3", "-m", "pip", "install", "."])
	f.msg == "This RUN installs packages with `python3 -m pip install` without a cache mount, so every build starts from an empty cache; add `--mount=type=cache,target=/root/.cache/pip` to the RUN."
}

test_npm_and_yarn_fire if {
	fires(["npm", "ci"])
	fires(["npm", "install"])
	fires(["npm", "i", "--omit=dev"])
	fires(["yarn", "install", "--frozen-lockfile"])
	fires(["yarn", "--frozen-lockfile"])
}

test_cargo_fires if {
	fires(["cargo", "build", "--release"])
	fires(["cargo", "install", "--path", "."])
	fires(["cargo", "+nightly", "build"])
	some f in cache_mounts.deny with input as one_run(["cargo", "--color", "never", "build"])
	f.msg == "This RUN builds with `cargo build` without a cache mount, so every build starts from an empty cache; add `--mount=type=cache,target=/usr/local/cargo/registry` to the RUN."
}

test_go_fires if {
	fires(["go", "build", "-o", "/out/app", "."])
	some f in cache_mounts.deny with input as one_run(["go", "mod", "download"])
	f.msg == "This RUN downloads modules with `go mod download` without a cache mount, so every build starts from an empty cache; add `--mount=type=cache,target=/go/pkg/mod` to the RUN."
}

# Builder stages count: that is where builds happen.
test_builder_stage_fires if {
	builder := fx.stage(0, fx.from_image("golang:1.23", "golang", "1.23", "", 1), [fx.run([], [fx.command(["go", "build", "."])], 3)])
	final := fx.stage(1, fx.from_scratch(5), [])
	findings := cache_mounts.deny with input as fx.document([builder, final], {})
	[f.location | some f in findings] == [fx.location(3)]
}

# One finding per RUN, naming its first install; one per RUN across RUNs.
test_one_finding_per_run if {
	commands := [
		fx.command(["apt-get", "update"]),
		fx.command(["apt-get", "install", "-y", "python3-pip"]),
		fx.command(["pip", "install", "flask"]),
	]
	runs := [fx.run([], commands, 3), fx.run([], [fx.command(["npm", "ci"])], 4)]
	findings := cache_mounts.deny with input as fx.runs_doc(runs)
	count(findings) == 2
	{f.location.line | some f in findings} == {3, 4}
	some f in findings
	f.location.line == 3
	contains(f.msg, "`apt-get install`")
}

# A bind or secret mount is not a cache.
test_other_mount_types_fire if {
	findings := cache_mounts.deny with input as fx.runs_doc([fx.run(
		[fx.bind_mount("/src"), {"type": "secret", "target": "/run/secrets/npmrc", "raw": "type=secret,id=npmrc"}],
		[fx.command(["npm", "ci"])],
		3,
	)])
	count(findings) == 1
}

# --- not firing ------------------------------------------------------------

test_cache_mount_passes if {
	count(cache_mounts.deny) == 0 with input as fx.runs_doc([fx.run(
		[fx.cache_mount("/var/cache/apt"), fx.cache_mount("/var/lib/apt")],
		[fx.command(["apt-get", "update"]), fx.command(["apt-get", "install", "-y", "curl"])],
		3,
	)])
}

test_any_cache_mount_passes if {
	count(cache_mounts.deny) == 0 with input as fx.runs_doc([fx.run(
		[fx.bind_mount("/src"), fx.cache_mount("/root/.cache/go-build")],
		[fx.command(["go", "build", "."])],
		3,
	)])
}

test_non_install_subcommands_pass if {
	quiet(["apt-get", "update"])
	quiet(["apt-get", "-y", "clean"])
	quiet(["apt", "list", "--installed"])
	quiet(["apk", "info"])
	quiet(["pip", "--version"])
	quiet(["pip", "freeze"])
	quiet(["python3", "-m", "venv", "/venv"])
	quiet(["python3", "-m", "pipx", "install", "x"])
	quiet(["npm", "run", "build"])
	quiet(["npm", "test"])
	quiet(["yarn", "run", "build"])
	quiet(["cargo", "test"])
	quiet(["cargo", "fmt", "--check"])
	quiet(["go", "test", "./..."])
	quiet(["go", "mod", "tidy"])
	quiet(["go", "version"])
}

# The value of an option that takes one is not the subcommand.
test_option_values_are_skipped if {
	quiet(["apt-get", "-o", "install", "update"])
	quiet(["apk", "--repository", "add", "info"])
	quiet(["pip", "--log", "install", "list"])
	quiet(["npm", "--prefix", "install", "test"])
	quiet(["go", "-C", "build", "vet"])
}

# The install word is only a subcommand right after the program.
test_install_as_argument_passes if {
	quiet(["echo", "apt-get", "install"])
	quiet(["make", "install"])
	quiet(["apt-get", "download", "install"])
	quiet(["npm", "run", "install"])
}

test_run_without_commands_passes if {
	count(cache_mounts.deny) == 0 with input as fx.runs_doc([fx.run([], [], 3)])
}
