# The child replaces cache-to with none.
# want: DWF503 12:3
target "_common" {
  cache-from = ["type=registry,ref=r.example/app:cache"]
  cache-to   = ["type=registry,ref=r.example/app:cache,mode=max"]
}

target "app" {
  inherits = ["_common"]
  platforms = ["linux/amd64", "linux/arm64"]
  output = ["type=image,push=true,compression=zstd,force-compression=true,oci-mediatypes=true"]
  cache-to = []
}
