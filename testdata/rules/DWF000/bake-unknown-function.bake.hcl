# An unknown function.
# want: DWF000 4:15
target "app" {
  platforms = nosuchfn("linux/amd64")
}
