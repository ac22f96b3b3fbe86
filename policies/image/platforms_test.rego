package dwf.image.platforms_test

import data.dwf.image.fixtures_test as fx
import data.dwf.image.platforms

fires(doc) := {f.msg | some f in platforms.deny with input as doc}

# --- firing -----------------------------------------------------------------

test_index_without_arm64_fires if {
	platforms.deny == {{
		"msg": "The index lacks linux/arm64 (it has linux/amd64); build and push every platform with `docker buildx build --platform linux/amd64,linux/arm64`.",
		"subject": fx.subject,
	}} with input as fx.index([fx.platform("linux/amd64", {})])
}

test_index_without_amd64_fires if {
	fires(fx.index([fx.platform("linux/arm64", {}), fx.platform("linux/arm/v7", {})])) == {"The index lacks linux/amd64 (it has linux/arm/v7, linux/arm64); build and push every platform with `docker buildx build --platform linux/amd64,linux/arm64`."}
}

test_index_with_neither_fires if {
	fires(fx.index([fx.platform("linux/s390x", {})])) == {"The index lacks linux/amd64 and linux/arm64 (it has linux/s390x); build and push every platform with `docker buildx build --platform linux/amd64,linux/arm64`."}
}

test_windows_amd64_does_not_count if {
	count(fires(fx.index([fx.platform("windows/amd64", {}), fx.platform("linux/arm64", {})]))) == 1
}

test_single_image_fires if {
	fires(fx.single(fx.platform("linux/amd64", {}))) == {"The image is a single linux/amd64 image, not an index with linux/amd64 and linux/arm64; build and push every platform with `docker buildx build --platform linux/amd64,linux/arm64`."}
}

test_configured_platforms_are_read if {
	count(fires(fx.index([fx.platform("linux/amd64", {}), fx.platform("linux/arm64", {})]))) == 1 with data.dwf.config.platforms as ["linux/amd64", "linux/arm64", "linux/arm/v7"]
}

# --- not firing -------------------------------------------------------------

test_amd64_and_arm64_pass if {
	count(platforms.deny) == 0 with input as fx.index([fx.platform("linux/amd64", {}), fx.platform("linux/arm64", {})])
}

test_arm64_variant_counts if {
	count(platforms.deny) == 0 with input as fx.index([fx.platform("linux/amd64", {}), fx.platform("linux/arm64/v8", {})])
}

test_extra_platforms_pass if {
	count(platforms.deny) == 0 with input as fx.index([
		fx.platform("linux/arm/v7", {}),
		fx.platform("linux/amd64", {}),
		fx.platform("linux/arm64", {}),
		fx.platform("linux/ppc64le", {}),
	])
}

test_platforms_selected_by_flag_do_not_matter if {
	doc := object.union(
		fx.index([fx.platform("linux/amd64", {}), fx.platform("linux/arm64", {})]),
		{"platforms": [fx.platform("linux/amd64", {})]},
	)
	count(platforms.deny) == 0 with input as doc
}

test_single_image_passes_when_configured if {
	count(platforms.deny) == 0 with input as fx.single(fx.platform("linux/amd64", {}))
		with data.dwf.config.platforms as ["linux/amd64"]
}
