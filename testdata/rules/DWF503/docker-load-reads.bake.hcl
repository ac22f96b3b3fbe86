# A docker load only reads the cache.
# want: none
target "app" {
  platforms = ["linux/amd64", "linux/arm64"]
  output = ["type=docker"]
  cache-from = ["type=gha"]
}
