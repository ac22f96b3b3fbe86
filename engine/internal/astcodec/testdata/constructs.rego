# Every construct the parser produces, for the round-trip test.
package dwf.test.constructs

import data.dwf.lib.other as o
import input.spec

default allow := false

allow if {
	input.user == "admin"
	not input.blocked
}

allow if count(input.groups) > 2

deny contains msg if {
	some i, c in input.containers
	c.image != ""
	msg := sprintf("container %d: %s", [i, c.image])
}

deny contains {"id": "X1", "at": [1, 2.5, -3, 1e3], "set": {1, "a"}, "null": null, "t": true} if input.x

a.b[c] contains d if {
	some c in ["x", "y"]
	d := {k: v | some k, v in input.m}
}

f(x) := y if {
	y := x * 2
} else := z if {
	z := x + 1
} else := 0

g(x, _) := [y | some y in x; y > 1]

h := {y | some y in input.list}

every_test if {
	every k, v in input.m {
		k != v
	}
	every v in input.l {
		v > 0
	}
}

with_test if {
	allow with input as {"user": "admin"} with data.x as 1
}

templ := $"hello {input.name} and {count(input.l)}"

raw := `raw\string`

multi := $`line {input.a}
next`

nested if {
	x := [[1, 2], {"a": {"b": [3]}}]
	x[1].a.b[0] == 3
	input.y in {1, 2, 3}
	1 in input.z
	[a, b] := [1, 2]
	a < b
}

contains_test contains x if {
	some x in input.s
}

ref_head.deep.path := 1

default f2(_) := "d"

f2(x) := x if x
