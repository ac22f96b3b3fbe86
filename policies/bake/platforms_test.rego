package dwf.bake.platforms_test

import data.dwf.bake.fixtures_test as fx
import data.dwf.bake.platforms

both := fx.set(3, ["linux/amd64", "linux/arm64"])

test_both_platforms_pass if {
	count(platforms.deny) == 0 with input as fx.doc([fx.target("app", 1, {"platforms": both})])
}

test_missing_platforms_fire_at_block if {
	some f in platforms.deny with input as fx.doc([fx.target("app", 1, {})])
	f.location.line == 1
	contains(f.msg, "sets no `platforms`")
}

test_missing_arm64_fires_at_attribute if {
	some f in platforms.deny with input as fx.doc([fx.target("app", 1, {"platforms": fx.set(4, ["linux/amd64"])})])
	f.location.line == 4
	contains(f.msg, "but not linux/arm64")
}

test_local_output_not_judged if {
	t := fx.target("bin", 1, {"outputs": fx.entries(2, [fx.entry(2, "local", {"dest": "out"})])})
	count(platforms.deny) == 0 with input as fx.doc([t])
}

test_base_target_not_judged if {
	t := object.union(fx.target("_common", 1, {}), {"built": false})
	count(platforms.deny) == 0 with input as fx.doc([t])
}

test_configured_platforms if {
	t := fx.target("app", 1, {"platforms": both})
	count(platforms.deny) == 1 with input as fx.doc([t])
		with data.dwf.config.bake_platforms as ["linux/amd64", "linux/arm64", "linux/riscv64"]
}
