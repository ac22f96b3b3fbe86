# An HCL syntax error is reported at its line.
# want: DWF000 5:1
target "app" {
  platforms = ["linux/amd64"
}
