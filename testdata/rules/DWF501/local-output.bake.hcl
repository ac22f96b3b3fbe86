# Local files are not an image.
# want: none
target "bin" {
  output = ["type=local,dest=bin"]
}
