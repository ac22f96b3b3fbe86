package image

import (
	"bytes"
	"strconv"
	"strings"
)

// passwdEntry is one line of /etc/passwd: name:password:uid:gid:gecos:home:shell.
type passwdEntry struct {
	Name  string
	UID   int
	GID   int
	Home  string
	Shell string
}

// groupEntry is one line of /etc/group: name:password:gid:members.
type groupEntry struct {
	Name    string
	GID     int
	Members []string
}

// parsePasswd parses an /etc/passwd file the way the container runtime's
// user lookup reads it: one entry per line, fields separated by ':',
// surrounding blanks trimmed, empty lines and '#' comments skipped. Lines
// without a name or whose UID or GID is not a number are ignored, because
// no lookup can match them. It never fails: a malformed file yields the
// entries that could be read.
func parsePasswd(b []byte) []passwdEntry {
	var out []passwdEntry
	for _, f := range splitLines(b) {
		if len(f) < 4 || f[0] == "" {
			continue
		}
		uid, ok1 := parseID(f[2])
		gid, ok2 := parseID(f[3])
		if !ok1 || !ok2 {
			continue
		}
		e := passwdEntry{Name: f[0], UID: uid, GID: gid}
		if len(f) > 5 {
			e.Home = f[5]
		}
		if len(f) > 6 {
			e.Shell = f[6]
		}
		out = append(out, e)
	}
	return out
}

// parseGroup parses an /etc/group file with the same rules as parsePasswd.
func parseGroup(b []byte) []groupEntry {
	var out []groupEntry
	for _, f := range splitLines(b) {
		if len(f) < 3 || f[0] == "" {
			continue
		}
		gid, ok := parseID(f[2])
		if !ok {
			continue
		}
		e := groupEntry{Name: f[0], GID: gid}
		if len(f) > 3 {
			for m := range strings.SplitSeq(f[3], ",") {
				if m = strings.TrimSpace(m); m != "" {
					e.Members = append(e.Members, m)
				}
			}
		}
		out = append(out, e)
	}
	return out
}

// splitLines returns the ':'-separated fields of every non-empty,
// non-comment line.
func splitLines(b []byte) [][]string {
	var out [][]string
	for line := range bytes.SplitSeq(b, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		out = append(out, strings.Split(string(line), ":"))
	}
	return out
}

// lookupUser returns the first entry named name, as getpwnam does.
func lookupUser(entries []passwdEntry, name string) (passwdEntry, bool) {
	for _, e := range entries {
		if e.Name == name {
			return e, true
		}
	}
	return passwdEntry{}, false
}

// lookupUID returns the first entry with the given UID, as getpwuid does.
func lookupUID(entries []passwdEntry, uid int) (passwdEntry, bool) {
	for _, e := range entries {
		if e.UID == uid {
			return e, true
		}
	}
	return passwdEntry{}, false
}

// lookupGroup returns the first group named name.
func lookupGroup(entries []groupEntry, name string) (groupEntry, bool) {
	for _, e := range entries {
		if e.Name == name {
			return e, true
		}
	}
	return groupEntry{}, false
}

// parseID parses a numeric user or group ID in any spelling the runtime
// accepts as a number: decimal digits with an optional sign, leading zeros
// allowed ("1001", "000", "+0", "-0"). It reports false for anything else,
// including values too large for an int, which the runtime then treats as a
// name.
func parseID(s string) (int, bool) {
	digits := s
	if digits != "" && (digits[0] == '+' || digits[0] == '-') {
		digits = digits[1:]
	}
	if digits == "" {
		return 0, false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 0)
	if err != nil {
		return 0, false
	}
	return int(n), true
}
