# The parent sets a good output.
# want: none
target "_common" {
  output = ["type=image,push=true,compression=zstd,force-compression=true,oci-mediatypes=true"]
}

target "app" {
  inherits = ["_common"]
  platforms = ["linux/amd64", "linux/arm64"]
  cache-from = ["type=registry,ref=r.example/app:cache"]
  cache-to   = ["type=registry,ref=r.example/app:cache,mode=max"]
}
