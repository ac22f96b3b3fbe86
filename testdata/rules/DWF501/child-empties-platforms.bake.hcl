# The child replaces the parent's platforms with none.
# want: DWF501 9:3
target "_common" {
  platforms = ["linux/amd64", "linux/arm64"]
}

target "app" {
  inherits = ["_common"]
  platforms = []
  output = ["type=image,push=true,compression=zstd,force-compression=true,oci-mediatypes=true"]
  cache-from = ["type=registry,ref=r.example/app:cache"]
  cache-to   = ["type=registry,ref=r.example/app:cache,mode=max"]
}
