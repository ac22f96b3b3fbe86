# A cycle in inherits.
# want: DWF000 8:3
target "a" {
  inherits = ["b"]
}

target "b" {
  inherits = ["a"]
}
