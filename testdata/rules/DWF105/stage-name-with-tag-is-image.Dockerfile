# "build:latest" is an image reference, not the stage "build".
# want: DWF105 4:1
FROM golang:1.22 AS build
FROM build:latest
