# METADATA
# title: Package installs and builds should use a cache mount
# description: |
#   A RUN that downloads packages or compiles (`apt-get install`,
#   `apt install`, `apk add`, `pip install`, `python -m pip install`,
#   `npm ci|install|i`, `yarn install`, `cargo build|install`, `go build`,
#   `go mod download`) without a `--mount=type=cache` starts from nothing on
#   every build. Every stage counts, builder stages included: that is where
#   builds happen. Options before the subcommand (`apt-get -y install`,
#   `apk --no-cache add`) are understood, and so are commands run through
#   `sudo [-u USER]`, `env A=B`, `timeout N`, `nice`, `nohup`, `xargs`,
#   `exec`, `command`, `time`, `stdbuf`, `sh -c`/`bash -c` or by absolute
#   path (`/usr/bin/apt-get`). One finding per RUN. `apk add --no-cache`
#   and `pip install --no-cache-dir` fire too: those flags keep the cache
#   out of the image but download everything on every build (and bypass a
#   mounted cache); the message says to replace the flag with the mount.
# schemas:
#   - input: schema.dockerfile
# custom:
#   id: DWF104
#   severity: warning
#   kind: dockerfile
#   help: |
#     Give the RUN a BuildKit cache mount on the tool's cache directory, so
#     downloads and build artefacts are reused across builds without ending
#     up in the image.
#
#     ```dockerfile
#     # syntax=docker/dockerfile:1
#     FROM python:3.13-slim
#     RUN --mount=type=cache,target=/root/.cache/pip \
#         pip install -r requirements.txt
#     RUN --mount=type=cache,target=/var/cache/apt,sharing=locked \
#         --mount=type=cache,target=/var/lib/apt,sharing=locked \
#         apt-get update && apt-get install -y --no-install-recommends curl
#     ```
#
#     Usual targets: apt `/var/cache/apt`, apk `/var/cache/apk`, pip
#     `/root/.cache/pip`, npm `/root/.npm`, yarn `/usr/local/share/.cache/yarn`,
#     cargo `/usr/local/cargo/registry`, go `/root/.cache/go-build` and
#     `/go/pkg/mod`.
package dwf.dockerfile.cache_mounts

deny contains finding if {
	some stage in input.stages
	some run in stage.runs
	not has_cache_mount(run)
	found := [[use, command] |
		some command in run.commands
		use := cached_use(command)
	]
	[first, command] := found[0]
	msg := sprintf(
		"This RUN %s with `%s` without a cache mount, so every build starts from an empty cache; add `--mount=type=cache,target=%s` to the RUN.%s",
		[first.action, first.command, first.target, no_cache_note(command)],
	)
	finding := {"msg": msg, "location": run.location}
}

has_cache_mount(run) if {
	some mount in run.mounts
	mount.type == "cache"
}

# Options that take their value as the next word, per tool. Only options
# that can appear before the subcommand matter; the list is deliberately
# short.
apt_value_options := {"-o", "-c", "-t", "--option", "--config-file", "--target-release", "--default-release"}

apk_value_options := {"-X", "--repository", "-p", "--root", "--arch", "--cache-dir", "--keys-dir", "--repositories-file"}

pip_value_options := {"-i", "--index-url", "--extra-index-url", "--trusted-host", "--proxy", "--cache-dir", "--log", "--timeout", "--retries", "--cert", "--client-cert", "--python"}

npm_value_options := {"-C", "--prefix", "--cache", "--registry", "--userconfig", "-w", "--workspace"}

yarn_value_options := {"--cwd", "--cache-folder", "--modules-folder", "--mutex", "--network-timeout"}

cargo_value_options := {"-C", "--config", "--color", "-Z"}

go_value_options := {"-C"}

# operands(words, value_options) are the words after the program that are
# neither options (-x, --long, cargo's +toolchain) nor the value of an option
# in value_options.
operands(words, value_options) := [word |
	some i, word in words
	i > 0
	not startswith(word, "-")
	not startswith(word, "+")
	not words[i - 1] in value_options
]

subcommand(words, value_options) := operands(words, value_options)[0]

# no_cache_note(command) explains, when the command already keeps its cache
# out of the layer (`apk --no-cache`, `pip --no-cache-dir`), why a cache
# mount still helps: the flag only keeps the cache out of the image, so
# every build downloads everything again, and it stops the tool from using
# the mounted cache.
no_cache_note(command) := sprintf(" `%s` keeps the cache out of the image but makes every build download every package again; a cache mount also stays out of the image and is reused by the next build, so replace `%s` with the mount (the flag would bypass it).", [flag, flag]) if {
	flag := no_cache_flag(command)
}

no_cache_note(command) := "" if not no_cache_flag(command)

no_cache_flag(command) := "--no-cache" if {
	command.name == "apk"
	"--no-cache" in command.words
}

no_cache_flag(command) := "--no-cache-dir" if {
	regex.match(`^(pip|python)[0-9.]*$`, command.name)
	"--no-cache-dir" in command.words
}

# cached_use(command) describes a command that would benefit from a cache
# mount; undefined for any other command.
cached_use(command) := use("installs packages", "apt-get install", "/var/cache/apt") if {
	command.name == "apt-get"
	subcommand(command.words, apt_value_options) == "install"
}

cached_use(command) := use("installs packages", "apt install", "/var/cache/apt") if {
	command.name == "apt"
	subcommand(command.words, apt_value_options) == "install"
}

cached_use(command) := use("installs packages", "apk add", "/var/cache/apk") if {
	command.name == "apk"
	subcommand(command.words, apk_value_options) == "add"
}

cached_use(command) := use("installs packages", sprintf("%s install", [command.name]), "/root/.cache/pip") if {
	regex.match(`^pip[0-9.]*$`, command.name)
	subcommand(command.words, pip_value_options) == "install"
}

cached_use(command) := use("installs packages", sprintf("%s -m %s install", [command.name, pip]), "/root/.cache/pip") if {
	regex.match(`^python[0-9.]*$`, command.name)
	i := pip_module(command.words)
	pip := command.words[i]
	subcommand(array.slice(command.words, i, count(command.words)), pip_value_options) == "install"
}

# pip_module(words) is the index of the module name in the first `-m pip`.
pip_module(words) := indexes[0] if {
	indexes := [module |
		some i, word in words
		word == "-m"
		module := i + 1
		regex.match(`^pip[0-9.]*$`, words[module])
	]
}

cached_use(command) := use("installs packages", sprintf("npm %s", [sub]), "/root/.npm") if {
	command.name == "npm"
	sub := subcommand(command.words, npm_value_options)
	sub in {"ci", "install", "i"}
}

cached_use(command) := use("installs packages", "yarn install", "/usr/local/share/.cache/yarn") if {
	command.name == "yarn"
	subcommand(command.words, yarn_value_options) == "install"
}

# A bare `yarn` (options only) runs `yarn install`.
cached_use(command) := use("installs packages", "yarn", "/usr/local/share/.cache/yarn") if {
	command.name == "yarn"
	count(operands(command.words, yarn_value_options)) == 0
}

cached_use(command) := use("builds", sprintf("cargo %s", [sub]), "/usr/local/cargo/registry") if {
	command.name == "cargo"
	sub := subcommand(command.words, cargo_value_options)
	sub in {"build", "install"}
}

cached_use(command) := use("builds", "go build", "/root/.cache/go-build") if {
	command.name == "go"
	subcommand(command.words, go_value_options) == "build"
}

cached_use(command) := use("downloads modules", "go mod download", "/go/pkg/mod") if {
	command.name == "go"
	args := operands(command.words, go_value_options)
	args[0] == "mod"
	args[1] == "download"
}

use(action, command, target) := {"action": action, "command": command, "target": target}
