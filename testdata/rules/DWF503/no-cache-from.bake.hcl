# Only cache-to.
# want: DWF503 3:1
target "app" {
  platforms = ["linux/amd64", "linux/arm64"]
  output = ["type=image,push=true,compression=zstd,force-compression=true,oci-mediatypes=true"]
  cache-to = ["type=gha,mode=max"]
}
