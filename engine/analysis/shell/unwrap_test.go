package shell

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestUnwrap(t *testing.T) {
	for _, tc := range []struct {
		cmd  string // words separated by single spaces
		want string // the words from the command that runs on
		// assigns are the NAME=value words a wrapper sets, space-separated.
		assigns string
	}{
		// no wrapper
		{"apt-get install -y curl", "apt-get install -y curl", ""},
		{"/usr/bin/apt-get install -y curl", "/usr/bin/apt-get install -y curl", ""},
		// sudo
		{"sudo apt-get install -y curl", "apt-get install -y curl", ""},
		{"sudo -u builder apt-get install -y curl", "apt-get install -y curl", ""},
		{"sudo -ubuilder apt-get install", "apt-get install", ""},
		{"sudo --user builder apt-get install", "apt-get install", ""},
		{"sudo --user=builder apt-get install", "apt-get install", ""},
		{"sudo -E apt-get install", "apt-get install", ""},
		{"sudo -Eu builder apt-get install", "apt-get install", ""},
		{"sudo -E -H -u builder -g staff apt-get install", "apt-get install", ""},
		{"sudo -n -D /src -C 5 make", "make", ""},
		{"sudo -- apt-get install", "apt-get install", ""},
		{"sudo -u root -- apt-get install", "apt-get install", ""},
		{"sudo DEBIAN_FRONTEND=noninteractive apt-get install", "apt-get install", "DEBIAN_FRONTEND=noninteractive"},
		{"/usr/bin/sudo /usr/bin/apt-get install", "/usr/bin/apt-get install", ""},
		{"sudo -l apt-get", "sudo -l apt-get", ""},
		{"sudo -v", "sudo -v", ""},
		{"sudo -e /etc/hosts", "sudo -e /etc/hosts", ""},
		{"sudo", "sudo", ""},
		// env
		{"env apt-get install", "apt-get install", ""},
		{"env A=B apt-get install", "apt-get install", "A=B"},
		{"env -i PATH=/x cmd arg", "cmd arg", "PATH=/x"},
		{"env - PATH=/x cmd", "cmd", "PATH=/x"},
		{"env -u HOME -C /tmp A=1 B=2 cmd", "cmd", "A=1 B=2"},
		{"env --unset HOME --chdir=/tmp cmd", "cmd", ""},
		{"env -- A=1 cmd", "cmd", "A=1"},
		{"env", "env", ""},
		{"env A=1", "env A=1", ""},
		{"env -S 'apt-get install'", "env -S 'apt-get install'", ""},
		{"env 1A=x cmd", "1A=x cmd", ""},
		// timeout
		{"timeout 60 apt-get install -y curl", "apt-get install -y curl", ""},
		{"timeout 5m trivy image x", "trivy image x", ""},
		{"timeout -s KILL 60 cmd", "cmd", ""},
		{"timeout -sKILL -k 5 60 cmd", "cmd", ""},
		{"timeout --signal=TERM --kill-after 5 --preserve-status 60 cmd", "cmd", ""},
		{"timeout --foreground -v 1h cmd a", "cmd a", ""},
		{"timeout 60", "timeout 60", ""},
		// nice
		{"nice cmd", "cmd", ""},
		{"nice -n 10 cmd", "cmd", ""},
		{"nice -n10 cmd", "cmd", ""},
		{"nice -10 cmd", "cmd", ""},
		{"nice --adjustment=5 cmd", "cmd", ""},
		{"nice --adjustment 5 cmd", "cmd", ""},
		// nohup
		{"nohup cmd &", "cmd &", ""},
		{"nohup -- cmd", "cmd", ""},
		// xargs
		{"xargs apt-get install", "apt-get install", ""},
		{"xargs -r apt-get install", "apt-get install", ""},
		{"xargs -0 -r -n 1 apt-get install", "apt-get install", ""},
		{"xargs -rn1 apt-get install", "apt-get install", ""},
		{"xargs -I {} apt-get install {}", "apt-get install {}", ""},
		{"xargs -I{} apt-get install {}", "apt-get install {}", ""},
		{"xargs -i apt-get install", "apt-get install", ""},
		{"xargs -P 4 -d , --max-args=2 --arg-file list apt-get install", "apt-get install", ""},
		{"xargs --no-run-if-empty --null apt-get install", "apt-get install", ""},
		{"xargs -r", "xargs -r", ""},
		// exec, command, builtin, time
		{"exec apt-get install", "apt-get install", ""},
		{"exec -a name apt-get install", "apt-get install", ""},
		{"exec -cl apt-get install", "apt-get install", ""},
		{"exec", "exec", ""},
		{"command apt-get install", "apt-get install", ""},
		{"command -p apt-get install", "apt-get install", ""},
		{"command -v apt-get", "command -v apt-get", ""},
		{"command -V apt-get", "command -V apt-get", ""},
		{"builtin echo x", "echo x", ""},
		{"time apt-get install", "apt-get install", ""},
		{"/usr/bin/time -v -o log -f %e apt-get install", "apt-get install", ""},
		{"/usr/bin/time --format=%e apt-get install", "apt-get install", ""},
		// stdbuf
		{"stdbuf -oL apt-get install", "apt-get install", ""},
		{"stdbuf -o L -e 0 apt-get install", "apt-get install", ""},
		{"stdbuf --output=L --input 0 apt-get install", "apt-get install", ""},
		// combinations
		{"sudo -u builder timeout 60 apt-get install", "apt-get install", ""},
		{"sudo env A=B nice -n 5 /usr/bin/apt-get install", "/usr/bin/apt-get install", "A=B"},
		{"timeout -s KILL 60 sudo -E -- env -i PATH=/x stdbuf -oL xargs -r apt-get install", "apt-get install", "PATH=/x"},
		{"nohup nice -10 exec time command pip install x", "pip install x", ""},
		{"sudo sh -c x", "sh -c x", ""},
		{"sudo command -v apt-get", "command -v apt-get", ""},
		{"xargs -r sudo -u u apt-get install", "apt-get install", ""},
	} {
		t.Run(tc.cmd, func(t *testing.T) {
			words := strings.Split(tc.cmd, " ")
			c, ok := Unwrap(words)
			if !ok {
				t.Fatal("Unwrap returned !ok")
			}
			if got := strings.Join(words[c.Index:], " "); got != tc.want {
				t.Errorf("runs %q, want %q", got, tc.want)
			}
			if want := Base(strings.Fields(tc.want)[0]); c.Name != want {
				t.Errorf("Name = %q, want %q", c.Name, want)
			}
			var assigns []string
			for _, i := range c.Assigns {
				assigns = append(assigns, words[i])
			}
			if got := strings.Join(assigns, " "); got != tc.assigns {
				t.Errorf("assigns = %q, want %q", got, tc.assigns)
			}
			for _, i := range c.Wrappers {
				if _, ok := wrappers[Base(words[i])]; !ok || i >= c.Index {
					t.Errorf("wrapper index %d (%q) is not a wrapper before the command", i, words[i])
				}
			}
		})
	}
}

func TestUnwrapEmpty(t *testing.T) {
	if _, ok := Unwrap(nil); ok {
		t.Error("Unwrap(nil) is ok")
	}
}

func TestUnwrapIsBounded(t *testing.T) {
	words := strings.Split(strings.Repeat("sudo ", 100)+"cmd", " ")
	c, _ := Unwrap(words)
	if c.Index != maxWrappers || c.Name != "sudo" {
		t.Errorf("100 sudos: Index = %d, Name = %q; want the unwrapping to stop after %d", c.Index, c.Name, maxWrappers)
	}
}

func TestScriptArg(t *testing.T) {
	for _, tc := range []struct {
		cmd    string
		script string // "" for none
	}{
		{"sh -c X", "X"},
		{"bash -c X", "X"},
		{"/bin/bash -c X", "X"},
		{"sh -ec X", "X"},
		{"sh -xc X", "X"},
		{"sh -e -c X", "X"},
		{"sh -c -- X", "X"},
		{"bash -o pipefail -c X", "X"},
		{"bash -eo pipefail -c X", "X"},
		{"bash +o history -c X", "X"},
		{"bash --noprofile --norc -c X", "X"},
		{"bash --rcfile f -c X", "X"},
		{"dash -c X", "X"},
		{"ash -c X", "X"},
		{"zsh -c X", "X"},
		{"sh X", ""},
		{"sh -e X", ""},
		{"sh -c", ""},
		{"python -c X", ""},
		{"sh", ""},
	} {
		got, ok := ScriptArg(strings.Split(tc.cmd, " "))
		if ok != (tc.script != "") || got != tc.script {
			t.Errorf("ScriptArg(%q) = %q, %v; want %q", tc.cmd, got, ok, tc.script)
		}
	}
}

func TestInvocationOptions(t *testing.T) {
	for args, want := range map[string]Options{
		"{0}":                                 {},
		"-e {0}":                              {Errexit: true},
		"-eo pipefail {0}":                    {Errexit: true, Pipefail: true},
		"-e -o pipefail {0}":                  {Errexit: true, Pipefail: true},
		"--noprofile --norc -eo pipefail {0}": {Errexit: true, Pipefail: true},
		"-o errexit {0}":                      {Errexit: true},
		"-l {0}":                              {},
		"-o pipefail {0}":                     {Pipefail: true},
	} {
		if got := InvocationOptions(strings.Fields(args)); got != want {
			t.Errorf("InvocationOptions(%q) = %+v, want %+v", args, got, want)
		}
	}
}

func TestIsShell(t *testing.T) {
	for name, want := range map[string]bool{"sh": true, "/bin/bash": true, "mksh": true, "python": false, "": false, "pwsh": false} {
		if got := IsShell(name); got != want {
			t.Errorf("IsShell(%q) = %v, want %v", name, got, want)
		}
	}
	s := Shells()
	s["python"] = true
	if IsShell("python") {
		t.Error("Shells returned the package's own set")
	}
}

func TestCommands(t *testing.T) {
	env := map[string]string{"PKG": "curl", "EMPTY": ""}
	lookup := func(n string) (string, bool) { v, ok := env[n]; return v, ok }
	for _, tc := range []struct {
		script string
		want   []Simple
	}{
		{"apt-get update && sudo -u builder apt-get install -y $PKG", []Simple{
			{Name: "apt-get", Words: []string{"apt-get", "update"}},
			{Name: "apt-get", Words: []string{"apt-get", "install", "-y", "curl"}},
		}},
		{`timeout 60 /usr/bin/apt-get install "${MISSING:-x}" ${EMPTY:-y} $(cat list)`, []Simple{
			{Name: "apt-get", Words: []string{"/usr/bin/apt-get", "install", "x", "y", "$(cat list)"}},
			{Name: "cat", Words: []string{"cat", "list"}},
		}},
		{`sudo sh -c 'apt-get update && env -i PATH=/x apt-get install -y curl'`, []Simple{
			{Name: "sh", Words: []string{"sh", "-c", "apt-get update && env -i PATH=/x apt-get install -y curl"}},
			{Name: "apt-get", Words: []string{"apt-get", "update"}, Depth: 1},
			{Name: "apt-get", Words: []string{"apt-get", "install", "-y", "curl"}, Depth: 1},
		}},
		{`cat list | xargs -r apt-get install`, []Simple{
			{Name: "cat", Words: []string{"cat", "list"}},
			{Name: "apt-get", Words: []string{"apt-get", "install"}},
		}},
		{`command -v apt-get && echo\ 'a b' "c\"d"`, []Simple{
			{Name: "command", Words: []string{"command", "-v", "apt-get"}},
			{Name: "echo a b", Words: []string{"echo a b", `c"d`}},
		}},
		{`sh -c 'sh -c "sh -c \"sh -c ls\""'`, []Simple{
			{Name: "sh", Words: []string{"sh", "-c", `sh -c "sh -c \"sh -c ls\""`}},
			{Name: "sh", Words: []string{"sh", "-c", `sh -c "sh -c ls"`}, Depth: 1},
			{Name: "sh", Words: []string{"sh", "-c", "sh -c ls"}, Depth: 2},
			{Name: "sh", Words: []string{"sh", "-c", "ls"}, Depth: 3},
		}},
	} {
		t.Run(tc.script, func(t *testing.T) {
			got, err := NewReader().Commands(tc.script, lookup)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("commands (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCommandsParseErrors(t *testing.T) {
	r := NewReader()
	if _, err := r.Commands("if then", nil); err == nil {
		t.Error("a script that does not parse gave no error")
	}
	got, err := r.Commands(`echo a; sh -c 'if then'`, nil)
	if err == nil {
		t.Error("a nested script that does not parse gave no error")
	}
	if len(got) != 2 {
		t.Errorf("got %d commands, want the outer two", len(got))
	}
}

// FuzzCommands reads arbitrary scripts: no panic, and every command's name
// is the base name of its first word.
func FuzzCommands(f *testing.F) {
	for _, s := range []string{
		"sudo -u builder apt-get install -y curl",
		"timeout -s KILL 60 env -i PATH=/x xargs -r sh -c 'nice -n 10 apt-get install'",
		"command -v foo || exit 1",
		"f() { trivy image x || true; }; f",
		"sudo -- /usr/bin/apt-get install $PKG ${X:-y}",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, script string) {
		if len(script) > 4096 {
			return
		}
		cmds, _ := NewReader().Commands(script, func(string) (string, bool) { return "v", true })
		for _, c := range cmds {
			if len(c.Words) == 0 || c.Name != Base(c.Words[0]) {
				t.Fatalf("command %+v: name is not the base of its first word", c)
			}
		}
	})
}
