# A variable default decides the compression.
# want: DWF502 9:3
variable "COMPRESSION" {
  default = "gzip"
}

target "app" {
  platforms = ["linux/amd64", "linux/arm64"]
  output = ["type=registry,compression=${COMPRESSION},force-compression=true"]
  cache-from = ["type=registry,ref=r.example/app:cache"]
  cache-to   = ["type=registry,ref=r.example/app:cache,mode=max"]
}
