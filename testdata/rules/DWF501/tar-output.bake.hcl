# A tarball of files is not an image.
# want: none
target "bin" {
  output = ["type=tar,dest=out.tar"]
}
