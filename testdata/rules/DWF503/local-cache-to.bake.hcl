# A local cache has no mode requirement here.
# want: none
target "app" {
  platforms = ["linux/amd64", "linux/arm64"]
  output = ["type=image,push=true,compression=zstd,force-compression=true,oci-mediatypes=true"]
  cache-from = ["type=local,src=/tmp/c"]
  cache-to = ["type=local,dest=/tmp/c"]
}
