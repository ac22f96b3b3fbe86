package dockerfile

import (
	"strings"

	"github.com/devflow/dwf-policy/engine/document"
)

// accountTool describes how a user/group creation command spells its
// arguments: which options take a value, which option gives the ID, and
// whether the account name is the first or the last operand.
type accountTool struct {
	group      bool
	valueOpts  map[string]bool
	idOpts     map[string]bool
	nameIsLast bool
}

var accountTools = map[string]accountTool{
	// shadow-utils useradd: useradd [options] LOGIN
	"useradd": {
		valueOpts:  set("-b", "--base-dir", "-c", "--comment", "-d", "--home-dir", "--home", "-e", "--expiredate", "-f", "--inactive", "-g", "--gid", "-G", "--groups", "-k", "--skel", "-K", "--key", "-p", "--password", "-R", "--root", "-P", "--prefix", "-s", "--shell", "-u", "--uid", "-Z", "--selinux-user"),
		idOpts:     set("-u", "--uid"),
		nameIsLast: true,
	},
	// Debian adduser and BusyBox adduser: adduser [options] USER [GROUP]
	"adduser": {
		valueOpts: set("--home", "--shell", "--uid", "--gid", "--firstuid", "--lastuid", "--firstgid", "--lastgid", "--ingroup", "--gecos", "--comment", "--conf", "--add-extra-groups-to", "-h", "-g", "-s", "-G", "-u", "-k"),
		idOpts:    set("--uid", "-u"),
	},
	"groupadd": {
		group:      true,
		valueOpts:  set("-g", "--gid", "-K", "--key", "-p", "--password", "-R", "--root", "-P", "--prefix"),
		idOpts:     set("-g", "--gid"),
		nameIsLast: true,
	},
	"addgroup": {
		group:     true,
		valueOpts: set("--gid", "-g", "--conf", "--firstgid", "--lastgid"),
		idOpts:    set("--gid", "-g"),
	},
}

func set(items ...string) map[string]bool {
	m := make(map[string]bool, len(items))
	for _, i := range items {
		m[i] = true
	}
	return m
}

// recordAccounts records the user or group a command creates.
func (b *builder) recordAccounts(s *stage, c shellCommand, loc document.Location) {
	tool, ok := accountTools[c.name]
	if !ok {
		return
	}
	idRaw, operands := "", []string(nil)
	args := c.words[1:]
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			operands = append(operands, args[i+1:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			operands = append(operands, a)
			continue
		}
		opt, val, hasVal := strings.Cut(a, "=")
		if !hasVal && !strings.HasPrefix(a, "--") && len(a) > 2 && tool.valueOpts[a[:2]] {
			opt, val, hasVal = a[:2], a[2:], true // -u1001
		}
		if tool.valueOpts[opt] && !hasVal && i+1 < len(args) {
			i++
			val = args[i]
		}
		if tool.idOpts[opt] {
			idRaw = val
		}
	}
	if len(operands) == 0 {
		return
	}
	name := operands[0]
	if tool.nameIsLast {
		name = operands[len(operands)-1]
	}
	var id any
	if n, ok := numericID(idRaw); ok {
		id = n
	}
	if tool.group {
		s.groups = append(s.groups, map[string]any{"name": name, "gid": id, "tool": c.name, "stage": s.index, "location": b.locValue(loc)})
		return
	}
	s.users = append(s.users, map[string]any{"name": name, "uid": id, "uid_raw": idRaw, "tool": c.name, "stage": s.index, "location": b.locValue(loc)})
}
