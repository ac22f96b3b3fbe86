# want: none
FROM --platform=$BUILDPLATFORM golang:1.22 AS build
FROM --platform=linux/arm64 alpine:3.19
