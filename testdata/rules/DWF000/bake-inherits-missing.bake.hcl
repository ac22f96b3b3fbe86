# Inheriting a target that does not exist.
# want: DWF000 4:3
target "app" {
  inherits = ["nope"]
}
