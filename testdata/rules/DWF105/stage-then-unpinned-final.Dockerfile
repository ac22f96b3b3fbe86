# want: DWF105 4:1
FROM alpine:3.19 AS build
FROM build AS test
FROM ubuntu
