# Neither cache-from nor cache-to.
# want: DWF503 4:1
# want: DWF503 4:1
target "app" {
  platforms = ["linux/amd64", "linux/arm64"]
  output = ["type=image,push=true,compression=zstd,force-compression=true,oci-mediatypes=true"]
}
