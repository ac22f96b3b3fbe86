target "app" {
  platforms = ["linux/amd64", "linux/arm64"]
  output = ["type=registry,compression=zstd,force-compression=true,oci-mediatypes=true"]
  cache-from = ["type=gha"]
  cache-to = ["type=gha,mode=max"]
}
