package dwf.bake.zstd_test

import data.dwf.bake.fixtures_test as fx
import data.dwf.bake.zstd

good := {"compression": "zstd", "force-compression": "true", "oci-mediatypes": "true", "push": "true"}

test_good_output_passes if {
	t := fx.target("app", 1, {"outputs": fx.entries(2, [fx.entry(2, "image", good)])})
	count(zstd.deny) == 0 with input as fx.doc([t])
}

test_oci_needs_no_mediatypes if {
	t := fx.target("app", 1, {"outputs": fx.entries(2, [fx.entry(2, "oci", {"compression": "zstd", "force-compression": "true"})])})
	count(zstd.deny) == 0 with input as fx.doc([t])
}

test_no_output_fires_at_block if {
	some f in zstd.deny with input as fx.doc([fx.target("app", 1, {})])
	f.location.line == 1
}

test_gzip_fires if {
	t := fx.target("app", 1, {"outputs": fx.entries(2, [fx.entry(2, "registry", {"compression": "gzip"})])})
	some f in zstd.deny with input as fx.doc([t])
	contains(f.msg, "uses `compression=gzip`")
}

test_missing_force_and_mediatypes_fire if {
	t := fx.target("app", 1, {"outputs": fx.entries(2, [fx.entry(2, "image", {"compression": "zstd"})])})
	count(zstd.deny) == 2 with input as fx.doc([t])
}

test_local_output_passes if {
	t := fx.target("app", 1, {"outputs": fx.entries(2, [fx.entry(2, "tar", {"dest": "x.tar"})])})
	count(zstd.deny) == 0 with input as fx.doc([t])
}
