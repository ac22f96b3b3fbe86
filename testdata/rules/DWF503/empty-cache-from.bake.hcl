# An empty cache-from.
# want: DWF503 6:3
target "app" {
  platforms = ["linux/amd64", "linux/arm64"]
  output = ["type=image,push=true,compression=zstd,force-compression=true,oci-mediatypes=true"]
  cache-from = []
  cache-to = ["type=gha,mode=max"]
}
