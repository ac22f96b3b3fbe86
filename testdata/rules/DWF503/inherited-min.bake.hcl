# The parent set the cache-to.
# want: DWF503 5:3
target "_common" {
  cache-from = ["type=gha"]
  cache-to = ["type=gha,mode=min"]
}

target "app" {
  inherits = ["_common"]
  platforms = ["linux/amd64", "linux/arm64"]
  output = ["type=image,push=true,compression=zstd,force-compression=true,oci-mediatypes=true"]
}
