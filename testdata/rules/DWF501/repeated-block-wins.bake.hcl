# A second block of the same target replaces the platforms, as buildx merges them.
# want: DWF501 11:3
target "app" {
  platforms = ["linux/amd64", "linux/arm64"]
  output = ["type=image,push=true,compression=zstd,force-compression=true,oci-mediatypes=true"]
  cache-from = ["type=registry,ref=r.example/app:cache"]
  cache-to   = ["type=registry,ref=r.example/app:cache,mode=max"]
}

target "app" {
  platforms = ["linux/amd64"]
}
