// Package trivycli is what dwf-policy knows about Trivy's command line:
// which subcommands scan and their aliases, which flags take a value, the
// TRIVY_* environment variables, the trivy.yaml keys, the precedence
// between them (flag > environment > config file > default), and how Trivy
// is run in a container (aquasec/trivy images, docker run options). It
// knows nothing of where a command line comes from: workflow run: steps use
// it today. (Trivy's JSON reports are another matter, for another package.)
package trivycli

import (
	"errors"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v4"

	"github.com/devflow/dwf-policy/engine/analysis/yamlpos"
)

// Sources of a setting, highest precedence first: Trivy reads a flag, else
// its environment variable, else the config file, else its default.
const (
	SourceFlag    = "flag"
	SourceEnv     = "env"
	SourceConfig  = "config"
	SourceDefault = "default"
)

// Environment variables Trivy reads for the settings dwf-policy follows.
// Every flag --NAME has one, TRIVY_ followed by NAME upper-cased with - as _.
const (
	EnvPrefix   = "TRIVY_"
	EnvExitCode = "TRIVY_EXIT_CODE"
	EnvSeverity = "TRIVY_SEVERITY"
	EnvScanners = "TRIVY_SCANNERS"
	EnvFormat   = "TRIVY_FORMAT"
	EnvConfig   = "TRIVY_CONFIG"
)

// Defaults of the settings dwf-policy follows; an empty severity or
// scanners list means Trivy's own (every severity; vuln and secret).
const (
	DefaultExitCode   = "0"
	DefaultFormat     = "table"
	DefaultSeverity   = ""
	DefaultScanners   = ""
	DefaultConfigFile = "trivy.yaml" // read from the working directory when no --config or TRIVY_CONFIG
)

// Subcommand returns the canonical name of a Trivy subcommand that scans
// (`i` and `image` are image, `fs` is filesystem, ...); ok is false for
// any other word.
func Subcommand(name string) (canonical string, ok bool) {
	canonical, ok = subcommands[name]
	return canonical, ok
}

// ExitStatus is the status a process exits with when Trivy's exit code is
// set to value (--exit-code 256 exits 0); ok is false when value is not a
// number.
func ExitStatus(value string) (int, bool) {
	n, err := strconv.ParseInt(strings.TrimSpace(value), 0, 64)
	if err != nil {
		return 0, false
	}
	return int(n & 0xff), true
}

// SplitList splits a comma-separated list flag (--severity HIGH,CRITICAL)
// into its trimmed, non-empty items.
func SplitList(v string) []string {
	out := []string{}
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Trivy subcommands that scan, by every name Trivy accepts, and the
// canonical name recorded in the document.
var subcommands = map[string]string{
	"image": "image", "i": "image",
	"filesystem": "filesystem", "fs": "filesystem",
	"repository": "repository", "repo": "repository",
	"rootfs": "rootfs",
	"config": "config", "conf": "config",
	"sbom":       "sbom",
	"vm":         "vm",
	"kubernetes": "kubernetes", "k8s": "kubernetes",
}

// Flags that make a Trivy call something other than a scan.
var nonScanFlags = map[string]bool{
	"version": true, "help": true, "download-db-only": true, "download-java-db-only": true,
	"reset": true, "clear-cache": true, "generate-default-config": true, "reset-checks-bundle": true,
}

// Trivy flags that take a value (so the next word is not a positional).
var valueFlags = map[string]bool{
	"cache-dir": true, "config": true, "timeout": true, "exit-code": true, "exit-on-eol": true,
	"severity": true, "scanners": true, "security-checks": true, "format": true, "output": true,
	"template": true, "skip-dirs": true, "skip-files": true, "ignorefile": true, "ignore-policy": true,
	"input": true, "vuln-type": true, "pkg-types": true, "pkg-relationships": true, "platform": true,
	"username": true, "password": true, "registry-token": true, "server": true, "token": true,
	"token-header": true, "custom-headers": true, "db-repository": true, "java-db-repository": true,
	"checks-bundle-repository": true, "policy-bundle-repository": true, "compliance": true,
	"report": true, "file-patterns": true, "image-src": true, "docker-host": true, "podman-host": true,
	"tf-vars": true, "helm-values": true, "helm-set": true, "helm-set-file": true, "helm-set-string": true,
	"helm-api-versions": true, "helm-kube-version": true, "namespace": true, "context": true,
	"kubeconfig": true, "include-namespaces": true, "exclude-namespaces": true, "include-kinds": true,
	"exclude-kinds": true, "node-collector-namespace": true, "node-collector-imageref": true,
	"sbom-sources": true, "rekor-url": true, "vex": true, "cache-backend": true, "cache-ttl": true,
	"redis-ca": true, "redis-cert": true, "redis-key": true, "secret-config": true,
	"license-confidence-level": true, "ignored-licenses": true, "output-plugin-arg": true,
	"config-check": true, "config-data": true, "check-namespaces": true, "config-policy": true,
	"policy-namespaces": true, "namespaces": true, "misconfig-scanners": true, "cf-params": true,
	"parallel": true, "max-image-size": true, "image-config-scanners": true, "detection-priority": true,
	"distro": true, "module-dir": true, "enable-modules": true, "ignore-status": true,
	"skip-images": true, "k8s-version": true, "tolerations": true, "disable-node-collector": false,
}

// Short Trivy flags that take a value, by the long flag they stand for.
var shortFlags = map[byte]string{'s': "severity", 'f': "format", 'c': "config", 'o': "output", 't': "template"}

// docker run options that take a value.
var dockerValueFlags = map[string]bool{
	"add-host": true, "annotation": true, "attach": true, "blkio-weight": true, "cap-add": true,
	"cap-drop": true, "cgroup-parent": true, "cgroupns": true, "cidfile": true, "cpu-period": true,
	"cpu-quota": true, "cpu-shares": true, "cpus": true, "cpuset-cpus": true, "cpuset-mems": true,
	"device": true, "dns": true, "dns-option": true, "dns-search": true, "domainname": true,
	"entrypoint": true, "env": true, "env-file": true, "expose": true, "gpus": true, "group-add": true,
	"health-cmd": true, "health-interval": true, "health-retries": true, "health-timeout": true,
	"hostname": true, "ip": true, "ip6": true, "ipc": true, "isolation": true, "label": true,
	"label-file": true, "link": true, "log-driver": true, "log-opt": true, "mac-address": true,
	"memory": true, "memory-reservation": true, "memory-swap": true, "mount": true, "name": true,
	"network": true, "net": true, "network-alias": true, "pid": true, "platform": true,
	"publish": true, "pull": true, "restart": true, "runtime": true, "security-opt": true,
	"shm-size": true, "stop-signal": true, "stop-timeout": true, "storage-opt": true, "sysctl": true,
	"tmpfs": true, "ulimit": true, "user": true, "userns": true, "uts": true, "volume": true,
	"volumes-from": true, "workdir": true,
}

var dockerShortValue = map[byte]string{'a': "attach", 'c': "cpu-shares", 'e': "env", 'h': "hostname", 'l': "label", 'm': "memory", 'p': "publish", 'u': "user", 'v': "volume", 'w': "workdir"}

// Arg is one word of a command line: Text is its value, or its text as
// written when Known is false (a value only run time knows).
type Arg struct {
	Text  string
	Known bool
}

// Flag is one occurrence of a flag in a command line, by index into the
// arguments given to Parse.
type Flag struct {
	// Arg is the flag's own word.
	Arg int
	// Value is the word holding its value: -1 when it has none, Arg when
	// the value is attached (--severity=HIGH, -sHIGH).
	Value int
	// Offset is where an attached value starts in the flag's word, in
	// bytes.
	Offset int
}

// Call is a Trivy command line that scans.
type Call struct {
	Subcommand    string // canonical: image, filesystem, ...
	RawSubcommand string // as written: i, fs, ...
	Target        int    // index of the scan target, or -1
	// Flags by long name (short flags under the long one they stand for:
	// -s is severity), in order.
	Flags map[string][]Flag
}

// Parse reads a Trivy command line, args being the words after the
// program. It returns nil when the call does not scan (--version,
// --help, --download-db-only, `trivy server`, an unknown subcommand, or a
// subcommand that is not known statically).
func Parse(args []Arg) *Call {
	c := &Call{Target: -1, Flags: map[string][]Flag{}}
	var positional []int
	for k := 0; k < len(args); k++ {
		text := args[k].Text
		if text == "--" {
			for p := k + 1; p < len(args); p++ {
				positional = append(positional, p)
			}
			break
		}
		if strings.HasPrefix(text, "--") && len(text) > 2 {
			name, _, eq := strings.Cut(text[2:], "=")
			if !isFlagName(name) {
				positional = append(positional, k)
				continue
			}
			if nonScanFlags[name] {
				return nil
			}
			f := Flag{Arg: k, Value: -1}
			if eq {
				f.Value, f.Offset = k, len(name)+3
			} else if valueFlags[name] && k+1 < len(args) {
				k++
				f.Value = k
			}
			c.Flags[name] = append(c.Flags[name], f)
			continue
		}
		if strings.HasPrefix(text, "-") && len(text) > 1 {
			ch := text[1]
			if ch == 'v' || ch == 'h' {
				return nil // --version, --help
			}
			long, ok := shortFlags[ch]
			if !ok {
				continue
			}
			f := Flag{Arg: k, Value: -1}
			switch {
			case len(text) > 2:
				f.Value, f.Offset = k, 2
				if text[2] == '=' {
					f.Offset = 3
				}
			case k+1 < len(args):
				k++
				f.Value = k
			}
			c.Flags[long] = append(c.Flags[long], f)
			continue
		}
		positional = append(positional, k)
	}
	if len(positional) == 0 || !args[positional[0]].Known {
		return nil
	}
	sub, ok := subcommands[args[positional[0]].Text]
	if !ok {
		return nil
	}
	c.Subcommand, c.RawSubcommand = sub, args[positional[0]].Text
	if len(positional) > 1 {
		c.Target = positional[1]
	}
	return c
}

func isFlagName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// DockerRunTakesValue reports whether a `docker run` long option (without
// the dashes) takes a value, so the next word is not the image.
func DockerRunTakesValue(name string) bool { return dockerValueFlags[name] }

// DockerRunShort returns the long name of a `docker run` short option that
// takes a value (-e is env, -v volume, ...).
func DockerRunShort(ch byte) (long string, ok bool) {
	long, ok = dockerShortValue[ch]
	return long, ok
}

// IsImage matches aquasec/trivy and aquasecurity/trivy on any registry,
// with any tag or digest.
func IsImage(ref string) bool {
	name := ref
	if i := strings.Index(name, "@"); i >= 0 {
		name = name[:i]
	}
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		name = name[:i]
	}
	name = strings.ToLower(name)
	return name == "aquasec/trivy" || strings.HasSuffix(name, "/aquasec/trivy") ||
		name == "aquasecurity/trivy" || strings.HasSuffix(name, "/aquasecurity/trivy")
}

// Config is what dwf-policy reads from a trivy.yaml: the settings it
// follows, nil when the file does not set them. Lists are comma-joined.
type Config struct {
	ExitCode *string // exit-code
	Severity *string // severity
	Scanners *string // scan.scanners, or the older scan.security-checks
	Format   *string // format
}

// ParseConfig reads exit-code, severity, format and scan.scanners (or the older
// scan.security-checks). Lists may be YAML sequences or comma-separated.
func ParseConfig(data []byte) (Config, error) {
	var c Config
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return Config{}, err
	}
	if len(doc.Content) == 0 {
		return c, nil
	}
	root := yamlpos.Deref(doc.Content[0])
	if root == nil || root.Kind != yaml.MappingNode {
		return Config{}, errors.New("the document is not a mapping")
	}
	get := func(m *yaml.Node, key string) *yaml.Node {
		for i := 0; i+1 < len(m.Content); i += 2 {
			if yamlpos.Deref(m.Content[i]) != nil && yamlpos.Deref(m.Content[i]).Value == key {
				return yamlpos.Deref(m.Content[i+1])
			}
		}
		return nil
	}
	scalar := func(n *yaml.Node) *string {
		if n == nil || n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
			return nil
		}
		v := n.Value
		return &v
	}
	list := func(n *yaml.Node) *string {
		if n == nil {
			return nil
		}
		if n.Kind == yaml.SequenceNode {
			var parts []string
			for _, e := range n.Content {
				if e = yamlpos.Deref(e); e != nil && e.Kind == yaml.ScalarNode {
					parts = append(parts, e.Value)
				}
			}
			v := strings.Join(parts, ",")
			return &v
		}
		return scalar(n)
	}
	c.ExitCode = scalar(get(root, "exit-code"))
	c.Severity = list(get(root, "severity"))
	c.Format = scalar(get(root, "format"))
	if scan := get(root, "scan"); scan != nil && scan.Kind == yaml.MappingNode {
		c.Scanners = list(get(scan, "scanners"))
		if c.Scanners == nil {
			c.Scanners = list(get(scan, "security-checks"))
		}
	}
	return c, nil
}
