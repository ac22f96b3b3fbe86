# mode=min.
# want: DWF503 7:3
target "app" {
  platforms = ["linux/amd64", "linux/arm64"]
  output = ["type=image,push=true,compression=zstd,force-compression=true,oci-mediatypes=true"]
  cache-from = ["type=registry,ref=r.example/c"]
  cache-to = ["type=registry,ref=r.example/c,mode=min"]
}
