# want: DWF105 3:1
ARG IMG=golang:latest
FROM --platform=$BUILDPLATFORM ${IMG} AS build
