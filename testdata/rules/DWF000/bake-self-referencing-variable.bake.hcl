# A variable that references itself.
# want: DWF000 4:13
variable "TAG" {
  default = "${TAG}-dev"
}

target "app" {
  tags = [TAG]
}
