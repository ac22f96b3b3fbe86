# A variable default with zstd.
# want: none
variable "COMPRESSION" {
  default = "zstd"
}

target "app" {
  platforms = ["linux/amd64", "linux/arm64"]
  output = ["type=registry,compression=${COMPRESSION},force-compression=true,oci-mediatypes=true"]
  cache-from = ["type=registry,ref=r.example/app:cache"]
  cache-to   = ["type=registry,ref=r.example/app:cache,mode=max"]
}
