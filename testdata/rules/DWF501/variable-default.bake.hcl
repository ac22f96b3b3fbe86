# A variable default with one platform.
# want: DWF501 8:3
variable "PLATFORMS" {
  default = ["linux/amd64"]
}

target "app" {
  platforms = PLATFORMS
  output = ["type=image,push=true,compression=zstd,force-compression=true,oci-mediatypes=true"]
  cache-from = ["type=registry,ref=r.example/app:cache"]
  cache-to   = ["type=registry,ref=r.example/app:cache,mode=max"]
}
