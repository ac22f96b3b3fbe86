# This repository's own docker-bake.hcl.
# want: none
// Build the dwf-policy image for amd64 and arm64 with zstd layers and a
// registry build cache:  VERSION=v1.2.3 docker buildx bake --push
variable "VERSION" {
  default = "dev"
}

variable "REGISTRY" {
  default = "ghcr.io/devflow"
}

group "default" {
  targets = ["dwf-policy"]
}

target "dwf-policy" {
  context    = "."
  dockerfile = "Dockerfile.devflow"
  platforms  = ["linux/amd64", "linux/arm64"]
  args = {
    VERSION = VERSION
  }
  tags = [
    "${REGISTRY}/dwf-policy:${VERSION}",
  ]
  labels = {
    "org.opencontainers.image.source"  = "https://github.com/devflow/dwf-policy"
    "org.opencontainers.image.version" = VERSION
  }
  cache-from = ["type=registry,ref=${REGISTRY}/dwf-policy:buildcache"]
  cache-to   = ["type=registry,ref=${REGISTRY}/dwf-policy:buildcache,mode=max"]
  output     = ["type=image,push=true,compression=zstd,compression-level=3,force-compression=true,oci-mediatypes=true"]
}

// Local check before push: an OCI layout that `dwf-policy image oci-layout:DIR` reads.
target "dwf-policy-oci" {
  inherits = ["dwf-policy"]
  tags     = []
  cache-to = []
  output   = ["type=oci,dest=dist/dwf-policy-oci.tar,compression=zstd,force-compression=true"]
}
