# amd64 only.
# want: DWF501 4:3
target "app" {
  platforms = ["linux/amd64"]
  output = ["type=image,push=true,compression=zstd,force-compression=true,oci-mediatypes=true"]
  cache-from = ["type=registry,ref=r.example/app:cache"]
  cache-to   = ["type=registry,ref=r.example/app:cache,mode=max"]
}
