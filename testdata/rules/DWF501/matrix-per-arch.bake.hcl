# Each matrix expansion builds one platform: two findings.
# want: DWF501 7:3
# want: DWF501 7:3
target "app" {
  name = "app-${arch}"
  matrix = { arch = ["amd64", "arm64"] }
  platforms = ["linux/${arch}"]
  output = ["type=image,push=true,compression=zstd,force-compression=true,oci-mediatypes=true"]
  cache-from = ["type=registry,ref=r.example/app:cache"]
  cache-to   = ["type=registry,ref=r.example/app:cache,mode=max"]
}
