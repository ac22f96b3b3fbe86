# Local files have no layers.
# want: none
target "bin" {
  output = ["type=local,dest=bin"]
}
