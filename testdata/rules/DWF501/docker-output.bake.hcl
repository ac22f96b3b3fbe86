# A docker load is an image too.
# want: DWF501 3:1
target "app" {
  output = ["type=docker"]
  cache-from = ["type=registry,ref=r.example/app:cache"]
  cache-to   = ["type=registry,ref=r.example/app:cache,mode=max"]
}
