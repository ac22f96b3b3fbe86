package dwf.image.zstd_layers_test

import data.dwf.image.fixtures_test as fx
import data.dwf.image.zstd_layers

fires(doc) := {f.msg | some f in zstd_layers.deny with input as doc}

# --- firing -----------------------------------------------------------------

test_gzip_layers_fire if {
	zstd_layers.deny == {{
		"msg": "1 of 2 layers of the linux/amd64 image are not zstd-compressed (gzip); push with `--output type=image,compression=zstd,force-compression=true`.",
		"subject": sprintf("%s (linux/amd64)", [fx.subject]),
	}} with input as fx.index([fx.platform("linux/amd64", {"layers": [fx.gzip_layer, fx.zstd_layer]}), fx.platform("linux/arm64", {})])
}

test_mixed_compressions_listed if {
	doc := fx.single(fx.platform("linux/amd64", {"layers": [
		fx.gzip_layer,
		fx.layer("application/vnd.docker.image.rootfs.diff.tar", "none"),
		fx.layer("application/vnd.docker.image.rootfs.diff.tar.gzip", "gzip"),
	]}))
	fires(doc) == {"3 of 3 layers of the linux/amd64 image are not zstd-compressed (gzip, none); push with `--output type=image,compression=zstd,force-compression=true`."}
}

test_each_platform_named if {
	doc := fx.index([
		fx.platform("linux/amd64", {"layers": [fx.gzip_layer]}),
		fx.platform("linux/arm64", {"layers": [fx.gzip_layer]}),
	])
	count(zstd_layers.deny) == 2 with input as doc
}

# --- not firing -------------------------------------------------------------

test_zstd_layers_pass if {
	count(zstd_layers.deny) == 0 with input as fx.index([fx.platform("linux/amd64", {}), fx.platform("linux/arm64", {})])
}

test_no_layers_pass if {
	count(zstd_layers.deny) == 0 with input as fx.single(fx.platform("linux/amd64", {"layers": []}))
}
