# One finding per FROM.
# want: DWF105 4:1
# want: DWF105 6:1
FROM golang AS build
FROM alpine:3.19 AS ok
FROM debian:latest
