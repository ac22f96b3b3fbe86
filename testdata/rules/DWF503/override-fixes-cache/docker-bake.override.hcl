target "app" {
  cache-from = ["type=gha"]
  cache-to = ["type=gha,mode=max"]
}
