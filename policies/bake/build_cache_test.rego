package dwf.bake.build_cache_test

import data.dwf.bake.build_cache
import data.dwf.bake.fixtures_test as fx

from := fx.entries(3, [fx.entry(3, "registry", {"ref": "r:cache"})])

to_max := fx.entries(4, [fx.entry(4, "registry", {"ref": "r:cache", "mode": "max"})])

test_both_pass if {
	count(build_cache.deny) == 0 with input as fx.doc([fx.target("app", 1, {"cache_from": from, "cache_to": to_max})])
}

test_no_cache_fires_twice if {
	count(build_cache.deny) == 2 with input as fx.doc([fx.target("app", 1, {})])
}

test_local_export_needs_only_cache_from if {
	out := fx.entries(2, [fx.entry(2, "oci", {"dest": "x.tar"})])
	count(build_cache.deny) == 0 with input as fx.doc([fx.target("app", 1, {"outputs": out, "cache_from": from})])
}

test_min_mode_fires if {
	to := fx.entries(4, [fx.entry(4, "gha", {})])
	some f in build_cache.deny with input as fx.doc([fx.target("app", 1, {"cache_from": from, "cache_to": to})])
	f.location.line == 4
	contains(f.msg, "mode=min")
}

test_inline_only_is_a_note if {
	to := fx.entries(4, [fx.entry(4, "inline", {})])
	some f in build_cache.deny with input as fx.doc([fx.target("app", 1, {"cache_from": from, "cache_to": to})])
	f.severity == "note"
}
