# A local OCI export only reads the cache.
# want: none
target "app" {
  platforms = ["linux/amd64", "linux/arm64"]
  output = ["type=oci,dest=app.tar,compression=zstd,force-compression=true"]
  cache-from = ["type=gha"]
}
