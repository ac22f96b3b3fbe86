# OCI archives always use OCI media types.
# want: none
target "app" {
  platforms = ["linux/amd64", "linux/arm64"]
  output = ["type=oci,dest=app.tar,compression=zstd,force-compression=true"]
  cache-from = ["type=registry,ref=r.example/app:cache"]
  cache-to   = ["type=registry,ref=r.example/app:cache,mode=max"]
}
