package image

import (
	"fmt"
	"strings"
	"testing"
	"unicode"

	"github.com/google/go-cmp/cmp"
)

func TestParsePasswd(t *testing.T) {
	in := strings.Join([]string{
		"# a comment",
		"root:x:0:0:root:/root:/bin/bash",
		"",
		"  dwfuser:x:1001:1001:DWF user:/home/dwfuser:/bin/sh  ",
		"dwfuser:x:2000:2000::/:/bin/false", // a later duplicate never wins
		"crlf:x:7:7::/crlf:/bin/sh\r",
		"short:x:5",                 // no GID field
		"baduid:x:abc:1::/:/bin/sh", // not a number
		":x:9:9::/:/bin/sh",         // no name
		"plus:x:+0:-0",
		"huge:x:99999999999999999999999:1::/:/bin/sh",
	}, "\n")
	want := []passwdEntry{
		{Name: "root", UID: 0, GID: 0, Home: "/root", Shell: "/bin/bash"},
		{Name: "dwfuser", UID: 1001, GID: 1001, Home: "/home/dwfuser", Shell: "/bin/sh"},
		{Name: "dwfuser", UID: 2000, GID: 2000, Home: "/", Shell: "/bin/false"},
		{Name: "crlf", UID: 7, GID: 7, Home: "/crlf", Shell: "/bin/sh"},
		{Name: "plus", UID: 0, GID: 0},
	}
	got := parsePasswd([]byte(in))
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("parsePasswd (-want +got):\n%s", diff)
	}
	if e, ok := lookupUser(got, "dwfuser"); !ok || e.UID != 1001 {
		t.Errorf("lookupUser(dwfuser) = %v, %v; want the first entry", e, ok)
	}
	if e, ok := lookupUID(got, 0); !ok || e.Name != "root" {
		t.Errorf("lookupUID(0) = %v, %v; want root", e, ok)
	}
	if _, ok := lookupUser(got, "nobody"); ok {
		t.Error("lookupUser(nobody) found an entry")
	}
}

func TestParseGroup(t *testing.T) {
	got := parseGroup([]byte("root:x:0:\nstaff:x:50:dwfuser, app ,\n#x:x:1:\nbad:x:y:\nwheel:x:10"))
	want := []groupEntry{
		{Name: "root", GID: 0},
		{Name: "staff", GID: 50, Members: []string{"dwfuser", "app"}},
		{Name: "wheel", GID: 10},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("parseGroup (-want +got):\n%s", diff)
	}
	if g, ok := lookupGroup(got, "staff"); !ok || g.GID != 50 {
		t.Errorf("lookupGroup(staff) = %v, %v", g, ok)
	}
}

func TestParseID(t *testing.T) {
	for s, want := range map[string]any{
		"0": 0, "000": 0, "+0": 0, "-0": 0, "1001": 1001, "0001001": 1001, "+1001": 1001, "-1": -1,
		"": nil, "+": nil, "-": nil, "1001a": nil, "dwfuser": nil, " 1001": nil, "1_001": nil, "0x10": nil,
		"99999999999999999999": nil, "١٠٠١": nil,
	} {
		n, ok := parseID(s)
		var got any
		if ok {
			got = n
		}
		if got != want {
			t.Errorf("parseID(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestParseUser(t *testing.T) {
	for raw, want := range map[string]string{
		"":              "name= group= uid=<nil> gid=<nil> lookup=false group-lookup=false",
		"dwfuser":       "name=dwfuser group= uid=<nil> gid=<nil> lookup=true group-lookup=false",
		"1001:1001":     "name=1001 group=1001 uid=1001 gid=1001 lookup=true group-lookup=false",
		"dwfuser:staff": "name=dwfuser group=staff uid=<nil> gid=<nil> lookup=true group-lookup=true",
		"root":          "name=root group= uid=<nil> gid=<nil> lookup=false group-lookup=false",
		"+0:dwfuser":    "name=+0 group=dwfuser uid=0 gid=<nil> lookup=false group-lookup=true",
		":1001":         "name= group=1001 uid=<nil> gid=1001 lookup=false group-lookup=false",
		"a:b:c":         "name=a group=b:c uid=<nil> gid=<nil> lookup=true group-lookup=true",
	} {
		s := parseUser(raw)
		str := func(p *int) string {
			if p == nil {
				return "<nil>"
			}
			return fmt.Sprint(*p)
		}
		got := fmt.Sprintf("name=%s group=%s uid=%s gid=%s lookup=%v group-lookup=%v", s.name, s.group, str(s.uid), str(s.gid), s.needsLookup(), s.needsGroup())
		if got != want {
			t.Errorf("parseUser(%q):\n got %s\nwant %s", raw, got, want)
		}
	}
}

// FuzzParsePasswd feeds arbitrary bytes to the /etc/passwd and /etc/group
// parsers: they must not panic, every entry must be matchable, and writing
// the entries back must parse to the same entries.
func FuzzParsePasswd(f *testing.F) {
	f.Add([]byte("root:x:0:0:root:/root:/bin/bash\ndwfuser:x:1001:1001::/home/dwfuser:/bin/sh\n"))
	f.Add([]byte("staff:x:50:dwfuser,app\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		entries := parsePasswd(b)
		var lines []string
		for _, e := range entries {
			if e.Name == "" || strings.ContainsAny(e.Name, ":\n") || strings.HasPrefix(e.Name, "#") {
				t.Fatalf("entry with an impossible name %q", e.Name)
			}
			if got, ok := lookupUser(entries, e.Name); !ok || got.Name != e.Name {
				t.Fatalf("lookupUser(%q) failed", e.Name)
			}
			if _, ok := lookupUID(entries, e.UID); !ok {
				t.Fatalf("lookupUID(%d) failed", e.UID)
			}
			lines = append(lines, fmt.Sprintf("%s:x:%d:%d::%s:%s", e.Name, e.UID, e.GID, e.Home, e.Shell))
		}
		// Lines are trimmed as a whole (as runc's user lookup does), so blanks
		// at the end of the last field do not survive a round trip.
		for i := range entries {
			entries[i].Shell = strings.TrimRightFunc(entries[i].Shell, unicode.IsSpace)
		}
		if again := parsePasswd([]byte(strings.Join(lines, "\n"))); !cmp.Equal(entries, again) {
			t.Fatalf("round trip changed the entries:\n%v\n%v", entries, again)
		}

		groups := parseGroup(b)
		lines = lines[:0]
		for _, g := range groups {
			if g.Name == "" || strings.ContainsAny(g.Name, ":\n") {
				t.Fatalf("group with an impossible name %q", g.Name)
			}
			for _, m := range g.Members {
				if m == "" || strings.ContainsAny(m, ",:\n") {
					t.Fatalf("impossible member %q", m)
				}
			}
			lines = append(lines, fmt.Sprintf("%s:x:%d:%s", g.Name, g.GID, strings.Join(g.Members, ",")))
		}
		if again := parseGroup([]byte(strings.Join(lines, "\n"))); !cmp.Equal(groups, again) {
			t.Fatalf("group round trip changed the entries:\n%v\n%v", groups, again)
		}
	})
}
