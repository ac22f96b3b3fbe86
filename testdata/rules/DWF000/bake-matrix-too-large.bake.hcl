# A matrix of 10,000 targets is refused before it is expanded.
# want: DWF000 5:3
target "app" {
  name = "app-${a}-${b}-${c}-${d}"
  matrix = {
    a = range(10)
    b = range(10)
    c = range(10)
    d = range(10)
  }
}
