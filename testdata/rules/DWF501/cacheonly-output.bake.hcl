# A cache-only build produces no image.
# want: none
target "check" {
  output = ["type=cacheonly"]
}
