# zstd with Docker media types.
# want: DWF502 5:3
target "app" {
  platforms = ["linux/amd64", "linux/arm64"]
  output = ["type=registry,compression=zstd,force-compression=true"]
  cache-from = ["type=registry,ref=r.example/app:cache"]
  cache-to   = ["type=registry,ref=r.example/app:cache,mode=max"]
}
