# One of two outputs is gzip.
# want: DWF502 5:3
target "app" {
  platforms = ["linux/amd64", "linux/arm64"]
  output = ["type=oci,dest=a.tar,compression=zstd,force-compression=true", "type=registry"]
  cache-from = ["type=registry,ref=r.example/app:cache"]
  cache-to   = ["type=registry,ref=r.example/app:cache,mode=max"]
}
