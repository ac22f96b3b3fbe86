# The docker exporter writes Docker media types unless asked.
# want: DWF502 5:3
target "app" {
  platforms = ["linux/amd64", "linux/arm64"]
  output = ["type=docker,compression=zstd,force-compression=true"]
  cache-from = ["type=registry,ref=r.example/app:cache"]
  cache-to   = ["type=registry,ref=r.example/app:cache,mode=max"]
}
