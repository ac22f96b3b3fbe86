# The finding points at the parent that set the platforms.
# want: DWF501 4:3
target "_common" {
  platforms = ["linux/amd64"]
}

target "app" {
  inherits = ["_common"]
  output = ["type=image,push=true,compression=zstd,force-compression=true,oci-mediatypes=true"]
  cache-from = ["type=registry,ref=r.example/app:cache"]
  cache-to   = ["type=registry,ref=r.example/app:cache,mode=max"]
}
