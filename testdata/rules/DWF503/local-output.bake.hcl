# Local files: no image, no cache required.
# want: none
target "bin" {
  output = ["type=local,dest=bin"]
}
