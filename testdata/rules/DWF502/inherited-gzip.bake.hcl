# The parent set the output.
# want: DWF502 4:3
target "_common" {
  output = ["type=registry,compression=gzip"]
}

target "app" {
  inherits = ["_common"]
  platforms = ["linux/amd64", "linux/arm64"]
  cache-from = ["type=registry,ref=r.example/app:cache"]
  cache-to   = ["type=registry,ref=r.example/app:cache,mode=max"]
}
