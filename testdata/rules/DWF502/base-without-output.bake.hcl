# A base target only inherited sets no output of its own.
# want: none
target "_common" {
  platforms = ["linux/amd64", "linux/arm64"]
}

target "app" {
  inherits = ["_common"]
  output = ["type=image,push=true,compression=zstd,force-compression=true,oci-mediatypes=true"]
  cache-from = ["type=registry,ref=r.example/app:cache"]
  cache-to   = ["type=registry,ref=r.example/app:cache,mode=max"]
}
