# A three-level chain: the grandparent set the platforms.
# want: DWF501 4:3
target "base" {
  platforms = ["linux/arm64"]
}

target "mid" {
  inherits = ["base"]
  output = ["type=image,push=true,compression=zstd,force-compression=true,oci-mediatypes=true"]
}

target "app" {
  inherits = ["mid"]
  cache-from = ["type=registry,ref=r.example/app:cache"]
  cache-to   = ["type=registry,ref=r.example/app:cache,mode=max"]
}
