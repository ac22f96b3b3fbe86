# No output: pushed or loaded with gzip.
# want: DWF502 3:1
target "app" {
  platforms = ["linux/amd64", "linux/arm64"]
  cache-from = ["type=registry,ref=r.example/app:cache"]
  cache-to   = ["type=registry,ref=r.example/app:cache,mode=max"]
}
