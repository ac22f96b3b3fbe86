# A user function returns one platform.
# want: DWF501 9:3
function "plats" {
  params = []
  result = ["linux/arm64"]
}

target "app" {
  platforms = plats()
  output = ["type=image,push=true,compression=zstd,force-compression=true,oci-mediatypes=true"]
  cache-from = ["type=registry,ref=r.example/app:cache"]
  cache-to   = ["type=registry,ref=r.example/app:cache,mode=max"]
}
