# want: DWF101 4:1
FROM --platform=$BUILDPLATFORM golang:1.22 AS build
FROM --platform=linux/amd64 alpine:3.19
USER root
