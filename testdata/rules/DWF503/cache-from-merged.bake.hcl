# cache-from entries of parent and child are merged.
# want: none
target "_common" {
  cache-from = ["type=gha"]
}

target "app" {
  inherits = ["_common"]
  platforms = ["linux/amd64", "linux/arm64"]
  output = ["type=image,push=true,compression=zstd,force-compression=true,oci-mediatypes=true"]
  cache-from = ["type=registry,ref=r.example/c"]
  cache-to = ["type=registry,ref=r.example/c,mode=max"]
}
