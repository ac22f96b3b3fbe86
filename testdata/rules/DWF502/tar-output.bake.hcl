# A tarball of files has no layers.
# want: none
target "bin" {
  output = ["type=tar,dest=out.tar"]
}
