# An s3 cache.
# want: none
target "app" {
  platforms = ["linux/amd64", "linux/arm64"]
  output = ["type=image,push=true,compression=zstd,force-compression=true,oci-mediatypes=true"]
  cache-from = ["type=s3,bucket=b,region=r"]
  cache-to = ["type=s3,bucket=b,region=r,mode=max"]
}
