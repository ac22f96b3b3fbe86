# want: DWF105 3:1
ARG TAG=latest
FROM alpine:${TAG}
